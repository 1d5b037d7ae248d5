#pragma once
// Block pools for the engine's small fixed-size objects. Internal to autograd.
//
// Note [Block pools]
// Every recorded op allocates a Node, and every tensor a TensorImpl and a Storage (each with
// its shared_ptr control block). Through malloc that was a third of the instructions spent per
// node on a chain of scalar operations: a graph is allocated in the forward pass and freed all
// at once after backward, a pattern that glibc's small per-thread cache (7 blocks per size)
// does not serve. So these objects come from allocate_shared with PoolAllocator, which keeps
// freed blocks of each size on a per-thread free list and hands them out again.
// - A block freed on another thread joins that thread's list: any thread may free any block,
//   since every block is plain ::operator new memory.
// - A list keeps at most `pool_bytes_per_size` bytes (a 300,000-node graph of scalars fits;
//   at 64 MiB the W4 benchmark's chain spent a quarter more per node); blocks beyond that go
//   back to ::operator delete. A list never holds more than was once in use at the same time,
//   as memory freed to malloc stays in the process too; release_cached_memory() returns it.
// - At thread exit the list is emptied, and later frees on that thread go straight to
//   ::operator delete.
// - Under AddressSanitizer the allocator bypasses the pools, so a use after free of a node or
//   a tensor is still reported (a pooled block would be silently reused).

#include <cstddef>
#include <memory>
#include <new>

namespace xgrad::detail {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool pools_enabled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool pools_enabled = false;
#else
inline constexpr bool pools_enabled = true;
#endif
#else
inline constexpr bool pools_enabled = true;
#endif

inline constexpr std::size_t pool_bytes_per_size = std::size_t(256) << 20;

/// How cached_bytes() and release_cached_memory() reach one cache (this thread's part of it).
struct CacheHooks {
    std::size_t (*bytes)();
    void (*release)();
};
/// Registers a cache once per process (memory.cpp).
bool register_cache(CacheHooks hooks);

/// A per-thread free list of blocks of `Size` bytes (a multiple of 16).
template <std::size_t Size>
class BlockPool {
    static_assert(Size % 16 == 0 && Size >= 16);

public:
    static constexpr std::size_t max_blocks = pool_bytes_per_size / Size;

    static void* allocate() {
        FreeList& list = free_list;
        if (list.head != nullptr) {
            Block* block = list.head;
            list.head = block->next;
            --list.count;
            return block;
        }
        if (!list.draining) drain_at_exit();
        return ::operator new(Size);
    }

    /// Returns this thread's cached blocks to the heap.
    static void release() noexcept {
        FreeList& list = free_list;
        while (list.head != nullptr) {
            Block* next = list.head->next;
            ::operator delete(list.head);
            list.head = next;
        }
        list.count = 0;
    }

    static void deallocate(void* pointer) noexcept {
        FreeList& list = free_list;
        if (list.closed || list.count >= max_blocks) {
            ::operator delete(pointer);
            return;
        }
        if (!list.draining) drain_at_exit();  // a thread may free without allocating
        auto* block = static_cast<Block*>(pointer);
        block->next = list.head;
        list.head = block;
        ++list.count;
    }

    /// Blocks waiting on this thread's list (tests use it).
    static std::size_t cached() { return free_list.count; }
    static std::size_t cached_bytes() { return free_list.count * Size; }

private:
    struct Block {
        Block* next;
    };
    // Trivially destructible, so it stays usable while other thread_local objects (and
    // tensors they hold) are destroyed at thread exit.
    struct FreeList {
        Block* head;
        std::size_t count;
        bool draining;  ///< this thread's Drain exists (a plain flag: checked on every free)
        bool closed;
    };
    struct Drain {
        ~Drain() {
            free_list.closed = true;
            release();
        }
    };
    // Called once per thread, on its first allocation or free: constructing the thread's Drain
    // registers its destructor,
    // and the first call in the process registers the pool with release_cached_memory().
    static void drain_at_exit() {
        static const bool registered = register_cache({&cached_bytes, &release});
        static thread_local Drain drain;
        (void)registered;
        (void)drain;
        free_list.draining = true;
    }

    static thread_local FreeList free_list;
};

template <std::size_t Size>
thread_local typename BlockPool<Size>::FreeList BlockPool<Size>::free_list{nullptr, 0, false, false};

/// The pool size class for objects of `bytes`.
constexpr std::size_t pool_size_class(std::size_t bytes) { return (bytes + 15) / 16 * 16; }

/// An allocator for allocate_shared: single objects come from the BlockPool of their size.
template <class T>
struct PoolAllocator {
    using value_type = T;
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);

    PoolAllocator() = default;
    template <class U>
    PoolAllocator(const PoolAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if (pools_enabled && n == 1) {
            return static_cast<T*>(BlockPool<pool_size_class(sizeof(T))>::allocate());
        }
        return std::allocator<T>().allocate(n);
    }
    void deallocate(T* pointer, std::size_t n) noexcept {
        if (pools_enabled && n == 1) {
            BlockPool<pool_size_class(sizeof(T))>::deallocate(pointer);
            return;
        }
        std::allocator<T>().deallocate(pointer, n);
    }

    template <class U>
    bool operator==(const PoolAllocator<U>&) const noexcept { return true; }
    template <class U>
    bool operator!=(const PoolAllocator<U>&) const noexcept { return false; }
};

/// std::make_shared through the pools.
template <class T, class... Args>
std::shared_ptr<T> make_pooled(Args&&... args) {
    return std::allocate_shared<T>(PoolAllocator<T>(), std::forward<Args>(args)...);
}

}  // namespace xgrad::detail
