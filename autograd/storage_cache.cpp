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
// the block pools, the cache is off under AddressSanitizer. A cached Storage carries its list
// (element count) and its link on the list itself (Note [Storage handles] in storage.hpp).

// What the cache reads and writes of a Storage's private fields.
struct StorageCacheAccess {
    static std::uint32_t& elements(Storage& storage) { return storage.cached_elements_; }
    static Storage*& next(Storage& storage) { return storage.next_cached_; }
};

namespace {

constexpr std::size_t cached_elements = 64;
constexpr std::size_t cached_rank = 4;
constexpr std::size_t cached_storage_bytes = std::size_t(128) << 20;

// Trivially destructible (usable while other thread_local objects are destroyed).
struct StorageLists {
    Storage* head[2][cached_rank + 1][cached_elements + 1];  ///< [dtype][rank][elements]
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
    return sizeof(Storage) + elements * (storage.array.index() == 0 ? sizeof(float) : sizeof(double));
}

void release_storages() noexcept {
    StorageLists& lists = storage_lists;
    for (auto& by_dtype : lists.head) {
        for (auto& by_rank : by_dtype) {
            for (Storage*& head : by_rank) {
                while (head != nullptr) {
                    Storage* next = StorageCacheAccess::next(*head);
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

}  // namespace

// A cacheable Storage goes back on the list of its rank now; any other is deleted.
void destroy_storage(Storage* storage) noexcept {
    StorageLists& lists = storage_lists;
    const std::size_t elements = StorageCacheAccess::elements(*storage);
    if (elements == 0) {
        delete storage;
        return;
    }
    const std::size_t bytes = entry_bytes(*storage, elements);
    const auto [now_elements, rank] = extent_of(*storage);
    if (lists.closed || now_elements != elements || rank > cached_rank ||
        lists.bytes + bytes > cached_storage_bytes) {
        delete storage;
        return;
    }
    if (!lists.draining) drain_storages_at_exit();
    Storage*& head = lists.head[storage->array.index()][rank][elements];
    StorageCacheAccess::next(*storage) = head;
    head = storage;
    lists.bytes += bytes;
}

template <class T>
void make_storage(const Shape& shape, StoragePtr& out) {
    std::size_t elements = 1;
    for (std::size_t extent : shape) elements *= extent;
    if (!pools_enabled || elements > cached_elements || elements == 0 || shape.size() > cached_rank) {
        out = StoragePtr::adopt(new Storage(std::in_place_type<T>, shape));
        return;
    }
    StorageLists& lists = storage_lists;
    Storage*& head = lists.head[std::is_same_v<T, float> ? 0 : 1][shape.size()][elements];
    Storage* storage = head;
    if (storage != nullptr) {
        head = StorageCacheAccess::next(*storage);
        lists.bytes -= entry_bytes(*storage, elements);
        storage->version = 0;
        auto& array = std::get<xt::xarray<T>>(storage->array);
        if (!same_shape(array.shape(), shape)) array.resize(shape);
    } else {
        if (!lists.draining) drain_storages_at_exit();
        storage = new Storage(std::in_place_type<T>, shape);
        StorageCacheAccess::elements(*storage) = static_cast<std::uint32_t>(elements);
    }
    out = StoragePtr::adopt(storage);
}

template void make_storage<float>(const Shape&, StoragePtr&);
template void make_storage<double>(const Shape&, StoragePtr&);

}  // namespace xgrad::detail
