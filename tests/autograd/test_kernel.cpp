// The broadcast fast paths (Note [Broadcast fast paths]) give exactly xtensor's general
// broadcast, for every operand arrangement they take and a few they must not take.

#include "support/check.hpp"

#include <xtensor/xmath.hpp>

using namespace xgrad;
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
