// The broadcast fast paths (Note [Broadcast fast paths]) give exactly xtensor's general
// broadcast, for every operand arrangement they take and a few they must not take.

#include "support/check.hpp"

#include <xtensor/xmath.hpp>

#include <autograd/broadcast.hpp>

using namespace xgrad;
using xgrad::testing::check_gradients;
using xgrad::testing::variable;

namespace {

const std::vector<std::pair<Shape, Shape>> arrangements = {
    {{3, 4, 5}, {4, 5}},  // trailing block (bias rows)
    {{4, 5}, {3, 4, 5}},  // trailing block on the left
    {{6, 5}, {5}},        // bias row
    {{6, 5}, {}},         // zero-dimensional scalar
    {{}, {6, 5}},
    {{1, 1}, {3}},        // one element whose rank raises the result's: general path
    {{6, 5}, {1, 5}},     // leading extent 1: general path
    {{6, 1}, {1, 5}},     // outer broadcast: general path
    {{2, 3}, {2, 3}},     // same shape
};

}  // namespace

TEST_CASE("binary operations on broadcast operands equal xtensor's general broadcast") {
    std::uint64_t seed = 0;
    for (const auto& arrangement : arrangements) {
        // Not a structured binding: clang 14 cannot capture one in INFO's lambda.
        const Shape& shape_a = arrangement.first;
        const Shape& shape_b = arrangement.second;
        const Tensor a = variable(shape_a, ++seed, 2.0).detach();
        const Tensor b = variable(shape_b, ++seed, 3.0).detach();
        const auto& x = a.value<double>();
        const auto& y = b.value<double>();
        INFO(shape_str(shape_a) << " with " << shape_str(shape_b));
        CHECK(add(a, b).value<double>() == xt::xarray<double>(x + y));
        CHECK(mul(a, b).value<double>() == xt::xarray<double>(x * y));
        CHECK(div(a, b).value<double>() == xt::xarray<double>(x / y));
        CHECK(pow(abs(a), b).value<double>() == xt::xarray<double>(xt::pow(xt::abs(x), y)));
        CHECK(maximum(a, b).value<double>() == xt::xarray<double>(xt::where(x >= y, x, y)));
    }
}

TEST_CASE("where with scalar or full branches equals xt::where") {
    const Tensor a = variable({4, 3}, 1).detach(), zero = scalar(0.0, Dtype::float64);
    const auto& x = a.value<double>();
    const xt::xarray<bool> mask = x > 0.0;
    CHECK(xgrad::where(mask, a, zero).value<double>() == xt::xarray<double>(xt::where(mask, x, 0.0)));
    CHECK(xgrad::where(mask, zero, a).value<double>() == xt::xarray<double>(xt::where(mask, 0.0, x)));
    CHECK(xgrad::where(mask, a, -a).value<double>() == xt::xarray<double>(xt::where(mask, x, -x)));
    const Tensor row = variable({3}, 2).detach();  // a broadcast branch: the general path
    CHECK(xgrad::where(mask, a, row).value<double>() ==
          xt::xarray<double>(xt::where(mask, x, row.value<double>())));
}

TEST_CASE("relu keeps the positive part and its gradient passes where the output is positive") {
    const Tensor x = Tensor({-1.5, 0.0, 2.0, 3.5}, Dtype::float64).set_requires_grad();
    const Tensor y = relu(x);
    CHECK(y.value<double>() == xt::xarray<double>({0.0, 0.0, 2.0, 3.5}));
    sum(y * Tensor({1.0, 2.0, 3.0, 4.0}, Dtype::float64)).backward();
    CHECK(x.grad().value<double>() == xt::xarray<double>({0.0, 0.0, 3.0, 4.0}));
}

// Operand reuse (combine_in_place, map_elements_reusing): an elementwise op given an operand
// the caller gave up writes its result over that operand's array when nothing else sees it.
namespace {
/// A temporary nothing else sees: x * 2.
Tensor temporary_of(const Tensor& x) { return x * 2.0; }
}  // namespace

TEST_CASE("add, sub and unary ops on a temporary write over it and equal the const versions") {
    std::uint64_t seed = 100;
    for (const auto& arrangement : arrangements) {
        const Shape& shape_a = arrangement.first;
        const Shape& shape_b = arrangement.second;
        const Tensor a = variable(shape_a, ++seed, 2.0).detach();
        const Tensor b = variable(shape_b, ++seed, 3.0).detach();
        INFO(shape_str(shape_a) << " with " << shape_str(shape_b));
        const Shape result = broadcast_shapes("test", shape_a, shape_b);
        for (int op = 0; op < 2; ++op) {
            const Tensor expected = op == 0 ? add(a, b) : sub(a, b);
            Tensor left = temporary_of(a), right = temporary_of(b);
            const Storage* left_storage = left.storage().get();
            const Storage* right_storage = right.storage().get();
            const Tensor both = op == 0 ? add(std::move(left), std::move(right)) : sub(std::move(left), std::move(right));
            CHECK(both.value<double>() == xt::xarray<double>(2.0 * expected.value<double>()));
            // written over an operand of the result's shape, if the other repeats into it
            // (same shape, one element, or a trailing block: the fast paths)
            const auto fits = [](const Tensor& other, const Shape& into) {
                const Shape& o = other.shape();
                const bool trailing = !o.empty() && o.size() <= into.size() &&
                                      std::equal(o.begin(), o.end(), into.end() - o.size());
                return o == into || (other.size() == 1 && o.size() <= into.size()) || trailing;
            };
            const bool reusable = (shape_a == result && fits(b, shape_a)) || (shape_b == result && fits(a, shape_b));
            CHECK(reusable == (both.storage().get() == left_storage || both.storage().get() == right_storage));
            const Tensor by_operator = op == 0 ? temporary_of(a) + b : temporary_of(a) - b;
            const auto& x = a.value<double>();
            const auto& y = b.value<double>();
            const xt::xarray<double> by_hand = op == 0 ? xt::xarray<double>(2.0 * x + y) : xt::xarray<double>(2.0 * x - y);
            CHECK(by_operator.value<double>() == by_hand);
        }
    }
    const Tensor x = variable({3, 2}, ++seed).detach();
    const auto& v = x.value<double>();
    CHECK(tanh(temporary_of(x)).value<double>() == xt::xarray<double>(xt::tanh(2.0 * v)));
    CHECK(exp(temporary_of(x)).value<double>() == xt::xarray<double>(xt::exp(2.0 * v)));
    CHECK(sqrt(abs(x) * 2.0).value<double>() == xt::xarray<double>(xt::sqrt(2.0 * xt::abs(v))));
    CHECK(neg(temporary_of(x)).value<double>() == xt::xarray<double>(-2.0 * v));
    CHECK((-temporary_of(x)).value<double>() == xt::xarray<double>(-2.0 * v));
    CHECK(relu(temporary_of(x)).value<double>() == xt::xarray<double>(xt::maximum(2.0 * v, 0.0)));
    CHECK(sigmoid(temporary_of(x)).value<double>() ==
          xt::xarray<double>(1.0 / (1.0 + xt::exp(-2.0 * v))));
}

TEST_CASE("an operand given up is not written over while anything else sees it") {
    const Tensor x = variable({4}, 7).detach();
    const auto doubled = xt::xarray<double>(2.0 * x.value<double>());
    SUBCASE("another handle") {
        Tensor t = temporary_of(x);
        const Tensor other = t;
        const Tensor y = tanh(std::move(t));
        CHECK(other.value<double>() == doubled);
        CHECK(y.storage() != other.storage());
    }
    SUBCASE("a detached alias") {
        Tensor t = temporary_of(x);
        const Tensor alias = t.detach();
        const Tensor y = std::move(t) + x;
        CHECK(alias.value<double>() == doubled);
    }
    SUBCASE("a value saved by a node") {
        const xt::xarray<double> wv{1.0, 2.0, 3.0, 4.0};
        Tensor w = Tensor(wv).set_requires_grad();
        Tensor u = exp(x * w);          // written over the temporary x * w
        const Tensor s = u * w;         // mul saves u
        const Tensor t = tanh(std::move(u));  // u's storage is saved: a new array
        sum(s + t).backward();
        const xt::xarray<double> xw = x.value<double>() * wv, e = xt::exp(xw), th = xt::tanh(e);
        // d/dw [exp(xw) w + tanh(exp(xw))] = exp(xw) (xw + 1) + (1 - tanh²(exp(xw))) exp(xw) x
        CHECK(xt::allclose(w.grad().value<double>(), e * (xw + 1.0) + (1.0 - th * th) * e * x.value<double>()));
    }
    SUBCASE("a leaf that requires grad") {
        Tensor leaf = Tensor(xt::xarray<double>{0.5, -0.5}).set_requires_grad();
        const Tensor y = tanh(std::move(leaf));  // a leaf's node points at it: left unchanged
        REQUIRE(leaf.defined());  // NOLINT(bugprone-use-after-move): unchanged is the contract
        CHECK(leaf.value<double>() == xt::xarray<double>{0.5, -0.5});
        sum(y).backward();
        const double t = std::tanh(0.5);
        CHECK(xt::allclose(leaf.grad().value<double>(), xt::xarray<double>{1.0 - t * t, 1.0 - t * t}));
    }
    SUBCASE("the other operand itself") {
        Tensor t = temporary_of(x);
        const Tensor& view = t;
        const Tensor y = std::move(t) + view;  // a + a: both operands are t
        CHECK(xt::allclose(y.value<double>(), 2.0 * doubled));
    }
}

TEST_CASE("gradients through ops that wrote over their operands equal the const versions'") {
    const Tensor x = variable({3}, 11, 0.5);
    const Tensor w = variable({3}, 12);
    const Tensor b = variable({}, 13);
    // every op after the first receives a temporary; gradcheck perturbs x, w, b
    check_gradients([](const std::vector<Tensor>& in) {
        return sum(sigmoid(relu(tanh(in[0] * in[1] + in[2]) - in[2]) + 1.0) - exp(-(in[0] * in[1])));
    }, {x, w, b});
    const std::vector<Tensor> reused = grad({sum(tanh(x * w + b))}, {x, w, b});
    const Tensor product = x * w, affine = product + b;  // named: no reuse
    const std::vector<Tensor> plain = grad({sum(tanh(affine))}, {x, w, b});
    for (std::size_t i = 0; i < 3; ++i) CHECK(reused[i].value<double>() == plain[i].value<double>());
}

namespace {
// What a probe's rule saw: the storage of the gradient it received, and whether grad_out was
// still defined after take_grad_out().
struct Seen {
    std::vector<const Storage*> storages;
    std::vector<bool> defined_after_take;
};

// identity, whose rule hands its gradient on with take_grad_out()
Tensor probe(const Tensor& x, Seen& seen) {
    return record_op("probe", x.clone(), {x}, {}, [&seen](const BackwardContext& ctx) {
        seen.storages.push_back(ctx.grad_out.storage().get());
        Tensor grad = ctx.take_grad_out();
        seen.defined_after_take.push_back(ctx.grad_out.defined());
        return Grads{std::move(grad)};
    });
}
}  // namespace

TEST_CASE("a rule that wrote over grad_out hands on that array, moved out of the engine's hands") {
    const Tensor x = variable({2, 3}, 11);
    Seen seen;
    sum(probe(tanh(probe(x, seen)), seen)).backward();
    REQUIRE(seen.storages.size() == 2);
    CHECK(seen.storages[0] == seen.storages[1]);  // tanh's rule wrote δ over the gradient it got
    CHECK(seen.defined_after_take == std::vector<bool>{false, false});
    const Tensor expected = 1.0 - tanh(x.detach()) * tanh(x.detach());
    CHECK(xt::allclose(x.grad().value<double>(), expected.value<double>()));
}

TEST_CASE("under anomaly mode take_grad_out copies, and no rule writes over grad_out") {
    const Tensor x = variable({2, 3}, 12);
    Seen seen;
    {
        AnomalyGuard anomaly;
        sum(probe(tanh(probe(x, seen)), seen)).backward();
    }
    REQUIRE(seen.storages.size() == 2);
    CHECK(seen.storages[0] != seen.storages[1]);
    CHECK(seen.defined_after_take == std::vector<bool>{true, true});
}
