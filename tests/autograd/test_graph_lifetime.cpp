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

// Note [Freeing as it goes]: a root that is a temporary lets go of each node once its rule has
// run and nothing else holds it. `probe` is an identity whose rule reads how many nodes are
// alive at that moment: below it on the graph are only itself and the leaf.
namespace {

Tensor probe(const Tensor& x, std::int64_t& live_in_rule) {
    Tensor out(xt::xarray<double>(x.value<double>()));
    return record_op("probe", std::move(out), {x}, {}, [&live_in_rule](const BackwardContext& ctx) {
        live_in_rule = Node::live_count();
        return std::vector<Tensor>{ctx.grad_out};
    });
}

/// sum(tanh(exp(probe(x)) * 2)): five nodes over the leaf, the probe the last to run.
Tensor probed_graph(const Tensor& x, std::int64_t& live_in_rule) {
    return sum(tanh(exp(probe(x, live_in_rule)) * 2.0));
}

}  // namespace

TEST_CASE("backward of a temporary root frees each node as soon as its rule has run") {
    const std::int64_t baseline = Node::live_count();
    Tensor x = variable({3}, 7);
    std::int64_t live_in_rule = -1;
    probed_graph(x, live_in_rule).backward();
    CHECK(live_in_rule == baseline + 2);  // the leaf's node and the probe's: the rest is gone
    CHECK(Node::live_count() == baseline + 1);
    const xt::xarray<double> freed_as_it_went = x.grad().value<double>();

    x.zero_grad();
    {
        const Tensor loss = probed_graph(x, live_in_rule);
        loss.backward();  // a named root: its graph stays whole until the handle goes
        CHECK(live_in_rule == baseline + 6);
        CHECK(loss.node()->released());
        CHECK(Node::live_count() == baseline + 6);
    }
    CHECK(Node::live_count() == baseline + 1);
    CHECK(x.grad().value<double>() == freed_as_it_went);  // bit-identical
}

TEST_CASE("std::move(loss).backward() frees the graph and keeps the loss's value") {
    const std::int64_t baseline = Node::live_count();
    Tensor x = variable({3}, 8);
    std::int64_t live_in_rule = -1;
    Tensor loss = probed_graph(x, live_in_rule);
    const double value = loss.item();
    std::move(loss).backward();
    CHECK(live_in_rule == baseline + 2);
    CHECK(Node::live_count() == baseline + 1);
    CHECK(loss.item() == value);  // NOLINT(bugprone-use-after-move): the value stays
    CHECK_FALSE(loss.requires_grad());
    CHECK(x.grad().defined());
}

TEST_CASE("a root another handle shares keeps its graph") {
    const std::int64_t baseline = Node::live_count();
    Tensor x = variable({3}, 9);
    std::int64_t live_in_rule = -1;
    Tensor loss = probed_graph(x, live_in_rule);
    const Tensor copy = loss;  // the same tensor, two handles
    std::move(loss).backward();
    CHECK(live_in_rule == baseline + 6);
    CHECK(copy.requires_grad());
    CHECK(copy.node()->released());
}

TEST_CASE("a temporary root keeps every node a tensor still holds, and what is below it") {
    const std::int64_t baseline = Node::live_count();
    Tensor x = variable({3}, 10);
    std::int64_t live_in_rule = -1;
    const Tensor hidden = exp(probe(x, live_in_rule));  // the user holds an intermediate
    const auto loss_of = [](const Tensor& h) { return sum(tanh(h * 2.0)); };
    loss_of(hidden).backward();
    CHECK(live_in_rule == baseline + 3);  // leaf, probe and exp: held through `hidden`
    CHECK(Node::live_count() == baseline + 3);
    CHECK(hidden.node()->released());
    // The kept subgraph still names its op when a new root reaches it.
    const std::string message = graph_error_message([&] { sum(hidden).backward(); });
    CHECK(message.find("'exp'") != std::string::npos);
}

TEST_CASE("a temporary root with retain_graph or create_graph frees nothing during the sweep") {
    const std::int64_t baseline = Node::live_count();
    Tensor x = variable({3}, 11);
    std::int64_t live_in_rule = -1;
    probed_graph(x, live_in_rule).backward(Tensor(), true);
    CHECK(live_in_rule == baseline + 6);
    std::int64_t live_named = -1;
    {
        const Tensor loss = probed_graph(x, live_named);
        loss.backward(Tensor(), false, true);  // records the backward pass: more nodes
    }
    x.set_grad(Tensor());  // the recorded gradient's graph goes with it
    probed_graph(x, live_in_rule).backward(Tensor(), false, true);
    CHECK(live_in_rule == live_named);
    CHECK(live_in_rule > baseline + 6);
    x.set_grad(Tensor());
    CHECK(Node::live_count() == baseline + 1);
}

TEST_CASE("the temporaries of the statement that calls backward keep their nodes") {
    // `sum(tanh(h)).backward()`: tanh's handle is a temporary too, alive to the end of the
    // statement, so only sum's node goes early. A function returning the loss frees it all.
    const std::int64_t baseline = Node::live_count();
    Tensor x = variable({3}, 13);
    std::int64_t live_in_rule = -1;
    sum(tanh(exp(probe(x, live_in_rule)) * 2.0)).backward();
    CHECK(live_in_rule == baseline + 5);  // all but sum's
    CHECK(Node::live_count() == baseline + 1);
}

TEST_CASE("a leaf moved into backward keeps its node and gets its gradient") {
    Tensor x = scalar_leaf(2.0);
    std::move(x).backward();
    CHECK(x.requires_grad());  // NOLINT(bugprone-use-after-move)
    CHECK(x.grad().item() == 1.0);
}

TEST_CASE("a rule that throws while a temporary root's graph is freed leaves nothing behind") {
    const std::int64_t baseline = Node::live_count();
    Tensor x = variable({3}, 12);
    const auto failing = [](const Tensor& v) {
        Tensor out(xt::xarray<double>(v.value<double>()));
        return record_op("failing", std::move(out), {v}, {}, [](const BackwardContext&) {
            throw graph_error("failing: this rule always throws");
            return std::vector<Tensor>{};
        });
    };
    CHECK_THROWS_AS(sum(tanh(failing(exp(x))) * 2.0).backward(), graph_error);
    CHECK(Node::live_count() == baseline + 1);  // the half-swept graph went with its entries
    CHECK_FALSE(x.grad().defined());
    sum(exp(x)).backward();  // and the engine works as before
    CHECK(x.grad().defined());
}

TEST_CASE("a rule that throws after the sweep let go of its consumers frees every waiting node") {
    // The function returns the loss, so only edges hold the nodes: when `failing` throws,
    // its consumers are gone and its inputs p and q wait, held by the sweep alone (q is also
    // below p, through tanh): both go with the sweep.
    const std::int64_t baseline = Node::live_count();
    Tensor x = variable({3}, 14);
    const auto loss_of = [](const Tensor& v) {
        const Tensor q = exp(v);
        const Tensor p = tanh(q) * 2.0;
        Tensor out(xt::xarray<double>(p.value<double>() + q.value<double>()));
        Tensor failed = record_op("failing", std::move(out), {p, q}, {}, [](const BackwardContext&) {
            throw graph_error("failing: this rule always throws");
            return std::vector<Tensor>{};
        });
        return sum(failed * 3.0);
    };
    CHECK_THROWS_AS(loss_of(x).backward(), graph_error);
    CHECK(Node::live_count() == baseline + 1);
    CHECK_FALSE(x.grad().defined());
    CHECK_THROWS_AS(loss_of(x).backward(Tensor(), true), graph_error);  // retained: the same
    CHECK(Node::live_count() == baseline + 1);  // ... and its graph goes with the handle
    sum(exp(x)).backward();
    CHECK(x.grad().defined());
}

TEST_CASE("a gradient that holds a node the sweep let go of keeps the nodes below it safe") {
    // A rule that turns grad mode on returns a gradient recorded on its own output, so the
    // gradient holds the node after its turn. a runs first (deeper than b); when a's gradient
    // goes, so does the node, and b, which it had reached, must not go with it.
    const std::int64_t baseline = Node::live_count();
    Tensor x = variable({3}, 15);
    const auto loss_of = [](const Tensor& v) {
        const Tensor a = exp(tanh(v)), b = exp(v);
        Tensor out(xt::xarray<double>(a.value<double>() + b.value<double>()));
        Tensor both = record_op("holds_itself", std::move(out), {a, b}, {out},
                                [](const BackwardContext& ctx) {
                                    GradModeGuard grad_mode(true);
                                    Tensor on_output = ctx.grad_out + ctx.saved(0) * 0.0;
                                    return std::vector<Tensor>{on_output, ctx.grad_out};
                                });
        return sum(both);
    };
    loss_of(x).backward();
    const xt::xarray<double> v = x.value<double>(), t = xt::tanh(v);
    const xt::xarray<double> expected = xt::exp(t) * (1.0 - t * t) + xt::exp(v);
    CHECK(xt::allclose(x.grad().value<double>(), expected, 1e-12, 1e-12));
    CHECK(Node::live_count() == baseline + 1);
}
