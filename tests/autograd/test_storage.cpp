// Storage and StoragePtr (autograd/storage.hpp): the count inside the Storage, the last handle
// returning it to the storage cache, and counts kept right across threads.

#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include <autograd/autograd.hpp>
#include <autograd/pool.hpp>

using namespace xgrad;

TEST_CASE("StoragePtr counts copies, not moves, and an empty handle counts nothing") {
    Tensor x = Tensor({1.0, 2.0, 3.0});
    StoragePtr a = x.storage();
    CHECK(a.use_count() == 2);
    StoragePtr b = a;
    CHECK(a.use_count() == 3);
    StoragePtr c = std::move(b);
    CHECK(!b);
    CHECK(b.use_count() == 0);
    CHECK(c.use_count() == 3);
    CHECK(c == a);
    CHECK(c != b);
    c = b;  // assigning an empty handle releases the old one
    CHECK(a.use_count() == 2);
    a.reset();
    CHECK(x.storage().use_count() == 1);
    CHECK(x.value<float>()(2) == 3.0f);  // the tensor's storage is untouched
}

TEST_CASE("a handle assigned to itself keeps its storage") {
    Tensor x = Tensor({4.0, 5.0});
    StoragePtr a = x.storage();
    const StoragePtr& same = a;
    a = same;
    CHECK(a.use_count() == 2);
    a = std::move(a);
    CHECK(a == x.storage());
}

TEST_CASE("the last handle on a small storage returns it to the cache, the next result takes it") {
    if (!detail::pools_enabled) return;  // no cache under AddressSanitizer: nothing to reuse
    Tensor first = zeros({3, 5});
    const Storage* storage = first.storage().get();
    Tensor saved_elsewhere = first.detach();
    first = Tensor();
    Tensor other = zeros({3, 5});
    CHECK(other.storage().get() != storage);  // still held through the detached alias
    saved_elsewhere = Tensor();
    Tensor again = ones({5, 3});  // same dtype, rank and element count
    CHECK(again.storage().get() == storage);
    CHECK(again.shape() == Shape{5, 3});
    CHECK(again.version() == 0);
    CHECK(again.value<float>()(4, 2) == 1.0f);
}

TEST_CASE("a storage resized in place is deleted, not cached at its old size") {
    if (!detail::pools_enabled) return;
    // What releasing a tensor adds to the caches: its handle's block, and its storage if cached.
    const auto cached_on_release = [](Tensor& tensor) {
        const std::size_t before = cached_bytes();
        tensor = Tensor();
        return cached_bytes() - before;
    };
    Tensor resized = zeros({2, 2});
    resized.mutable_value<float>().resize({3, 3});
    Tensor plain = zeros({2, 2});
    const std::size_t handle_only = cached_on_release(resized);
    CHECK(cached_on_release(plain) == handle_only + sizeof(Storage) + 4 * sizeof(float));
}

TEST_CASE("handles copied and released on several threads leave the count exact") {
    Tensor x = Tensor({1.0, 2.0});
    const StoragePtr& handle = x.storage();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&handle] {
            for (int i = 0; i < 20000; ++i) {
                StoragePtr copy = handle;
                StoragePtr moved = std::move(copy);
                (void)moved;
            }
        });
    }
    for (std::thread& thread : threads) thread.join();
    CHECK(handle.use_count() == 1);
    CHECK(x.value<float>()(1) == 2.0f);
}

TEST_CASE("the last handle may be released on another thread") {
    std::vector<Tensor> made;
    for (int i = 0; i < 64; ++i) made.push_back(full({4}, double(i)));  // cached and not
    made.push_back(zeros({100}));
    std::thread other([moved = std::move(made)]() mutable {
        double total = 0;
        for (const Tensor& t : moved) total += t.value<float>()(0);
        CHECK(total == 64.0 * 63.0 / 2.0);
        moved.clear();  // freed here: the storages join this thread's cache, which exit empties
    });
    other.join();
    Tensor after = zeros({4});
    CHECK(after.value<float>()(3) == 0.0f);
}
