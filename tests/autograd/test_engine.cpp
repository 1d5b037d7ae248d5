// The backward engine: seeding, accumulation, retain_graph, grad mode, detach, functional
// grad, broadcast reduction and custom ops through record_op.

#include <string>
#include <doctest/doctest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "support/check.hpp"

using namespace xgrad;
using xgrad::testing::at;

namespace {

Tensor leaf(xt::xarray<double> values) { return Tensor(std::move(values)).set_requires_grad(); }

/// `values` as an (n, 1) column ({{1.0}, {2.0}} is ambiguous for xarray).
xt::xarray<double> column(xt::xarray<double> values) {
    values.reshape({values.size(), 1});
    return values;
}

/// Checks every element of `t` against `expected` (same shape, float64 or float32).
void check_values(const Tensor& t, const xt::xarray<double>& expected) {
    REQUIRE(t.defined());
    REQUIRE(t.shape() == Shape(expected.shape().begin(), expected.shape().end()));
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CHECK(at(t, i) == doctest::Approx(expected.data()[i]));
    }
}

/// A user op written through record_op: cube(x) = x^3, grad_x = grad_out * 3 x^2.
Tensor cube(const Tensor& x) {
    Tensor out(xt::xarray<double>(xt::pow(x.value<double>(), 3)));
    return record_op("cube", out, {x}, {x}, [](const BackwardContext& ctx) {
        const Tensor base = ctx.saved(0);
        return std::vector<Tensor>{ctx.grad_out * 3.0 * base * base};
    });
}

/// A two-input user op, axpy(a, x, y) = a*x + y, that skips gradients nobody needs.
Tensor axpy(double a, const Tensor& x, const Tensor& y) {
    Tensor out(xt::xarray<double>(a * x.value<double>() + y.value<double>()));
    return record_op("axpy", out, {x, y}, {}, [a](const BackwardContext& ctx) {
        return std::vector<Tensor>{ctx.needs_grad(0) ? ctx.grad_out * a : Tensor(),
                                   ctx.needs_grad(1) ? ctx.grad_out : Tensor()};
    });
}

}  // namespace

TEST_CASE("backward seeds 1 for a one-element output") {
    Tensor x = leaf(xt::xarray<double>(3.0));
    (x * x).backward();
    CHECK(x.grad().item() == doctest::Approx(6.0));

    Tensor one = leaf(column({2.0}));  // shape (1, 1) is one element too
    (one * one * one).backward();
    check_values(one.grad(), column({12.0}));

    Tensor s = leaf(xt::xarray<double>(5.0));  // a leaf as its own root
    s.backward();
    CHECK(s.grad().item() == doctest::Approx(1.0));
}

TEST_CASE("backward of a non-scalar takes an explicit gradient") {
    Tensor x = leaf({1.0, 2.0, 3.0});
    Tensor y = x * x;
    y.backward(Tensor({1.0, 10.0, 100.0}, Dtype::float64));
    check_values(x.grad(), {2.0, 40.0, 600.0});  // grad_y * 2x
}

TEST_CASE("a value used twice receives both contributions") {
    Tensor x = leaf({1.0, 2.0, -3.0});
    sum(x * x + x).backward();
    check_values(x.grad(), {3.0, 5.0, -5.0});  // 2x + 1

    Tensor z = leaf({0.5, -2.0});
    Tensor shared = tanh(z);  // a non-leaf with three consumers
    sum(shared * shared + 2.0 * shared).backward();
    const xt::xarray<double> t = xt::tanh(z.value<double>());
    check_values(z.grad(), (2.0 * t + 2.0) * (1.0 - t * t));
}

TEST_CASE("leaf gradients accumulate until zero_grad") {
    Tensor x = leaf({1.0, -2.0});
    CHECK_FALSE(x.grad().defined());
    sum(x * x).backward();
    sum(x * x).backward();
    check_values(x.grad(), {4.0, -8.0});

    x.zero_grad();
    check_values(x.grad(), {0.0, 0.0});
    sum(3.0 * x).backward();
    check_values(x.grad(), {3.0, 3.0});

    x.set_grad(Tensor());
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("leaf gradients own their storage") {
    Tensor a = leaf({1.0, 2.0});
    Tensor b = leaf({3.0, 4.0});
    sum(a + b).backward();  // add hands one gradient tensor to both inputs
    CHECK(a.grad().storage() != b.grad().storage());
    a.zero_grad();
    check_values(b.grad(), {1.0, 1.0});

    Tensor seed({10.0, 20.0}, Dtype::float64);
    (a + 0.0).backward(seed);
    seed.mutable_value<double>().fill(0.0);
    check_values(a.grad(), {10.0, 20.0});  // not an alias of the caller's gradient
}

TEST_CASE("retain_graph allows a second backward, which accumulates") {
    Tensor x = leaf({1.0, 2.0});
    Tensor y = sum(exp(x) * x);
    y.backward(Tensor(), true);
    CHECK_FALSE(y.node()->released());
    y.backward();
    CHECK(y.node()->released());
    const xt::xarray<double> e = xt::exp(x.value<double>());
    check_values(x.grad(), 2.0 * (e + e * x.value<double>()));  // twice (x + 1) e^x
}

TEST_CASE("NoGradGuard records nothing") {
    Tensor x = leaf({1.0, 2.0});
    const std::int64_t before = Node::live_count();
    {
        NoGradGuard no_grad;
        CHECK_FALSE(grad_enabled());
        Tensor y = tanh(x * x) + 1.0;
        CHECK_FALSE(y.requires_grad());
        CHECK(y.is_leaf());
        CHECK(Node::live_count() == before);
        CHECK_THROWS_AS(sum(y).backward(), graph_error);
    }
    CHECK(grad_enabled());
    Tensor z = x * x;
    CHECK(z.requires_grad());
    CHECK(Node::live_count() == before + 1);
}

TEST_CASE("grad mode guards nest and restore on scope exit") {
    Tensor x = leaf({1.0});
    CHECK(grad_enabled());
    {
        NoGradGuard outer;
        {
            NoGradGuard inner;
            CHECK_FALSE(grad_enabled());
        }
        CHECK_FALSE(grad_enabled());
        {
            GradModeGuard enable(true);
            CHECK(grad_enabled());
            CHECK((x * 2.0).requires_grad());
        }
        CHECK_FALSE(grad_enabled());
        CHECK_FALSE((x * 2.0).requires_grad());
    }
    CHECK(grad_enabled());

    try {  // a guard also restores the mode when an exception leaves its scope
        NoGradGuard no_grad;
        throw value_error("leaving the scope");
    } catch (const value_error&) {
    }
    CHECK(grad_enabled());
}

TEST_CASE("grad mode is per thread") {
    NoGradGuard no_grad;
    bool enabled_elsewhere = false;
    std::thread([&] { enabled_elsewhere = grad_enabled(); }).join();
    CHECK(enabled_elsewhere);
    CHECK_FALSE(grad_enabled());
}

TEST_CASE("detach cuts the graph but shares the values") {
    Tensor x = leaf({2.0, 3.0});
    Tensor y = x * x;
    Tensor d = y.detach();
    CHECK_FALSE(d.requires_grad());
    CHECK(d.storage() == y.storage());

    sum(d * x).backward();  // d is a constant: the gradient is d = x^2, not 3x^2
    check_values(x.grad(), {4.0, 9.0});
}

TEST_CASE("functional grad returns gradients without touching .grad") {
    Tensor x = leaf({1.0, 2.0});
    Tensor y = leaf({3.0, -4.0});
    const std::vector<Tensor> g = grad({sum(x * y)}, {x, y});
    REQUIRE(g.size() == 2);
    check_values(g[0], {3.0, -4.0});
    check_values(g[1], {1.0, 2.0});
    CHECK_FALSE(g[0].requires_grad());  // recorded only with create_graph
    CHECK_FALSE(x.grad().defined());
    CHECK_FALSE(y.grad().defined());
}

TEST_CASE("functional grad with respect to a non-leaf") {
    Tensor x = leaf({1.0, 2.0});
    Tensor h = x * x;
    Tensor f = sum(3.0 * h * h);
    const std::vector<Tensor> g = grad({f}, {h, x});
    check_values(g[0], {6.0, 24.0});    // 6h
    check_values(g[1], {12.0, 96.0});   // 12 x^3
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("functional grad with explicit grad_outputs and several outputs") {
    Tensor x = leaf({1.0, 2.0});
    Tensor a = x * x;
    Tensor b = sum(x);
    const std::vector<Tensor> g =
        grad({a, b}, {x}, {Tensor({1.0, -1.0}, Dtype::float64), scalar(10.0, Dtype::float64)});
    check_values(g[0], {12.0, 6.0});  // 2x * (1, -1) + 10
}

TEST_CASE("functional grad with a root that feeds another root") {
    Tensor x = leaf({1.0, 2.0});
    Tensor a = x * x;
    Tensor b = sum(a);
    const std::vector<Tensor> g =
        grad({a, b}, {x}, {Tensor({3.0, -1.0}, Dtype::float64), scalar(1.0, Dtype::float64)});
    check_values(g[0], {8.0, 0.0});  // 2x * (grad_a + grad_b)
}

TEST_CASE("functional grad of a root that is an input, and of a repeated input") {
    Tensor x = leaf({1.0, 2.0});
    const std::vector<Tensor> g = grad({x}, {x, x}, {Tensor({4.0, 5.0}, Dtype::float64)});
    check_values(g[0], {4.0, 5.0});
    check_values(g[1], {4.0, 5.0});
}

TEST_CASE("functional grad of an unused input") {
    Tensor x = leaf({1.0, 2.0});
    Tensor unused = leaf({5.0});
    Tensor f = sum(x * x);
    const std::vector<Tensor> g = grad({f}, {x, unused}, {}, true, false, true);
    check_values(g[0], {2.0, 4.0});
    CHECK_FALSE(g[1].defined());
    CHECK_THROWS_AS(grad({f}, {x, unused}), graph_error);
}

TEST_CASE("broadcast gradients are summed back to each input's shape") {
    Tensor a = leaf(column({1.0, 2.0, 3.0}));  // (3, 1)
    Tensor b = leaf({10.0, 20.0, 30.0, 40.0});  // (4,)
    Tensor c = a + b;
    REQUIRE(c.shape() == Shape{3, 4});
    xt::xarray<double> g = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};
    c.backward(Tensor(g));
    check_values(a.grad(), column({10.0, 26.0, 42.0}));  // row sums
    check_values(b.grad(), {15.0, 18.0, 21.0, 24.0});  // column sums

    a.set_grad(Tensor());
    b.set_grad(Tensor());
    sum(a * b).backward();
    check_values(a.grad(), column({100.0, 100.0, 100.0}));  // sum of b
    check_values(b.grad(), {6.0, 6.0, 6.0, 6.0});  // sum of a
}

TEST_CASE("broadcasting against a scalar leaf") {
    Tensor s = leaf(xt::xarray<double>(2.0));
    Tensor x = leaf({{1.0, 2.0}, {3.0, 4.0}});
    sum(s * x).backward();
    CHECK(s.grad().shape() == Shape{});
    CHECK(s.grad().item() == doctest::Approx(10.0));
    check_values(x.grad(), {{2.0, 2.0}, {2.0, 2.0}});
}

TEST_CASE("a custom op named by a runtime string keeps its own copy of the name") {
    Tensor x = leaf({1.0, 2.0});
    Tensor y;
    {
        std::string name = "scale_by_";
        name += std::to_string(3);
        y = record_op(name, Tensor(xt::xarray<double>(3.0 * x.value<double>())), {x}, {},
                      [](const BackwardContext& ctx) { return Grads{ctx.grad_out * 3.0}; });
        name.assign(name.size(), '#');  // the caller's string changes and then dies
    }
    CHECK(std::string(y.node()->name()) == "scale_by_3");
    sum(y).backward();
    check_values(x.grad(), {3.0, 3.0});
}

TEST_CASE("record_op moves a result given as an rvalue only after reading the saved list") {
    // exp's own pattern, saving the output it is handed by move, under each overload.
    const auto rule = [](const BackwardContext& ctx) { return Grads{ctx.grad_out * ctx.saved(0)}; };
    const std::string runtime_name = "my_exp";
    const char* pointer_name = "my_exp";
    for (int form = 0; form < 4; ++form) {
        Tensor x = leaf({0.5, -1.0});
        Tensor out(xt::xarray<double>(xt::exp(x.value<double>())));
        Tensor y;
        if (form == 0) y = record_op("my_exp", std::move(out), {x}, {out}, rule);
        if (form == 1) y = record_op(runtime_name, std::move(out), {x}, {out}, rule);
        if (form == 2) y = record_op(pointer_name, std::move(out), {x}, {out}, rule);
        if (form == 3) y = record_op(runtime_name, std::move(out), std::vector<Tensor>{x}, std::vector<Tensor>{out}, rule);
        CAPTURE(form);
        REQUIRE(y.requires_grad());
        sum(y).backward();
        check_values(x.grad(), {std::exp(0.5), std::exp(-1.0)});
    }
}

TEST_CASE("a custom op through record_op") {
    Tensor x = leaf({1.0, -2.0, 0.5});
    Tensor y = cube(x);
    CHECK(y.requires_grad());
    CHECK(std::string(y.node()->name()) == "cube");
    sum(y).backward();
    check_values(x.grad(), {3.0, 12.0, 0.75});

    Tensor plain({1.0, 2.0, 3.0}, Dtype::float64);
    CHECK_FALSE(cube(plain).requires_grad());  // nothing to differentiate: no node
}

TEST_CASE("a custom op with an input that needs no gradient") {
    Tensor x = leaf({1.0, 2.0});
    Tensor y({5.0, 6.0}, Dtype::float64);
    Tensor out = axpy(3.0, x, y);
    CHECK(out.node()->inputs()[1] == nullptr);
    sum(out * out).backward();
    check_values(x.grad(), {48.0, 72.0});  // 2 (3x + y) * 3
}

// An op that writes its result into an operand it was handed by move (Note [Sole owner])
// records that operand's old node as its input, held by the edge alone.
TEST_CASE("an op that writes into its operand keeps the operand's node as its input") {
    Tensor x = leaf({0.5, -1.0});
    Tensor scaled = x * 3.0;
    const Node* mul_node = scaled.node().get();
    Tensor y = tanh(std::move(scaled));  // scaled's array is overwritten in place
    REQUIRE(y.node()->inputs().size() == 1);
    CHECK(y.node()->inputs()[0].get() == mul_node);
    CHECK(y.node()->inputs()[0].use_count() == 1);  // the edge is its only owner
    sum(y).backward();
    check_values(x.grad(), {3.0 * (1.0 - std::pow(std::tanh(1.5), 2)),
                            3.0 * (1.0 - std::pow(std::tanh(-3.0), 2))});
}

TEST_CASE("a custom op that writes into an operand it lists twice keeps both edges") {
    // t ← t * t in place, recorded with t as both inputs: d/dx (3x)² = 18 x.
    Tensor x = leaf({0.5, -1.0});
    Tensor t = x * 3.0;
    const Node* mul_node = t.node().get();
    const xt::xarray<double> before = t.value<double>();
    t.mutable_value<double>() *= before;
    Tensor y = record_op("square_in_place", std::move(t), {t, t}, {}, [before](const BackwardContext& ctx) {
        const Tensor base(before);
        return Grads{ctx.grad_out * base, ctx.grad_out * base};
    });
    REQUIRE(y.node()->inputs().size() == 2);
    CHECK(y.node()->inputs()[0].get() == mul_node);
    CHECK(y.node()->inputs()[1].get() == mul_node);
    CHECK(y.node()->inputs()[0].use_count() == 2);  // the two edges
    check_values(y, {2.25, 9.0});
    sum(y).backward();
    check_values(x.grad(), {9.0, -18.0});
}

// Note [Sole owner]: a backward rule may write its input gradient over grad_out, and the
// engine may sum into a pending gradient in place, only when nothing else can see that array.
TEST_CASE("a gradient the caller passed to backward is never overwritten") {
    Tensor x = leaf({0.5, -1.0});
    const Tensor seed({2.0, 3.0}, Dtype::float64);
    tanh(exp(x) * x).backward(seed);  // tanh's and mul's rules write over grad_out when it is sole
    check_values(seed, {2.0, 3.0});
    const xt::xarray<double> v = xt::xarray<double>{0.5, -1.0};
    const xt::xarray<double> u = xt::exp(v) * v, t = xt::tanh(u);
    check_values(x.grad(), xt::xarray<double>(xt::xarray<double>{2.0, 3.0} * (1.0 - t * t) * xt::exp(v) * (1.0 + v)));
}

TEST_CASE("a gradient captured by functional grad is not overwritten by the rules after it") {
    Tensor x = leaf({0.25, 2.0});
    Tensor inner = tanh(x);
    Tensor outer = sigmoid(inner);
    const std::vector<Tensor> g = grad({sum(outer)}, {inner, x});
    const xt::xarray<double> t = xt::tanh(xt::xarray<double>{0.25, 2.0});
    const xt::xarray<double> s = 1.0 / (1.0 + xt::exp(-t));
    const xt::xarray<double> d_inner = s * (1.0 - s);
    check_values(g[0], d_inner);  // tanh's rule ran after it was captured
    check_values(g[1], xt::xarray<double>(d_inner * (1.0 - t * t)));
}

TEST_CASE("a gradient handed to two inputs is not overwritten by either") {
    Tensor x = leaf({1.5});
    Tensor y = leaf({-0.5});
    // add hands one gradient to both branches; each branch's rule must compute its own
    (exp(x) + tanh(y)).backward(Tensor({4.0}, Dtype::float64));
    check_values(x.grad(), {4.0 * std::exp(1.5)});
    check_values(y.grad(), {4.0 * (1.0 - std::tanh(-0.5) * std::tanh(-0.5))});
}

TEST_CASE("a user's handle on an intermediate keeps its values through backward") {
    Tensor x = leaf({0.3, 0.7});
    Tensor w = leaf({2.0, -1.0});
    Tensor product = x * w;
    const Tensor kept = product.detach();  // an alias of product's storage
    tanh(product).backward(Tensor({1.0, 1.0}, Dtype::float64));
    check_values(kept, {0.6, -0.7});
    check_values(x.grad(), {2.0 * (1.0 - std::tanh(0.6) * std::tanh(0.6)),
                            -1.0 * (1.0 - std::tanh(-0.7) * std::tanh(-0.7))});
}

TEST_CASE("Grads{...} moves a temporary gradient in and copies a named one") {
    Tensor named = ones({2});
    Tensor temporary = zeros({3});
    const Storage* temporary_storage = temporary.storage().get();
    const Grads grads{named, std::move(temporary), Tensor()};
    REQUIRE(grads.size() == 3);
    CHECK(grads[0].is_same(named));
    CHECK(named.storage().use_count() == 1);  // one TensorImpl, two handles on it
    CHECK_FALSE(temporary.defined());         // moved from, not copied
    CHECK(grads[1].storage().get() == temporary_storage);
    CHECK_FALSE(grads[2].defined());
    CHECK(Grads(2).size() == 2);
}
