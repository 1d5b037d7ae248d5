// The gradient slot (Note [Gradient slot] in tensor.hpp): where a tensor's .grad lives, shared
// with its leaf nodes so a backward writes it without locking the tensor; a recorded gradient
// is dropped with the tensor, so it does not keep the tensor's graph alive.

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "support/check.hpp"

using namespace xgrad;
using xgrad::testing::at;
using xgrad::testing::variable;

namespace {

/// Checks `t` against `expected` element by element (same shape).
void check_close(const Tensor& t, const Tensor& expected) {
    REQUIRE(t.defined());
    REQUIRE(t.shape() == expected.shape());
    for (std::size_t i = 0; i < t.size(); ++i) CHECK(at(t, i) == doctest::Approx(at(expected, i)));
}

}  // namespace

TEST_CASE("a graph recorded before set_requires_grad(false) still adds to the tensor's .grad") {
    Tensor w = variable({3}, 1);
    Tensor loss = sum(w * w);
    w.set_requires_grad(false);
    loss.backward();
    REQUIRE(w.grad().defined());
    check_close(w.grad(), 2.0 * w.detach());

    w.set_requires_grad(true);  // a new leaf node, the same slot: the next backward adds
    sum(w).backward();
    check_close(w.grad(), 2.0 * w.detach() + 1.0);
}

TEST_CASE("a gradient set before set_requires_grad(true) is kept and added to") {
    Tensor w = zeros({2}, Dtype::float64);
    w.set_grad(ones({2}, Dtype::float64));
    w.set_requires_grad(true);
    check_close(w.grad(), ones({2}, Dtype::float64));
    sum(3.0 * w).backward();
    check_close(w.grad(), full({2}, 4.0, Dtype::float64));
}

TEST_CASE("the reference grad() returns shows every later gradient of the tensor") {
    Tensor w = variable({2}, 2);
    const Tensor& gradient = w.grad();
    CHECK_FALSE(gradient.defined());
    sum(w).backward();
    check_close(gradient, ones({2}, Dtype::float64));
    w.set_requires_grad(false);  // its leaf node goes; the slot stays with the tensor
    check_close(gradient, ones({2}, Dtype::float64));
    w.set_grad(full({2}, 5.0, Dtype::float64));
    check_close(gradient, full({2}, 5.0, Dtype::float64));
    w.set_grad(Tensor());
    CHECK_FALSE(gradient.defined());
}

TEST_CASE("a plain backward after a recorded one leaves a sum without a graph and frees the graph") {
    const std::int64_t baseline = Node::live_count();
    Tensor x = variable({2}, 3);
    sum(x * x * x).backward(Tensor(), false, true);  // 3 x^2, recorded: its graph reaches x
    REQUIRE(x.grad().requires_grad());
    CHECK(Node::live_count() > baseline + 1);

    sum(x).backward();  // 3 x^2 + 1, computed without recording
    CHECK_FALSE(x.grad().requires_grad());
    check_close(x.grad(), 3.0 * x.detach() * x.detach() + 1.0);
    CHECK(Node::live_count() == baseline + 1);  // x's own leaf node only
}

TEST_CASE("a recorded backward after a plain one records the sum, freed with the leaf") {
    const std::int64_t baseline = Node::live_count();
    {
        Tensor x = variable({2}, 4);
        sum(x).backward();
        sum(x * x).backward(Tensor(), false, true);  // 1 + 2x, recorded
        REQUIRE(x.grad().requires_grad());
        check_close(x.grad(), 2.0 * x.detach() + 1.0);
        Tensor second = grad({sum(x.grad())}, {x})[0];  // d/dx sum(1 + 2x) = 2
        check_close(second, full({2}, 2.0, Dtype::float64));
    }
    CHECK(Node::live_count() == baseline);
}

TEST_CASE("zero_grad on a recorded gradient leaves zeros without a graph, added to in place") {
    Tensor x = variable({2}, 5);
    sum(exp(x)).backward(Tensor(), false, true);
    REQUIRE(x.grad().requires_grad());
    x.zero_grad();
    CHECK_FALSE(x.grad().requires_grad());
    check_close(x.grad(), zeros({2}, Dtype::float64));
    sum(2.0 * x).backward();
    check_close(x.grad(), full({2}, 2.0, Dtype::float64));
}

TEST_CASE("a gradient reaching a leaf that another thread lets go of meanwhile is safe") {
    // The backward writes the slot its leaf node holds; the other thread drops the last
    // handle on the leaf at the same time (ASan and the sanitizer build check the memory).
    const std::int64_t baseline = Node::live_count();
    for (int round = 0; round < 200; ++round) {
        const bool recorded = round % 2 == 1;
        Tensor w = variable({4}, round);
        Tensor loss = sum(exp(w) * w);
        std::atomic<bool> go{false};
        std::thread dropper([&go, w = std::move(w)]() mutable {
            while (!go.load()) std::this_thread::yield();
            w = Tensor();
        });
        go.store(true);
        loss.backward(Tensor(), false, recorded);
        dropper.join();
        loss = Tensor();
        CHECK(Node::live_count() == baseline);
    }
}
