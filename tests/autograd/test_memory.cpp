// The engine's memory caches (autograd/pool.hpp, autograd/storage_cache.cpp and
// autograd/memory.hpp): blocks and small arrays are reused, bounded, safe across threads and
// at thread exit, and can be handed back to the heap.

#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include <autograd/autograd.hpp>
#include <autograd/pool.hpp>

using namespace xgrad;

namespace {
using SmallPool = detail::BlockPool<32>;
// 16 MiB blocks (their pages are never touched): the 256 MiB bound is reached after 16.
using HugePool = detail::BlockPool<std::size_t(16) << 20>;

const float* data_of(const Tensor& t) { return t.value<float>().data(); }
}  // namespace

TEST_CASE("a freed block is handed out again, last freed first") {
    SmallPool::release();
    void* a = SmallPool::allocate();
    void* b = SmallPool::allocate();
    SmallPool::deallocate(a);
    SmallPool::deallocate(b);
    CHECK(SmallPool::cached() == 2);
    CHECK(SmallPool::cached_bytes() == 64);
    CHECK(SmallPool::allocate() == b);
    CHECK(SmallPool::allocate() == a);
    CHECK(SmallPool::cached() == 0);
    SmallPool::deallocate(a);
    SmallPool::deallocate(b);
    SmallPool::release();
    CHECK(SmallPool::cached() == 0);
}

TEST_CASE("a pool keeps at most 256 MiB; the blocks beyond go back to the heap") {
    static_assert(HugePool::max_blocks == 16);
    std::vector<void*> blocks;
    for (int i = 0; i < 20; ++i) blocks.push_back(HugePool::allocate());
    for (void* block : blocks) HugePool::deallocate(block);
    CHECK(HugePool::cached() == 16);
    HugePool::release();
    CHECK(HugePool::cached() == 0);
}

TEST_CASE("a block freed on another thread joins that thread's list, which exit empties") {
    SmallPool::release();
    void* block = SmallPool::allocate();
    std::size_t cached_there = 0;
    std::thread([&] {
        SmallPool::deallocate(block);
        cached_there = SmallPool::cached();
        void* again = SmallPool::allocate();  // the same block, reused on this thread
        CHECK(again == block);
        SmallPool::deallocate(again);
    }).join();  // thread exit frees the list of a thread that only freed and reused blocks
                // (valgrind and LeakSanitizer report the block otherwise: they did, once)
    CHECK(cached_there == 1);
    CHECK(SmallPool::cached() == 0);
}

TEST_CASE("graphs built and freed on worker threads leave nothing behind" *
          doctest::description("nodes made on a worker are freed on the main thread after the worker exited")) {
    const std::int64_t before = Node::live_count();
    Tensor w = scalar(0.5f).set_requires_grad();
    Tensor kept;
    std::thread([&] {
        Tensor x = scalar(0.25f);
        for (int i = 0; i < 1000; ++i) x = tanh(x * w + 0.1);
        kept = x;  // outlives the thread: freed here, after that thread's caches are gone
    }).join();
    kept.backward();
    CHECK(w.grad().item() != 0);
    kept = Tensor();
    CHECK(Node::live_count() - before == 1);  // only w's leaf node
}

TEST_CASE("a small result reuses a freed array of its size, with a fresh version" *
          doctest::skip(!detail::pools_enabled)) {
    const Tensor a = full({2, 3}, 1.5);
    const Tensor a_rows = reshape(a, {3, 2});
    const float* freed = nullptr;
    {
        Tensor b = a * 2.0;
        b.mutable_value<float>()(0, 0) = 9.0f;  // bumps b's version
        CHECK(b.version() == 1);
        freed = data_of(b);
    }
    const Tensor c = a_rows + 1.0;  // six elements again, another shape
    CHECK(data_of(c) == freed);
    CHECK(c.shape() == Shape{3, 2});
    CHECK(c.version() == 0);
    CHECK(c.value<float>() == xt::xarray<float>{{2.5f, 2.5f}, {2.5f, 2.5f}, {2.5f, 2.5f}});
}

TEST_CASE("a freed array is reused by a result of its rank; one of another rank takes another" *
          doctest::skip(!detail::pools_enabled)) {
    release_cached_memory();
    const Tensor row = full({1, 2}, 1.0);
    const Tensor flat = full({2}, 1.0);
    const float* freed_row = nullptr;
    const float* freed_flat = nullptr;
    {
        const Tensor r = row * 2.0;
        const Tensor f = flat * 2.0;
        freed_row = data_of(r);
        freed_flat = data_of(f);
    }
    const Tensor f = flat + 1.0;  // two elements, rank 1: the flat one's array, not the row's
    CHECK(data_of(f) == freed_flat);
    const Tensor r = row + 1.0;
    CHECK(data_of(r) == freed_row);
    CHECK(r.shape() == Shape{1, 2});
    CHECK(f.value<float>() == xt::xarray<float>{2, 2});
    CHECK(r.value<float>() == xt::xarray<float>{{2, 2}});
}

TEST_CASE("an array reshaped in place goes back on the list of the rank it has now" *
          doctest::skip(!detail::pools_enabled)) {
    release_cached_memory();
    const float* reshaped = nullptr;
    {
        Tensor t = full({2}, 1.0) * 2.0;
        t.mutable_value<float>().reshape({1, 2});  // same elements, rank 2
        reshaped = data_of(t);
    }
    const Tensor flat = full({2}, 3.0);
    CHECK(data_of(flat) != reshaped);
    const Tensor row = full({1, 2}, 3.0);
    CHECK(data_of(row) == reshaped);
    CHECK(row.value<float>() == xt::xarray<float>{{3, 3}});
}

TEST_CASE("an array resized in place is not put back on the list of its old size" *
          doctest::skip(!detail::pools_enabled)) {
    release_cached_memory();
    const float* resized = nullptr;
    {
        Tensor b = full({4}, 1.0) * 3.0;
        b.mutable_value<float>().resize({100});
        resized = data_of(b);
    }
    const Tensor c = full({4}, 1.0) * 3.0;
    CHECK(data_of(c) != resized);
    CHECK(c.value<float>() == xt::xarray<float>{3, 3, 3, 3});
}

TEST_CASE("cached_bytes reports what a freed graph left, and release_cached_memory returns it" *
          doctest::skip(!detail::pools_enabled)) {
    release_cached_memory();
    CHECK(cached_bytes() == 0);
    Tensor w = scalar(0.5f).set_requires_grad();
    {
        Tensor x = scalar(0.3f);
        for (int i = 0; i < 1000; ++i) x = tanh(x * w);
        x.backward();
    }
    const std::size_t kept = cached_bytes();
    CHECK(kept > 1000 * 100);  // at least the nodes, at ~100+ bytes each
    release_cached_memory();
    CHECK(cached_bytes() == 0);
    Tensor y = tanh(scalar(0.3f) * w);  // the caches still work afterwards
    y.backward();
    CHECK(w.grad().defined());
}
