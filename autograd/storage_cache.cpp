#include "storage_cache.hpp"

#include <type_traits>
#include <variant>

#include "pool.hpp"

namespace xgrad::detail {

// Note [Storage cache]
// A kernel's result is a fresh Storage holding an xt::xarray: a shape, strides and backstrides
// computed, and the elements allocated; destroying it frees them again. On a graph of
// scalars that was a third of the cost of an op. A Storage of up to `cached_elements` elements
// is therefore not destroyed when its last owner lets go: it goes, array and all, on this
// thread's list for its dtype, rank and element count, and the next result of that size and
// rank takes it (given the new shape in place if it differs, which reuses the elements and
// the stride vectors: keyed by element count alone, a (2,) gradient took the storage of a
// (1, 2) activation and back, and recomputing and resizing the strides cost an op on W0 a
// fifth of a tensor's creation). Ranks above `cached_rank` are not cached. The lists are bounded
// by `cached_storage_bytes`; beyond that, and after thread exit, storages are deleted. Like
// the block pools, the cache is off under AddressSanitizer.
namespace {

constexpr std::size_t cached_elements = 64;
constexpr std::size_t cached_rank = 4;
constexpr std::size_t cached_storage_bytes = std::size_t(128) << 20;

struct CachedStorage {
    template <class T>
    CachedStorage(std::in_place_type_t<T> type, const Shape& shape, std::size_t elements)
        : storage(type, shape), elements(elements) {}
    Storage storage;
    std::size_t elements;  ///< the list it belongs to; resized since (mutable_value), it is deleted
    CachedStorage* next = nullptr;
};

// Trivially destructible (usable while other thread_local objects are destroyed).
struct StorageLists {
    CachedStorage* head[2][cached_rank + 1][cached_elements + 1];  ///< [dtype][rank][elements]
    std::size_t bytes;
    bool draining;  ///< this thread's DrainStorages exists (a plain flag: checked on every free)
    bool closed;
};
thread_local StorageLists storage_lists{};

// What decides the list a storage goes back on: its element count and rank now (either may
// have changed in place since it was handed out), read in one visit of the variant.
struct Extent {
    std::size_t elements;
    std::size_t rank;
};

Extent extent_of(const Storage& storage) {
    return std::visit([](const auto& array) { return Extent{array.size(), array.dimension()}; },
                      storage.array);
}

std::size_t entry_bytes(const Storage& storage, std::size_t elements) {
    return sizeof(CachedStorage) + elements * (storage.array.index() == 0 ? sizeof(float) : sizeof(double));
}

void release_storages() noexcept {
    StorageLists& lists = storage_lists;
    for (auto& by_dtype : lists.head) {
        for (auto& by_rank : by_dtype) {
            for (CachedStorage*& head : by_rank) {
                while (head != nullptr) {
                    CachedStorage* next = head->next;
                    delete head;
                    head = next;
                }
            }
        }
    }
    lists.bytes = 0;
}

std::size_t cached_storage_bytes_now() { return storage_lists.bytes; }

struct DrainStorages {
    ~DrainStorages() {
        storage_lists.closed = true;
        release_storages();
    }
};

// Registers the cache with release_cached_memory() (once) and this thread's lists for emptying
// at thread exit: on the thread's first allocation or free.
void drain_storages_at_exit() {
    static const bool registered =
        register_cache({&cached_storage_bytes_now, &release_storages});
    static thread_local DrainStorages drain;
    (void)registered;
    (void)drain;
    storage_lists.draining = true;
}

// The shared_ptr deleter of a cacheable Storage: back on the list of its rank now, or deleted.
struct Recycle {
    CachedStorage* owner;
    void operator()(Storage*) const noexcept {
        StorageLists& lists = storage_lists;
        const std::size_t elements = owner->elements;
        const std::size_t bytes = entry_bytes(owner->storage, elements);
        const auto [now_elements, rank] = extent_of(owner->storage);
        if (lists.closed || now_elements != elements || rank > cached_rank ||
            lists.bytes + bytes > cached_storage_bytes) {
            delete owner;
            return;
        }
        if (!lists.draining) drain_storages_at_exit();
        CachedStorage*& head = lists.head[owner->storage.array.index()][rank][elements];
        owner->next = head;
        head = owner;
        lists.bytes += bytes;
    }
};

}  // namespace

template <class T>
void make_storage(const Shape& shape, std::shared_ptr<Storage>& out) {
    std::size_t elements = 1;
    for (std::size_t extent : shape) elements *= extent;
    if (!pools_enabled || elements > cached_elements || shape.size() > cached_rank) {
        out = make_pooled<Storage>(std::in_place_type<T>, shape);
        return;
    }
    StorageLists& lists = storage_lists;
    CachedStorage*& head = lists.head[std::is_same_v<T, float> ? 0 : 1][shape.size()][elements];
    CachedStorage* entry = head;
    if (entry != nullptr) {
        head = entry->next;
        lists.bytes -= entry_bytes(entry->storage, elements);
        entry->storage.version = 0;
        auto& array = std::get<xt::xarray<T>>(entry->storage.array);
        if (!same_shape(array.shape(), shape)) array.resize(shape);
    } else {
        if (!lists.draining) drain_storages_at_exit();
        entry = new CachedStorage(std::in_place_type<T>, shape, elements);
    }
    out.reset(&entry->storage, Recycle{entry}, PoolAllocator<Storage>());
}



template void make_storage<float>(const Shape&, std::shared_ptr<Storage>&);
template void make_storage<double>(const Shape&, std::shared_ptr<Storage>&);

}  // namespace xgrad::detail
