#pragma once
/// Storage: the array behind one or more tensors, and StoragePtr, the counted handle on it.

#include <atomic>
#include <cassert>
#include <cstdint>
#include <utility>
#include <variant>

#include <xtensor/xarray.hpp>

#include "dtype.hpp"
#include "error.hpp"  // Shape

// glibc's flag that the process has one thread, as libstdc++'s shared_ptr reads it.
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define XGRAD_HAVE_SINGLE_THREADED 1
#else
#define XGRAD_HAVE_SINGLE_THREADED 0
#endif

namespace xgrad {

namespace detail {
struct StorageCacheAccess;
}  // namespace detail

/// The array behind one or more tensors, with a counter bumped on every in-place change.
/// Shared through StoragePtr, which keeps its count in the Storage itself.
struct Storage {
    /// Moves `values` in once (no temporary Storage: an xarray move is three shape vectors).
    template <class T>
    explicit Storage(xt::xarray<T>&& values, std::uint64_t version = 0)
        : array(std::in_place_type<xt::xarray<T>>, std::move(values)), version(version) {}
    /// An array of `shape` built in place, its elements uninitialised.
    template <class T>
    Storage(std::in_place_type_t<T>, const Shape& shape)
        : array(std::in_place_type<xt::xarray<T>>, shape) {}
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    std::variant<xt::xarray<float>, xt::xarray<double>> array;
    std::uint64_t version = 0;

private:
    friend class StoragePtr;
    friend struct detail::StorageCacheAccess;
    std::atomic<long> use_count_{0};  ///< StoragePtr handles on it
    std::uint32_t cached_elements_ = 0;  ///< the storage cache's list it returns to (0: none)
    Storage* next_cached_ = nullptr;  ///< the storage cache's free list
};

// Note [Storage handles]
// Every tensor's result has a Storage, and a std::shared_ptr to it needed a control block of
// its own (the storage cache recycles the Storage, not the block): allocated, initialised and
// freed per tensor, with two virtual calls on release. So the count lives in the Storage
// (intrusive), and the last handle returns it to the storage cache or deletes it
// (detail::destroy_storage). Counts change as libstdc++'s shared_ptr changes them: atomically
// once the process has a second thread (OpenBLAS's pool), plainly before.
namespace detail {
/// Returns a Storage no handle refers to any more to the storage cache, or deletes it.
void destroy_storage(Storage* storage) noexcept;
}  // namespace detail

/// A counted handle on a Storage, as std::shared_ptr<Storage> with the count inside it.
class StoragePtr {
public:
    StoragePtr() = default;
    /// Takes the first handle on a new Storage (from new, or the storage cache).
    static StoragePtr adopt(Storage* storage) noexcept {
        StoragePtr handle;
        handle.storage_ = storage;
        storage->use_count_.store(1, std::memory_order_relaxed);
        return handle;
    }
    /// A second handle on the storage of `only`, its one handle, which no other thread can
    /// reach yet (the result of an op being recorded): the count is stored, not incremented
    /// with a locked instruction.
    static StoragePtr second_of_unpublished(const StoragePtr& only) noexcept {
        StoragePtr handle;
        handle.storage_ = only.storage_;
        assert(only.use_count() == 1);
        handle.storage_->use_count_.store(2, std::memory_order_relaxed);
        return handle;
    }
    StoragePtr(const StoragePtr& other) noexcept : storage_(other.storage_) {
        if (storage_ != nullptr) add(1);
    }
    StoragePtr(StoragePtr&& other) noexcept : storage_(other.storage_) { other.storage_ = nullptr; }
    StoragePtr& operator=(const StoragePtr& other) noexcept {
        StoragePtr(other).swap(*this);
        return *this;
    }
    StoragePtr& operator=(StoragePtr&& other) noexcept {
        StoragePtr(std::move(other)).swap(*this);
        return *this;
    }
    ~StoragePtr() { reset(); }

    void reset() noexcept {
        // The last handle needs no locked decrement (as libstdc++'s shared_ptr): no other
        // thread holds a handle to copy, and the acquire load sees what earlier owners wrote.
        if (storage_ != nullptr &&
            (storage_->use_count_.load(std::memory_order_acquire) == 1 || add(-1) == 1)) {
            detail::destroy_storage(storage_);
        }
        storage_ = nullptr;
    }
    void swap(StoragePtr& other) noexcept { std::swap(storage_, other.storage_); }
    Storage* get() const noexcept { return storage_; }
    Storage& operator*() const noexcept { return *storage_; }
    Storage* operator->() const noexcept { return storage_; }
    explicit operator bool() const noexcept { return storage_ != nullptr; }
    /// Handles on the storage (0 for an empty handle).
    long use_count() const noexcept {
        return storage_ ? storage_->use_count_.load(std::memory_order_relaxed) : 0;
    }
    friend bool operator==(const StoragePtr& a, const StoragePtr& b) { return a.storage_ == b.storage_; }
    friend bool operator!=(const StoragePtr& a, const StoragePtr& b) { return a.storage_ != b.storage_; }

private:
    /// Adds `delta` to the count and returns the count before.
    long add(long delta) const noexcept {
        auto& count = storage_->use_count_;
#if XGRAD_HAVE_SINGLE_THREADED
        if (__libc_single_threaded) {
            const long before = count.load(std::memory_order_relaxed);
            count.store(before + delta, std::memory_order_relaxed);
            return before;
        }
#endif
        return count.fetch_add(delta, std::memory_order_acq_rel);
    }

    Storage* storage_ = nullptr;
};

}  // namespace xgrad
