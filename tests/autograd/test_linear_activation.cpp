#include <doctest/doctest.h>

#include <vector>

#include "support/check.hpp"

// linear with a fused activation (linear(x, W, b, Nonlinearity)): the same values and
// gradients as the activation applied to linear, bit for bit, in one node instead of two.
// Its finite-difference checks are rows of test_ops.cpp's table.

using namespace xgrad;
using testing::variable;

namespace {

struct Case {
    Nonlinearity kind;
    const char* node;
    Tensor (*unfused)(const Tensor&);
};

const std::vector<Case> cases = {
    {Nonlinearity::relu, "linear_relu", [](const Tensor& y) { return relu(y); }},
    {Nonlinearity::tanh, "linear_tanh", [](const Tensor& y) { return tanh(y); }},
    {Nonlinearity::sigmoid, "linear_sigmoid", [](const Tensor& y) { return sigmoid(y); }},
};

std::vector<double> values(const Tensor& t) {
    const auto& array = t.value<double>();
    return {array.begin(), array.end()};
}

}  // namespace

TEST_CASE("a fused activation gives the values and gradients of the two ops, bit for bit") {
    for (const Case& c : cases) {
        for (const Shape& x_shape : {Shape{5, 3}, Shape{3}}) {
            INFO(c.node << " on x " << shape_str(x_shape));
            const Tensor x = variable(x_shape, 1), w = variable({4, 3}, 2), b = variable({4}, 3);
            const Tensor seed = variable(x_shape.size() == 2 ? Shape{5, 4} : Shape{4}, 4).detach();
            const Tensor fused = linear(x, w, b, c.kind);
            CHECK(fused.node()->name() == std::string(x_shape.size() == 2 ? c.node : "reshape"));
            sum(fused * seed).backward();
            const std::vector<double> fused_grads[] = {values(x.grad()), values(w.grad()), values(b.grad())};
            for (Tensor t : {x, w, b}) t.set_grad(Tensor());

            const Tensor unfused = c.unfused(linear(x, w, b));
            CHECK(values(fused) == values(unfused));
            sum(unfused * seed).backward();
            CHECK(fused_grads[0] == values(x.grad()));
            CHECK(fused_grads[1] == values(w.grad()));
            CHECK(fused_grads[2] == values(b.grad()));
        }
    }
}

TEST_CASE("a fused activation records one node; an input that needs no gradient gets none") {
    const Tensor x = variable({2, 3}, 5).detach(), w = variable({4, 3}, 6), b = variable({4}, 7);
    const std::int64_t before = Node::live_count();
    {
        const Tensor y = linear(x, w, b, Nonlinearity::sigmoid);
        CHECK(Node::live_count() - before == 1);  // the leaves had theirs already
        CHECK(y.node()->inputs()[0] == nullptr);
        sum(y).backward();
    }
    CHECK(!x.requires_grad());
    CHECK(w.grad().shape() == Shape{4, 3});
    CHECK(b.grad().shape() == Shape{4});
    CHECK(linear(x, w.detach(), b.detach(), Nonlinearity::tanh).node() == nullptr);  // nothing to record
}

TEST_CASE("a fused activation differentiates twice (create_graph)") {
    for (const Case& c : {cases[1], cases[2]}) {
        INFO(c.node);
        const Tensor x = variable({2, 3}, 8), w = variable({4, 3}, 9), b = variable({4}, 10);
        const Tensor gx = grad({sum(linear(x, w, b, c.kind))}, {x}, {}, false, true)[0];
        const Tensor gx_unfused = grad({sum(c.unfused(linear(x, w, b)))}, {x}, {}, false, true)[0];
        CHECK(values(gx) == values(gx_unfused));
        const Tensor hw = grad({sum(gx * gx)}, {w})[0];
        const Tensor hw_unfused = grad({sum(gx_unfused * gx_unfused)}, {w})[0];
        CHECK(values(hw) == values(hw_unfused));
    }
}

TEST_CASE("under anomaly mode a NaN before the activation is caught at linear") {
    const Tensor x = variable({2, 3}, 16), b = variable({4}, 17);
    Tensor w = variable({4, 3}, 18);
    w.mutable_value<double>()(0, 0) = std::nan("");
    const AnomalyGuard anomaly;
    CHECK_THROWS_AS(linear(x, w, b, Nonlinearity::relu), anomaly_error);  // relu(NaN) would read 0
}

TEST_CASE("a fused activation rejects what linear rejects, naming itself and the shapes") {
    const Tensor x = variable({2, 3}, 11), w = variable({4, 2}, 12), b = variable({4}, 13);
    CHECK_THROWS_WITH_AS(linear(x, w, b, Nonlinearity::relu),
                         "linear_relu: input (2, 3), weight (4, 2) and bias (4,) do not fit (N, in) or "
                         "(in,), (out, in), (out,)",
                         shape_error);
    CHECK_THROWS_AS(linear(x, variable({4, 3}, 14).to(Dtype::float32), b, Nonlinearity::tanh), dtype_error);
    CHECK_THROWS_AS(linear(Tensor(), w, b, Nonlinearity::sigmoid), value_error);
    const Tensor fine = linear(x, variable({4, 3}, 15), b, Nonlinearity::sigmoid);  // x still usable
    CHECK(fine.shape() == Shape{2, 4});
}

TEST_CASE("activate applies the activation it is given, identity as the tensor itself") {
    for (const Case& c : cases) {
        INFO(c.node);
        const Tensor y = variable({2, 3}, 8);
        const Tensor activated = activate(Tensor(y), c.kind);  // a second handle: not written over
        CHECK(values(activated) == values(c.unfused(y)));
        CHECK(activated.node()->name() == std::string(c.node + 7));  // "linear_relu" -> "relu"
        CHECK(values(y) == values(variable({2, 3}, 8)));
    }
    const Tensor y = variable({2}, 9);
    CHECK(activate(Tensor(y), Nonlinearity::identity).is_same(y));
    CHECK_THROWS_WITH_AS(activate(Tensor(y), static_cast<Nonlinearity>(7)),
                         "activate: unknown activation 7", value_error);
}

TEST_CASE("linear keeps W only when x requires grad, and x only when W does") {
    Tensor w = variable({4, 3}, 5);
    const Tensor b = variable({4}, 6);
    const Tensor data = variable({5, 3}, 7).detach();  // an input batch: no gradient
    for (const Case& c : cases) {
        INFO(c.node);
        // The first layer of a network: its node holds no handle on W, and W still gets its gradient.
        Tensor y = linear(data, w, b, c.kind);
        CHECK(w.storage().use_count() == 1);
        CHECK(data.storage().use_count() == 2);
        w.set_grad(Tensor());
        sum(y).backward();
        CHECK(data.storage().use_count() == 1);  // freed by the backward
        Tensor w2 = w.clone().set_requires_grad();
        sum(c.unfused(linear(data, w2, b.detach()))).backward();
        CHECK(values(w.grad()) == values(w2.grad()));

        // A frozen layer under an input that needs its gradient: x is not kept, W is.
        const Tensor x = variable({5, 3}, 8);
        const Tensor frozen = w.detach();
        y = linear(x, frozen, b.detach(), c.kind);
        CHECK(x.storage().use_count() == 1);
        CHECK(frozen.storage().use_count() == 3);  // w, frozen, the node's saved W
        sum(y).backward();
        Tensor x2 = x.clone().set_requires_grad();
        sum(c.unfused(linear(x2, frozen, b.detach()))).backward();
        CHECK(values(x.grad()) == values(x2.grad()));
    }
    // Without an activation, likewise.
    const Tensor y = linear(data, w, b);
    CHECK(w.storage().use_count() == 1);
    CHECK(data.storage().use_count() == 2);
}
