// Higher-order derivatives through create_graph: closed forms for scalar functions, mixed
// partials, and a Hessian-vector product of a small network against finite differences.

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "support/check.hpp"

using namespace xgrad;
using xgrad::testing::at;
using xgrad::testing::variable;

namespace {

using ScalarFunction = std::function<Tensor(const Tensor&)>;

Tensor scalar_leaf(double value) { return scalar(value, Dtype::float64).set_requires_grad(); }

/// d^n f / dx^n at x0, by differentiating the recorded gradient n times.
double derivative(const ScalarFunction& f, double x0, int n) {
    Tensor x = scalar_leaf(x0);
    Tensor y = f(x);
    for (int i = 0; i < n; ++i) y = grad({y}, {x}, {}, false, true)[0];
    return y.item();
}

}  // namespace

TEST_CASE("second and third derivatives of x^3 and x^4") {
    const auto cubic = [](const Tensor& x) { return x * x * x; };
    CHECK(derivative(cubic, 1.5, 1) == doctest::Approx(3 * 1.5 * 1.5));
    CHECK(derivative(cubic, 1.5, 2) == doctest::Approx(6 * 1.5));
    CHECK(derivative(cubic, 1.5, 3) == doctest::Approx(6.0));

    const auto quartic = [](const Tensor& x) { return pow(x, 4.0); };
    CHECK(derivative(quartic, -0.7, 2) == doctest::Approx(12 * 0.49));
    CHECK(derivative(quartic, -0.7, 3) == doctest::Approx(24 * -0.7));
}

TEST_CASE("second and third derivatives of tanh and sigmoid") {
    const double x = 0.7, t = std::tanh(x);
    const auto f_tanh = [](const Tensor& v) { return tanh(v); };
    CHECK(derivative(f_tanh, x, 1) == doctest::Approx(1 - t * t));
    CHECK(derivative(f_tanh, x, 2) == doctest::Approx(-2 * t * (1 - t * t)));
    CHECK(derivative(f_tanh, x, 3) == doctest::Approx(-2 * (1 - t * t) * (1 - 3 * t * t)));

    const double s = 1 / (1 + std::exp(-0.3));
    const auto f_sigmoid = [](const Tensor& v) { return sigmoid(v); };
    CHECK(derivative(f_sigmoid, 0.3, 2) == doctest::Approx(s * (1 - s) * (1 - 2 * s)));
}

TEST_CASE("second derivatives of compositions") {
    const double x = 1.3, e = std::exp(x);
    const auto exp_log = [](const Tensor& v) { return exp(v) * log(v); };
    CHECK(derivative(exp_log, x, 2) == doctest::Approx(e * (std::log(x) + 2 / x - 1 / (x * x))));

    const double g = std::exp(x * x);  // f = exp(x^2)
    const auto gaussian = [](const Tensor& v) { return exp(v * v); };
    CHECK(derivative(gaussian, x, 2) == doctest::Approx((2 + 4 * x * x) * g));
    CHECK(derivative(gaussian, x, 3) == doctest::Approx((12 * x + 8 * x * x * x) * g));

    const auto reciprocal = [](const Tensor& v) { return 1.0 / v; };
    CHECK(derivative(reciprocal, x, 2) == doctest::Approx(2 / (x * x * x)));
    const auto root = [](const Tensor& v) { return sqrt(v); };
    CHECK(derivative(root, x, 2) == doctest::Approx(-0.25 * std::pow(x, -1.5)));
}

TEST_CASE("mixed partials of x^2 y^3 agree") {
    Tensor x = scalar_leaf(1.5);
    Tensor y = scalar_leaf(-0.5);
    Tensor f = x * x * y * y * y;
    const std::vector<Tensor> g = grad({f}, {x, y}, {}, false, true);
    CHECK(g[0].item() == doctest::Approx(2 * 1.5 * -0.125));  // 2 x y^3
    CHECK(g[1].item() == doctest::Approx(3 * 2.25 * 0.25));   // 3 x^2 y^2

    const std::vector<Tensor> row_x = grad({g[0]}, {x, y}, {}, true);  // row_y reuses the graph
    const std::vector<Tensor> row_y = grad({g[1]}, {x, y});
    CHECK(row_x[0].item() == doctest::Approx(2 * -0.125));      // 2 y^3
    CHECK(row_x[1].item() == doctest::Approx(6 * 1.5 * 0.25));  // 6 x y^2
    CHECK(row_y[0].item() == doctest::Approx(row_x[1].item()));
    CHECK(row_y[1].item() == doctest::Approx(6 * 2.25 * -0.5));  // 6 x^2 y
}

TEST_CASE("the Hessian of x0 x1 x2, row by row") {
    Tensor x = Tensor({2.0, 3.0, 5.0}, Dtype::float64).set_requires_grad();
    Tensor f = sum(take_rows(x, {0}) * take_rows(x, {1}) * take_rows(x, {2}));
    Tensor g = grad({f}, {x}, {}, false, true)[0];
    const double expected[3][3] = {{0, 5, 3}, {5, 0, 2}, {3, 2, 0}};
    for (std::size_t i = 0; i < 3; ++i) {
        Tensor unit = zeros({3}, Dtype::float64);
        unit.mutable_value<double>()(i) = 1.0;
        const Tensor row = grad({g}, {x}, {unit}, true)[0];
        for (std::size_t j = 0; j < 3; ++j) CHECK(at(row, j) == doctest::Approx(expected[i][j]));
    }
}

TEST_CASE("second derivatives through broadcasting") {
    Tensor a = Tensor({1.0, -2.0, 0.5}, Dtype::float64);
    a = reshape(a, {3, 1}).detach().set_requires_grad();
    Tensor b = Tensor({0.25, 1.0, -1.5, 2.0}, Dtype::float64).set_requires_grad();
    Tensor f = sum(pow(a + b, 3.0));
    Tensor grad_a = grad({f}, {a}, {}, false, true)[0];  // sum_j 3 (a_i + b_j)^2, shape (3, 1)
    REQUIRE(grad_a.shape() == Shape{3, 1});
    Tensor mixed = grad({sum(grad_a)}, {b})[0];  // sum_i 6 (a_i + b_j)
    REQUIRE(mixed.shape() == Shape{4});
    const double a_sum = 1.0 - 2.0 + 0.5;
    for (std::size_t j = 0; j < 4; ++j) {
        CHECK(at(mixed, j) == doctest::Approx(6 * (a_sum + 3 * at(b, j))));
    }
}

TEST_CASE("backward with create_graph leaves a differentiable .grad") {
    Tensor x = Tensor({0.5, -1.0}, Dtype::float64).set_requires_grad();
    sum(x * x * x).backward(Tensor(), false, true);
    REQUIRE(x.grad().requires_grad());
    const Tensor second = grad({sum(x.grad())}, {x})[0];  // d/dx sum 3x^2 = 6x
    CHECK(at(second, 0) == doctest::Approx(3.0));
    CHECK(at(second, 1) == doctest::Approx(-6.0));
}

namespace {

using Function = std::function<Tensor(const std::vector<Tensor>&)>;

/// xs -> df/dx_k, recorded with create_graph: its Jacobian, which gradcheck compares with
/// finite differences, is row k of the Hessian of f.
GradcheckFunction gradient_of(const Function& f, std::size_t k) {
    return [f, k](const std::vector<Tensor>& xs) {
        GradModeGuard grad_mode(true);  // gradcheck's numeric pass runs under NoGradGuard
        std::vector<Tensor> leaves;
        for (const Tensor& x : xs) {
            leaves.push_back(x.requires_grad() ? x : x.detach().set_requires_grad());
        }
        return grad({f(leaves)}, {leaves[k]}, {}, false, true)[0];
    };
}

/// Gradchecks the gradient of f with respect to each input: the whole Hessian.
void check_hessian(const Function& f, const std::vector<Tensor>& xs) {
    for (std::size_t k = 0; k < xs.size(); ++k) {
        CAPTURE(k);
        xgrad::testing::check_gradients(gradient_of(f, k), xs);
    }
}

}  // namespace

TEST_CASE("second derivatives of the binary ops match finite differences") {
    const Tensor a = variable({2, 3}, 1), b = variable({2, 3}, 2, 3.0), c = variable({3}, 3);
    const Tensor positive = variable({2, 3}, 4, 4.0);
    check_hessian([](const auto& x) { return sum(x[0] * x[1] * x[0]); }, {a, c});
    check_hessian([](const auto& x) { return sum(x[0] / x[1]); }, {a, b});
    check_hessian([](const auto& x) { return sum(pow(x[0], x[1])); }, {positive, a});
    check_hessian([](const auto& x) { return sum(maximum(x[0], x[1]) * x[1]); }, {a, c});
    check_hessian([](const auto& x) { return sum(minimum(x[0], x[1]) * x[0]); }, {a, c});
    const xt::xarray<bool> mask = {{true, false, true}, {false, false, true}};
    check_hessian([&](const auto& x) { return sum(xgrad::where(mask, x[0] * x[0], x[1] * x[1])); },
                  {a, c});
}

TEST_CASE("second derivatives of the unary ops match finite differences") {
    const Tensor a = variable({2, 3}, 5), positive = variable({2, 3}, 6, 4.0);
    check_hessian([](const auto& x) { return sum(pow(x[0], 3.0) - x[0]); }, {a});
    check_hessian([](const auto& x) { return sum(log(x[0]) * sqrt(x[0])); }, {positive});
    check_hessian([](const auto& x) { return sum(exp(x[0]) * tanh(x[0]) + sigmoid(x[0])); }, {a});
    check_hessian([](const auto& x) { return sum(abs(x[0]) * x[0] * x[0]); }, {a});
    check_hessian([](const auto& x) { return sum(relu(x[0]) * relu(x[0]) * x[0]); }, {a});
    check_hessian([](const auto& x) { return sum(clamp(x[0], -0.5, 0.5) * x[0]); }, {a});
}

TEST_CASE("second derivatives of linear algebra, shape ops and reductions") {
    const Tensor a = variable({2, 3}, 7), b = variable({3, 2}, 8), v = variable({3}, 9);
    check_hessian([](const auto& x) { return sum(tanh(matmul(x[0], x[1]))); }, {a, b});
    check_hessian([](const auto& x) { return sum(tanh(matmul(x[0], x[1], true, true))); }, {b, a});
    check_hessian([](const auto& x) { return sum(tanh(matmul(x[0], x[1]))); }, {a, v});
    const Tensor w = variable({4, 3}, 10), c = variable({4}, 11);
    check_hessian([](const auto& x) { return sum(tanh(linear(x[0], x[1], x[2]))); }, {a, w, c});
    check_hessian([](const auto& x) { return sum(linear(x[0], x[1], x[2], Nonlinearity::tanh)); }, {a, w, c});
    check_hessian([](const auto& x) { return sum(linear(x[0], x[1], x[2], Nonlinearity::sigmoid)); }, {a, w, c});
    check_hessian([](const auto& x) { return sum(pow(transpose(x[0]) * x[1], 3.0)); }, {a, b});
    check_hessian([](const auto& x) { return sum(pow(reshape(x[0], {3, 2}) + x[1], 3.0)); },
                  {a, b});
    check_hessian([](const auto& x) { return sum(pow(broadcast_to(x[0], {2, 3}), 3.0)); }, {v});
    check_hessian([](const auto& x) { return sum(pow(sum_to(x[0], {1, 3}), 3.0)); }, {a});
    check_hessian([](const auto& x) { return sum(pow(take_rows(x[0], {1, 0, 1}), 3.0)); }, {a});
    check_hessian([](const auto& x) { return sum(pow(scatter_rows(x[0], {2, 0}, 3), 3.0)); }, {a});
    check_hessian([](const auto& x) { return sum(pow(slice_rows(x[0], 1, 2), 3.0)); }, {a});
    check_hessian([](const auto& x) { return sum(pow(sum(x[0], {1}), 2.0) * mean(x[0])); }, {a});
    check_hessian([](const auto& x) { return sum(pow(max(x[0], {0}), 3.0)); }, {a});
}

TEST_CASE("second derivatives of the softmax family and losses") {
    const Tensor a = variable({2, 3}, 10), t = variable({2, 3}, 11);
    const Tensor w = Tensor({{1.0, -2.0, 0.5}, {0.3, 2.0, -1.0}}, Dtype::float64);
    check_hessian([&](const auto& x) { return sum(softmax(x[0], 1) * w); }, {a});
    check_hessian([&](const auto& x) { return sum(log_softmax(x[0], 0) * w); }, {a});
    check_hessian([](const auto& x) { return sum(pow(logsumexp(x[0], -1), 2.0)); }, {a});
    const Labels labels = {2, 0};
    check_hessian([&](const auto& x) { return sum(softmax_cross_entropy(x[0], labels)); }, {a});
    check_hessian([](const auto& x) { return squared_error(tanh(x[0]), x[1]); }, {a, t});
}

namespace {

enum class LossKind { cross_entropy, squared_error };

constexpr std::size_t batch = 6, features = 3, hidden = 5, classes = 4;

/// Mean loss of a 2-layer tanh network; w = {w1 (3,5), b1 (5,), w2 (5,4), b2 (4,)}.
Tensor mlp_loss(const std::vector<Tensor>& w, LossKind kind) {
    Generator generator(7);
    const Tensor inputs = randn({batch, features}, generator, Dtype::float64);
    const Tensor logits = matmul(tanh(matmul(inputs, w[0]) + w[1]), w[2]) + w[3];
    if (kind == LossKind::cross_entropy) {
        const Labels labels = {0, 1, 2, 3, 1, 0};
        return mean(softmax_cross_entropy(logits, labels));
    }
    const Tensor target = randn({batch, classes}, generator, Dtype::float64);
    return squared_error(logits, target) * (1.0 / batch);
}

std::vector<Tensor> mlp_parameters(std::uint64_t seed) {
    return {variable({features, hidden}, seed), variable({hidden}, seed + 1),
            variable({hidden, classes}, seed + 2), variable({classes}, seed + 3)};
}

/// Gradient of the loss at w + step * v, at fresh leaves.
std::vector<Tensor> gradient_at(const std::vector<Tensor>& w, const std::vector<Tensor>& v,
                                double step, LossKind kind) {
    std::vector<Tensor> shifted;
    for (std::size_t i = 0; i < w.size(); ++i) {
        shifted.push_back((w[i] + step * v[i]).detach().set_requires_grad());
    }
    return grad({mlp_loss(shifted, kind)}, shifted);
}

/// |Hv - (g(w+hv) - g(w-hv)) / 2h| / |(g(w+hv) - g(w-hv)) / 2h|, norms over all parameters.
double hvp_relative_error(LossKind kind) {
    const std::vector<Tensor> w = mlp_parameters(11);
    Generator generator(23);
    std::vector<Tensor> v;
    for (const Tensor& p : w) v.push_back(randn(p.shape(), generator, Dtype::float64));

    const std::vector<Tensor> g = grad({mlp_loss(w, kind)}, w, {}, false, true);
    Tensor inner = scalar(0.0, Dtype::float64);
    for (std::size_t i = 0; i < w.size(); ++i) inner = inner + sum(g[i] * v[i]);
    const std::vector<Tensor> hv = grad({inner}, w);

    const double h = 1e-5;  // truncation ~h^2, rounding ~1e-16/h: both far below 1e-6
    const std::vector<Tensor> plus = gradient_at(w, v, h, kind);
    const std::vector<Tensor> minus = gradient_at(w, v, -h, kind);
    double error = 0.0, norm = 0.0;
    for (std::size_t i = 0; i < w.size(); ++i) {
        REQUIRE(hv[i].shape() == w[i].shape());
        for (std::size_t k = 0; k < w[i].size(); ++k) {
            const double numeric = (at(plus[i], k) - at(minus[i], k)) / (2 * h);
            error += std::pow(at(hv[i], k) - numeric, 2);
            norm += numeric * numeric;
        }
    }
    REQUIRE(std::sqrt(norm) > 1e-2);  // a real curvature, not a vacuous comparison
    return std::sqrt(error / norm);
}

}  // namespace

TEST_CASE("Hessian-vector product of an MLP with cross-entropy matches finite differences") {
    const double error = hvp_relative_error(LossKind::cross_entropy);
    INFO("relative error " << error);
    CHECK(error < 1e-6);
}

TEST_CASE("Hessian-vector product of an MLP with squared error matches finite differences") {
    const double error = hvp_relative_error(LossKind::squared_error);
    INFO("relative error " << error);
    CHECK(error < 1e-6);
}

// Rules with an unrecorded fast path (plain loops or gemm on the saved arrays) compute the same
// gradients as their recorded, differentiable form (what create_graph runs).
TEST_CASE("unrecorded fast paths of backward rules equal the recorded rules") {
    using Function = std::function<Tensor(const std::vector<Tensor>&)>;
    const Tensor a = variable({3, 4}, 11), b = variable({4, 2}, 12), bt = variable({2, 4}, 13);
    const Tensor at_ = variable({4, 3}, 14), w = variable({5, 4}, 15), c = variable({5}, 16);
    const Tensor p = variable({3, 4}, 17), t = variable({3, 4}, 18), s = variable({}, 19);
    const std::vector<std::pair<Function, std::vector<Tensor>>> cases = {
        {[](const auto& x) { return matmul(x[0], x[1]); }, {a, b}},
        {[](const auto& x) { return matmul(x[0], x[1], false, true); }, {a, bt}},
        {[](const auto& x) { return matmul(x[0], x[1], true, false); }, {at_, b}},
        {[](const auto& x) { return matmul(x[0], x[1], true, true); }, {at_, bt}},
        {[](const auto& x) { return linear(x[0], x[1], x[2]); }, {a, w, c}},
        {[](const auto& x) { return linear(x[0], x[1], x[2], Nonlinearity::tanh); }, {a, w, c}},
        {[](const auto& x) { return linear(x[0], x[1], x[2], Nonlinearity::sigmoid); }, {a, w, c}},
        {[](const auto& x) { return linear(x[0], x[1], x[2], Nonlinearity::relu); }, {a, w, c}},
        {[](const auto& x) { return squared_error(x[0], x[1], 0.5); }, {p, t}},
        {[](const auto& x) { return x[0] * x[1]; }, {p, t}},
        {[](const auto& x) { return x[0] * x[1]; }, {p, s}},  // broadcast: the general path
        {[](const auto& x) { return tanh(x[0]) + sigmoid(x[1]) + relu(x[0]) * exp(x[1]); }, {p, t}},
    };
    for (const auto& [f, inputs] : cases) {
        const Tensor out = f(inputs);
        const Tensor seed = variable(out.shape(), 20).detach();
        const std::vector<Tensor> fast = grad({out}, inputs, {seed}, true, false);
        const std::vector<Tensor> recorded = grad({out}, inputs, {seed}, true, true);
        REQUIRE(fast.size() == recorded.size());
        bool any_recorded = false;  // a gradient that is a constant (a bias's) has no graph
        for (std::size_t i = 0; i < fast.size(); ++i) {
            CHECK_FALSE(fast[i].requires_grad());
            any_recorded |= recorded[i].requires_grad();
            CHECK(fast[i].shape() == recorded[i].shape());
            const xt::xarray<double> difference = xt::abs(fast[i].value<double>() - recorded[i].value<double>());
            CHECK(xt::amax(difference)() <= 1e-12);
        }
        CHECK(any_recorded);
    }
}
