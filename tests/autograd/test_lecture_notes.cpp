// The worked examples of the lecture notes (seeds 001 and 003), checked against values derived
// independently: the notes' printed figures are rounded and contain slips, so none is copied.

#include <doctest/doctest.h>

#include <cmath>

#include "support/check.hpp"

using namespace xgrad;
using xgrad::testing::at;
using xgrad::testing::check_gradients;

namespace {

constexpr double tight = 1e-12;

// u = x² + 2y with x = r sin t, y = sin² t.
Tensor chain_rule_u(const Tensor& r, const Tensor& t) {
    const Tensor x = r * sin(t);
    const Tensor y = pow(sin(t), 2.0);
    return x * x + 2.0 * y;
}

Tensor leaf(double value) { return scalar(value, Dtype::float64).set_requires_grad(); }

}  // namespace

// Closed forms (notes, seed 003), re-derived:
//   ∂u/∂r = 2x · sin t = 2r sin² t
//   ∂u/∂t = 2x · r cos t + 2 · 2 sin t cos t = 2(r² + 2) sin t cos t = (r² + 2) sin 2t
TEST_CASE("chain rule: u = x^2 + 2y, x = r sin t, y = sin^2 t") {
    const double points[][2] = {{1.5, 0.7}, {-0.8, 2.3}, {2.0, -1.1}, {0.3, 4.0}, {0.0, 0.5}};
    for (const auto& point : points) {
        const double r_value = point[0], t_value = point[1];
        CAPTURE(r_value);
        CAPTURE(t_value);
        Tensor r = leaf(r_value), t = leaf(t_value);
        const Tensor u = chain_rule_u(r, t);
        const double s = std::sin(t_value);
        CHECK(u.item() == doctest::Approx(r_value * r_value * s * s + 2 * s * s).epsilon(tight));
        u.backward();
        CHECK(r.grad().item() == doctest::Approx(2 * r_value * s * s).epsilon(tight));
        CHECK(t.grad().item() ==
              doctest::Approx((r_value * r_value + 2) * std::sin(2 * t_value)).epsilon(tight));
    }
}

// Spot values (python3, math module, double precision):
//   r = 1.5, t = 0.7: ∂u/∂r = 1.2450492856496385, ∂u/∂t = 4.1881613524509556
//   r = -0.8, t = 2.3: ∂u/∂r = -0.8897220215480438, ∂u/∂t = -2.6233442495923462
TEST_CASE("chain rule: spot values and gradcheck") {
    Tensor r = leaf(1.5), t = leaf(0.7);
    chain_rule_u(r, t).backward();
    CHECK(r.grad().item() == doctest::Approx(1.2450492856496385).epsilon(tight));
    CHECK(t.grad().item() == doctest::Approx(4.1881613524509556).epsilon(tight));

    const auto u = [](const std::vector<Tensor>& in) { return chain_rule_u(in[0], in[1]); };
    check_gradients(u, {leaf(-0.8), leaf(2.3)});
}

// ∂u/∂t is itself differentiable: ∂²u/∂t² = 2(r² + 2) cos 2t, ∂²u/∂t∂r = 2r sin 2t.
TEST_CASE("chain rule: second derivatives through sin and cos") {
    const double r_value = 1.5, t_value = 0.7;
    Tensor r = leaf(r_value), t = leaf(t_value);
    const Tensor du_dt = grad({chain_rule_u(r, t)}, {t}, {}, false, true)[0];
    const auto second = grad({du_dt}, {t, r});
    CHECK(second[0].item() ==
          doctest::Approx(2 * (r_value * r_value + 2) * std::cos(2 * t_value)).epsilon(tight));
    CHECK(second[1].item() == doctest::Approx(2 * r_value * std::sin(2 * t_value)).epsilon(tight));
}

// ---- The 2-2-2 sigmoid network (seed 001) ---------------------------------------------------
//
// a1 = W1 x + b1, z1 = σ(a1), a2 = W2 z1 + b2, h = σ(a2), E = ||h - y||² (the notes' part c).
//
// Which δ is consistent? Backprop needs δ2 = ∂E/∂a2 = ∂E/∂h ⊙ σ'(a2) = 2(h - y) ⊙ h(1 - h).
// The notes' δ2 = h - y is the "canonical output" delta: right for linear outputs (h = a2) with
// E = ½||h - y||², but it drops both the factor 2 and σ'(a2) here. So the notes' numbers are
// not the gradient of this network; we test the true gradient of E = ||h - y||² (and of
// ½||h - y||², which halves it). Other slips in the notes: part c prints h - y = (0.04, -0.89)
// and E = 0.79 (truly (0.7414, -0.2171), E = 0.5968); ∂E/∂W2 prints -13.2, -12.8 for
// -0.132, -0.128 under its own δ; ∂E/∂W1 uses x2 = 0.01 instead of 0.10.
//
// Reference values: python3, decimal with 40 digits, printed to 17 significant digits, and
// cross-checked against float64 central differences (agree to ~1e-11):
//   a1 = W1 x + b1 = (0.0125 + 0.03 + 0.35, 0.0075 + 0.02 + 0.35) = (0.3925, 0.3775)  (exact)
//   z1 = σ(a1) = (0.59688437825976706, 0.59326999210718726)
//   a2 = W2 z1 + b2 = (1.1059059670597701, 1.2247406847888365)
//   h  = σ(a2) = (0.75136506955231571, 0.77289674570180099)
//   E  = (h1 - 0.01)² + (h2 - 0.99)² = 0.59675598937917837
//   δ2 = 2(h - y) h(1 - h) = (0.27699712325711393, -0.076215124834469469)
//   δ1 = z1(1 - z1) ⊙ (W2ᵀ δ2) = (0.020822960161544973, 0.016620920851207782)
//   ∂E/∂W2 = δ2 z1ᵀ = [[0.16533525569506651, 0.16433408112846156],
//                      [-0.045491617400812841, -0.045216146508993993]],  ∂E/∂b2 = δ2
//   ∂E/∂W1 = δ1 xᵀ  = [[0.0010411480080772486, 0.0020822960161544973],
//                      [0.00083104604256038912, 0.0016620920851207782]], ∂E/∂b1 = δ1

namespace {

constexpr double net_tol = 1e-9;

const double ref_a1[] = {0.3925, 0.3775};
const double ref_z1[] = {0.59688437825976706, 0.59326999210718726};
const double ref_a2[] = {1.1059059670597701, 1.2247406847888365};
const double ref_h[] = {0.75136506955231571, 0.77289674570180099};
const double ref_e = 0.59675598937917837;
const double ref_delta2[] = {0.27699712325711393, -0.076215124834469469};
const double ref_delta1[] = {0.020822960161544973, 0.016620920851207782};
const double ref_grad_w2[] = {0.16533525569506651, 0.16433408112846156,
                              -0.045491617400812841, -0.045216146508993993};
const double ref_grad_w1[] = {0.0010411480080772486, 0.0020822960161544973,
                              0.00083104604256038912, 0.0016620920851207782};

struct Network {
    Tensor w1 = Tensor({{0.25, 0.30}, {0.15, 0.20}}, Dtype::float64).set_requires_grad();
    Tensor b1 = Tensor({0.35, 0.35}, Dtype::float64).set_requires_grad();
    Tensor w2 = Tensor({{0.45, 0.40}, {0.50, 0.55}}, Dtype::float64).set_requires_grad();
    Tensor b2 = Tensor({0.60, 0.60}, Dtype::float64).set_requires_grad();
    Tensor x = Tensor({0.05, 0.10}, Dtype::float64);
    Tensor y = Tensor({0.01, 0.99}, Dtype::float64);
};

struct Forward {
    Tensor a1, z1, a2, h, e;
};

Forward forward(const Tensor& w1, const Tensor& b1, const Tensor& w2, const Tensor& b2,
                const Tensor& x, const Tensor& y) {
    Forward f;
    f.a1 = matmul(w1, x) + b1;
    f.z1 = sigmoid(f.a1);
    f.a2 = matmul(w2, f.z1) + b2;
    f.h = sigmoid(f.a2);
    f.e = squared_error(f.h, y);
    return f;
}

void check_values(const Tensor& t, const double* expected, std::size_t n, double scale = 1.0) {
    REQUIRE(t.size() == n);
    for (std::size_t i = 0; i < n; ++i) {
        CAPTURE(i);
        CHECK(at(t, i) == doctest::Approx(scale * expected[i]).epsilon(net_tol));
    }
}

}  // namespace

TEST_CASE("2-2-2 sigmoid network: forward values") {
    Network net;
    const Forward f = forward(net.w1, net.b1, net.w2, net.b2, net.x, net.y);
    CHECK(f.a1.shape() == Shape{2});
    check_values(f.a1, ref_a1, 2);
    check_values(f.z1, ref_z1, 2);
    check_values(f.a2, ref_a2, 2);
    check_values(f.h, ref_h, 2);
    CHECK(f.e.dim() == 0);
    CHECK(f.e.item() == doctest::Approx(ref_e).epsilon(net_tol));
}

TEST_CASE("2-2-2 sigmoid network: gradients of E = ||h - y||^2") {
    Network net;
    const Forward f = forward(net.w1, net.b1, net.w2, net.b2, net.x, net.y);
    // The local errors δ = ∂E/∂a, read from the graph before backward frees it.
    const auto deltas = grad({f.e}, {f.a1, f.a2}, {}, true);
    check_values(deltas[0], ref_delta1, 2);
    check_values(deltas[1], ref_delta2, 2);

    f.e.backward();
    CHECK(net.w1.grad().shape() == Shape{2, 2});
    check_values(net.w1.grad(), ref_grad_w1, 4);
    check_values(net.b1.grad(), ref_delta1, 2);
    check_values(net.w2.grad(), ref_grad_w2, 4);
    check_values(net.b2.grad(), ref_delta2, 2);
    CHECK_FALSE(net.x.grad().defined());
}

TEST_CASE("2-2-2 sigmoid network: E = 1/2 ||h - y||^2 halves every gradient") {
    Network net;
    const Forward f = forward(net.w1, net.b1, net.w2, net.b2, net.x, net.y);
    const Tensor half_e = 0.5 * f.e;
    CHECK(half_e.item() == doctest::Approx(0.5 * ref_e).epsilon(net_tol));
    half_e.backward();
    check_values(net.w1.grad(), ref_grad_w1, 4, 0.5);
    check_values(net.b1.grad(), ref_delta1, 2, 0.5);
    check_values(net.w2.grad(), ref_grad_w2, 4, 0.5);
    check_values(net.b2.grad(), ref_delta2, 2, 0.5);
    // Even with the ½, ∂E/∂a2 = (h - y) ⊙ h(1 - h), not the notes' h - y = (0.7414, -0.2171).
    CHECK(at(net.b2.grad(), 0) == doctest::Approx(0.5 * ref_delta2[0]).epsilon(net_tol));
    CHECK(at(net.b2.grad(), 0) != doctest::Approx(ref_h[0] - 0.01).epsilon(1e-3));
}

TEST_CASE("2-2-2 sigmoid network: gradcheck of E over all weights and biases") {
    Network net;
    const auto error = [&net](const std::vector<Tensor>& p) {
        const Tensor x = net.x.to(p[0].dtype()), y = net.y.to(p[0].dtype());
        return forward(p[0], p[1], p[2], p[3], x, y).e;
    };
    check_gradients(error, {net.w1, net.b1, net.w2, net.b2});
}
