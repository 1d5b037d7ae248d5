#include "memory.hpp"

#include <array>
#include <mutex>

#include "pool.hpp"

namespace xgrad {

namespace {
struct Registry {
    std::mutex mutex;
    std::array<detail::CacheHooks, 32> hooks{};
    std::size_t count = 0;
};

Registry& registry() {
    static Registry* instance = new Registry();  // never destroyed: caches outlive statics
    return *instance;
}
}  // namespace

namespace detail {
bool register_cache(CacheHooks hooks) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    if (r.count == r.hooks.size()) return false;  // not reachable by release; still bounded
    r.hooks[r.count++] = hooks;
    return true;
}
}  // namespace detail

std::size_t cached_bytes() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    std::size_t total = 0;
    for (std::size_t i = 0; i < r.count; ++i) total += r.hooks[i].bytes();
    return total;
}

void release_cached_memory() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    for (std::size_t i = 0; i < r.count; ++i) r.hooks[i].release();
}

}  // namespace xgrad
