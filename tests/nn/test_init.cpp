#include <doctest/doctest.h>

#include <cmath>

#include <xtensor/xsort.hpp>

#include <nn/nn.hpp>

#include "support/check.hpp"

using namespace xgrad;
using namespace xgrad::nn;

namespace {
double max_abs(const Tensor& t) { return xt::amax(xt::abs(t.to(Dtype::float64).value<double>()))(); }
double stddev(const Tensor& t) { return xt::stddev(t.to(Dtype::float64).value<double>())(); }
}  // namespace

TEST_CASE("fans of a weight (out, in) and of a conv-shaped weight") {
    CHECK(init::fans(zeros({3, 5})).in == 5);
    CHECK(init::fans(zeros({3, 5})).out == 3);
    CHECK(init::fans(zeros({4, 2, 3, 3})).in == 18);
    CHECK_THROWS_AS(init::fans(zeros({5})), shape_error);
}

TEST_CASE("Xavier and Kaiming bounds and spreads") {
    Generator generator(0);
    Tensor w = zeros({200, 300});
    init::xavier_uniform(w, generator);
    const double xavier_bound = std::sqrt(6.0 / 500.0);
    CHECK(max_abs(w) <= xavier_bound);
    CHECK(max_abs(w) > 0.95 * xavier_bound);
    init::kaiming_uniform(w, generator);
    CHECK(max_abs(w) <= std::sqrt(6.0 / 300.0));
    CHECK(max_abs(w) > 0.95 * std::sqrt(6.0 / 300.0));
    init::xavier_normal(w, generator);
    CHECK(stddev(w) == doctest::Approx(std::sqrt(2.0 / 500.0)).epsilon(0.02));
    init::kaiming_normal(w, generator);
    CHECK(stddev(w) == doctest::Approx(std::sqrt(2.0 / 300.0)).epsilon(0.02));
}

TEST_CASE("initialisers are reproducible, in place, and keep dtype and shape") {
    Tensor a = zeros({4, 3}, Dtype::float64), b = zeros({4, 3}, Dtype::float64);
    Tensor handle = a;
    Generator g1(9), g2(9);
    init::kaiming_normal(a, g1);
    init::kaiming_normal(b, g2);
    CHECK(a.value<double>() == b.value<double>());
    CHECK(handle.value<double>() == a.value<double>());  // same storage
    CHECK(a.dtype() == Dtype::float64);
}

TEST_CASE("constant, zeros and exact values; wrong shapes are rejected") {
    Tensor w = ones({2, 2}).set_requires_grad();
    init::set_constant(w, 3.5);
    CHECK(w.value<float>()(1, 1) == 3.5f);
    init::set_zeros(w);
    CHECK(w.value<float>()(0, 1) == 0.0f);
    init::set_values(w, Tensor({{1, 2}, {3, 4}}, Dtype::float64));  // converted to float32
    CHECK(w.value<float>()(1, 0) == 3.0f);
    CHECK(w.requires_grad());
    CHECK_THROWS_AS(init::set_values(w, Tensor({1.0, 2.0})), shape_error);
    CHECK(w.value<float>()(1, 0) == 3.0f);  // unchanged after the error
}
