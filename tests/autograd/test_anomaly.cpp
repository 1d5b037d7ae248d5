// Anomaly mode (Note [Anomaly mode]) and the selecting backward rules of where, relu, clamp,
// maximum, minimum and max: an Inf or NaN in a branch that is not taken never reaches a gradient.

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <thread>

#include "support/check.hpp"

using namespace xgrad;
using xgrad::testing::at;
using xgrad::testing::check_throws_with;

namespace {

Tensor leaf(xt::nested_initializer_list_t<double, 1> values) {
    return Tensor(values, Dtype::float64).set_requires_grad();
}

/// d sum(sqrt(f(x))) / dx: sqrt's backward is Inf wherever f(x) = 0.
Tensor grad_through_sqrt(const Tensor& x, Tensor (*f)(const Tensor&)) {
    return grad({sum(sqrt(f(x)))}, {x})[0];
}

}  // namespace

TEST_CASE("anomaly mode is off by default, nests, and is per thread") {
    CHECK_FALSE(anomaly_enabled());
    {
        AnomalyGuard on;
        CHECK(anomaly_enabled());
        bool elsewhere = true;
        std::thread([&] { elsewhere = anomaly_enabled(); }).join();
        CHECK_FALSE(elsewhere);
        {
            AnomalyGuard off(false);
            CHECK_FALSE(anomaly_enabled());
        }
        CHECK(anomaly_enabled());
    }
    CHECK_FALSE(anomaly_enabled());
    std::thread([] {
        AnomalyGuard on;
        CHECK(anomaly_enabled());
    }).join();
    CHECK_FALSE(anomaly_enabled());
}

TEST_CASE("anomaly mode throws at the first forward op that makes a NaN or Inf") {
    Tensor x = leaf({1.0, -1.0, 4.0});
    CHECK(std::isnan(at(log(x * 2.0), 1)));  // off: NaN flows on silently

    AnomalyGuard anomaly;
    const std::int64_t live = Node::live_count();
    check_throws_with<anomaly_error>([&] { sum(exp(log(x * 2.0))); },
                                     {"forward of 'log'", "float64(3,)", "with 1 NaN",
                                      "input 0 float64(3,) in [-2, 8]"});
    check_throws_with<anomaly_error>([&] { x / (x - x); }, {"forward of 'div'", "Inf", "in [-1, 4]", "in [0, 0]"});
    CHECK(Node::live_count() == live);  // the failing op recorded nothing

    sum(log(x * x)).backward();  // the next correct call works
    CHECK(at(x.grad(), 2) == doctest::Approx(0.5));
}

TEST_CASE("anomaly mode throws at the backward rule that makes a NaN or Inf, naming it") {
    Tensor x = leaf({0.0, 4.0});
    Tensor y = sum(sqrt(x) * 3.0);  // finite forward; sqrt's gradient is Inf at 0
    {
        AnomalyGuard anomaly;
        Tensor z = sum(sqrt(x) * 3.0);
        check_throws_with<anomaly_error>([&] { z.backward(); },
                                         {"backward of 'sqrt'", "Inf", "input 0 of shape (2,)",
                                          "grad_out float64(2,) in [3, 3]"});
        CHECK_FALSE(x.grad().defined());
    }
    y.backward();  // off: the Inf arrives in .grad
    CHECK(std::isinf(at(x.grad(), 0)));
}

TEST_CASE("an Inf gradient in a branch not taken is selected away, not multiplied by 0") {
    Tensor x = leaf({-1.0, 4.0});
    auto check_finite = [](const Tensor& g, double second) {
        CHECK(at(g, 0) == 0.0);  // an exact 0, where Inf * 0 would be NaN
        CHECK(at(g, 1) == doctest::Approx(second));
    };
    check_finite(grad_through_sqrt(x, relu), 0.25);
    check_finite(grad_through_sqrt(x, [](const Tensor& v) { return xgrad::where(xt::xarray<bool>{false, true}, v, zeros_like(v)); }), 0.25);
    check_finite(grad_through_sqrt(x, [](const Tensor& v) { return clamp(v, 0.0, 9.0); }), 0.25);
    check_finite(grad_through_sqrt(x, [](const Tensor& v) { return maximum(v, zeros_like(v)); }), 0.25);
    check_finite(grad_through_sqrt(x, [](const Tensor& v) { return -minimum(-v, zeros_like(v)); }), 0.25);
    Tensor pair = leaf({0.0, -1.0});  // max picks element 0, where sqrt' is Inf; element 1 loses
    Tensor g = grad({sum(sqrt(max(pair, {0}, true)))}, {pair})[0];
    CHECK(std::isinf(at(g, 0)));
    CHECK(at(g, 1) == 0.0);
}
