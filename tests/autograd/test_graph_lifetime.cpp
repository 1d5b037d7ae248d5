// Graph lifetime (Note [Graph ownership], Note [Iterative teardown]): nodes die with the last
// tensor that reaches them, backward frees saved values, and deep graphs need no deep stack.

#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>

#include "support/check.hpp"

using namespace xgrad;
using xgrad::testing::variable;

namespace {

Tensor scalar_leaf(double value) { return scalar(value, Dtype::float64).set_requires_grad(); }

/// The message of the graph_error that `f` throws ("" if it throws none).
template <class F>
std::string graph_error_message(F&& f) {
    try {
        f();
    } catch (const graph_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("live nodes return to the baseline when a graph is dropped") {
    const std::int64_t baseline = Node::live_count();
    {
        Tensor x = variable({3}, 1);
        CHECK(Node::live_count() == baseline + 1);  // the leaf's node
        {
            Tensor y = sum(tanh(x * x) + exp(x));
            CHECK(Node::live_count() == baseline + 6);  // leaf, mul, tanh, exp, add, sum
            y.backward();
            CHECK(x.grad().defined());
        }
        CHECK(Node::live_count() == baseline + 1);
    }
    CHECK(Node::live_count() == baseline);
}

TEST_CASE("backward without retain_graph frees the saved values") {
    Tensor x = variable({4}, 2);
    Tensor y = exp(x);      // saves its output
    Tensor z = sum(y * x);  // saves y and x
    CHECK(y.storage().use_count() == 3);
    CHECK(x.storage().use_count() == 2);

    z.backward(Tensor(), true);
    CHECK_FALSE(y.node()->released());
    CHECK(y.storage().use_count() == 3);

    z.backward();
    CHECK(z.node()->released());
    CHECK(y.node()->released());
    CHECK(y.storage().use_count() == 1);
    CHECK(x.storage().use_count() == 1);
}

TEST_CASE("graphs with saved outputs and create_graph free every node") {
    const std::int64_t baseline = Node::live_count();
    std::weak_ptr<Node> tanh_node;
    {
        Tensor x = variable({3}, 3);
        Tensor t = tanh(x);
        tanh_node = t.node();
        Tensor y = sum(t * exp(x) + sigmoid(x));
        Tensor g = grad({y}, {x}, {}, false, true)[0];
        Tensor h = grad({sum(g * g)}, {x}, {}, false, true)[0];
        sum(h).backward(Tensor(), false, true);  // x.grad is itself a recorded tensor
        REQUIRE(x.grad().requires_grad());
        CHECK_FALSE(tanh_node.expired());

        t = y = g = h = Tensor();
        x.set_grad(Tensor());
        CHECK(tanh_node.expired());
        CHECK(Node::live_count() == baseline + 1);  // only x's leaf node is left
    }
    CHECK(Node::live_count() == baseline);
}

TEST_CASE("a recorded .grad does not keep its leaf alive") {
    const std::int64_t baseline = Node::live_count();
    {
        Tensor x = variable({2}, 4);
        sum(exp(x) * tanh(x)).backward(Tensor(), false, true);
        REQUIRE(x.grad().requires_grad());  // x owns a graph that reaches x's own leaf node
    }
    CHECK(Node::live_count() == baseline);
}

TEST_CASE("a chain of a million nodes runs forward, backward and teardown") {
    constexpr int length = 1'000'000;
    const double rate = 1.0000001;
    const std::int64_t baseline = Node::live_count();
    {
        Tensor x = scalar_leaf(1.0);
        const Tensor factor = scalar(rate, Dtype::float64);  // one constant shared by every mul
        Tensor y = x;
        for (int i = 0; i < length; ++i) y = y * factor;
        CHECK(Node::live_count() == baseline + length + 1);
        y.backward();
        // Backward multiplies the same factors in the same order as forward: bit-identical.
        CHECK(x.grad().item() == y.item());
        CHECK(y.item() == doctest::Approx(std::exp(length * std::log1p(1e-7))).epsilon(1e-9));
    }
    CHECK(Node::live_count() == baseline);
}

TEST_CASE("a deep chain where every node is used twice") {
    constexpr int length = 200'000;
    const std::int64_t baseline = Node::live_count();
    {
        Tensor x = scalar_leaf(0.75);
        Tensor y = x;
        for (int i = 0; i < length; ++i) y = (y + y) * 0.5;  // each add has one input twice
        CHECK(Node::live_count() == baseline + 2 * length + 1);
        y.backward();
        CHECK(y.item() == 0.75);
        CHECK(x.grad().item() == 1.0);
    }
    CHECK(Node::live_count() == baseline);
}

TEST_CASE("backward after the leaf tensor is gone") {
    const std::int64_t baseline = Node::live_count();
    Tensor y;
    {
        Tensor x = variable({3}, 6);
        y = sum(exp(x));
    }
    CHECK(Node::live_count() == baseline + 3);  // the graph keeps x's node, not x
    y.backward();                               // nowhere to accumulate: nothing happens
    CHECK(y.node()->released());
    y = Tensor();
    CHECK(Node::live_count() == baseline);
}

TEST_CASE("a second backward through a freed graph names the op") {
    Tensor x = scalar_leaf(0.5);
    Tensor y = tanh(x * x);
    y.backward();
    const double first = x.grad().item();

    const std::string message = graph_error_message([&] { y.backward(); });
    CHECK(message.find("'tanh'") != std::string::npos);
    CHECK(message.find("retain_graph") != std::string::npos);
    CHECK(x.grad().item() == first);  // the failed call accumulated nothing
}

TEST_CASE("a new root over a freed subgraph names the freed op") {
    Tensor x = variable({3}, 5);
    Tensor t = tanh(x);
    sum(t * 2.0).backward();
    const std::string message = graph_error_message([&] { sum(exp(t)).backward(); });
    CHECK(message.find("'tanh'") != std::string::npos);
}
