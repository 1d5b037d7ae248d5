#include "heap_counter.hpp"

#include <malloc.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace xgrad::bench {
namespace {
std::atomic<bool> counting{false};
std::atomic<std::int64_t> live{0}, peak{0};

void charge(void* pointer, std::int64_t sign) {
    if (pointer == nullptr || !counting.load(std::memory_order_relaxed)) return;
    const std::int64_t bytes = sign * std::int64_t(malloc_usable_size(pointer));
    const std::int64_t now = live.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    std::int64_t seen = peak.load(std::memory_order_relaxed);
    while (now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {}
}
}  // namespace

void start_counting() {
    live = 0;
    peak = 0;
    counting = true;
}
void stop_counting() { counting = false; }
std::int64_t live_bytes() { return live.load(); }
std::int64_t peak_bytes() { return peak.load(); }
void reset_peak() { peak = live.load(); }

}  // namespace xgrad::bench

namespace {
void* allocate(std::size_t size, std::size_t alignment) {
    void* pointer = alignment <= alignof(std::max_align_t)
                        ? std::malloc(size == 0 ? 1 : size)
                        : std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
    if (pointer == nullptr) throw std::bad_alloc();
    xgrad::bench::charge(pointer, +1);
    return pointer;
}
void release(void* pointer) {
    xgrad::bench::charge(pointer, -1);
    std::free(pointer);
}
}  // namespace

void* operator new(std::size_t size) { return allocate(size, 0); }
void* operator new[](std::size_t size) { return allocate(size, 0); }
void* operator new(std::size_t size, std::align_val_t a) { return allocate(size, std::size_t(a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return allocate(size, std::size_t(a)); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    try { return allocate(size, 0); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    try { return allocate(size, 0); } catch (...) { return nullptr; }
}
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }
