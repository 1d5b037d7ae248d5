// Zero-size tensors through every op in the catalogue: the result has the NumPy shape, and
// backward gives each input a gradient of its own (empty) shape. The one reduction without an
// identity, max, over an empty axis is an error naming the op and the shape.

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <set>
#include <string_view>

#include "support/check.hpp"

using namespace xgrad;
using xgrad::testing::check_throws_with;

namespace {

using In = std::vector<Tensor>;

struct Case {
    std::string_view op;  ///< name in op_catalogue
    std::function<Tensor(const In&)> f;
    In inputs;
    Shape expected;
};

Tensor empty(const Shape& shape) { return zeros(shape, Dtype::float64).set_requires_grad(); }

const std::vector<Case>& cases() {
    const xt::xarray<bool> mask = xt::xarray<bool>::from_shape({0, 3});
    static const std::vector<Case> table = {
        {"add", [](const In& x) { return x[0] + x[1]; }, {empty({0, 3}), empty({3})}, {0, 3}},
        {"sub", [](const In& x) { return x[0] - x[1]; }, {empty({0, 1}), empty({2})}, {0, 2}},
        {"mul", [](const In& x) { return x[0] * x[1]; }, {empty({0}), empty({})}, {0}},
        {"div", [](const In& x) { return x[0] / x[1]; }, {empty({2, 0}), empty({2, 1})}, {2, 0}},
        {"pow", [](const In& x) { return pow(x[0], x[1]); }, {empty({0, 3}), empty({0, 3})}, {0, 3}},
        {"maximum", [](const In& x) { return maximum(x[0], x[1]); }, {empty({0, 3}), empty({1, 3})}, {0, 3}},
        {"minimum", [](const In& x) { return minimum(x[0], x[1]); }, {empty({0}), empty({0})}, {0}},
        {"where", [mask](const In& x) { return xgrad::where(mask, x[0], x[1]); }, {empty({0, 3}), empty({3})}, {0, 3}},
        {"neg", [](const In& x) { return -x[0]; }, {empty({0, 2})}, {0, 2}},
        {"pow_scalar", [](const In& x) { return pow(x[0], 2.0); }, {empty({0})}, {0}},
        {"exp", [](const In& x) { return exp(x[0]); }, {empty({3, 0})}, {3, 0}},
        {"log", [](const In& x) { return log(x[0]); }, {empty({0})}, {0}},
        {"sqrt", [](const In& x) { return sqrt(x[0]); }, {empty({0})}, {0}},
        {"abs", [](const In& x) { return abs(x[0]); }, {empty({0})}, {0}},
        {"sin", [](const In& x) { return sin(x[0]); }, {empty({0})}, {0}},
        {"cos", [](const In& x) { return cos(x[0]); }, {empty({0})}, {0}},
        {"tanh", [](const In& x) { return tanh(x[0]); }, {empty({0})}, {0}},
        {"sigmoid", [](const In& x) { return sigmoid(x[0]); }, {empty({0})}, {0}},
        {"relu", [](const In& x) { return relu(x[0]); }, {empty({0})}, {0}},
        {"clamp", [](const In& x) { return clamp(x[0], -1.0, 1.0); }, {empty({0})}, {0}},
        {"matmul", [](const In& x) { return matmul(x[0], x[1]); }, {empty({0, 3}), empty({3, 2})}, {0, 2}},
        {"matmul", [](const In& x) { return matmul(x[0], x[1]); }, {empty({2, 0}), empty({0, 3})}, {2, 3}},
        {"matmul", [](const In& x) { return matmul(x[0], x[1], true, true); }, {empty({0, 2}), empty({3, 0})}, {2, 3}},
        {"matmul", [](const In& x) { return matmul(x[0], x[1]); }, {empty({2, 0}), empty({0})}, {2}},
        {"matmul", [](const In& x) { return matmul(x[0], x[1]); }, {empty({0}), empty({0, 4})}, {4}},
        {"linear", [](const In& x) { return linear(x[0], x[1], x[2]); }, {empty({0, 3}), empty({2, 3}), empty({2})}, {0, 2}},
        {"linear", [](const In& x) { return linear(x[0], x[1], x[2]); }, {empty({4, 3}), empty({0, 3}), empty({0})}, {4, 0}},
        {"linear_relu", [](const In& x) { return linear(x[0], x[1], x[2], Nonlinearity::relu); }, {empty({0, 3}), empty({2, 3}), empty({2})}, {0, 2}},
        {"linear_tanh", [](const In& x) { return linear(x[0], x[1], x[2], Nonlinearity::tanh); }, {empty({0, 0}), empty({2, 0}), empty({2})}, {0, 2}},
        {"linear_sigmoid", [](const In& x) { return linear(x[0], x[1], x[2], Nonlinearity::sigmoid); }, {empty({4, 3}), empty({0, 3}), empty({0})}, {4, 0}},
        {"transpose", [](const In& x) { return transpose(x[0]); }, {empty({0, 3})}, {3, 0}},
        {"reshape", [](const In& x) { return reshape(x[0], {3, 0}); }, {empty({0, 3})}, {3, 0}},
        {"broadcast_to", [](const In& x) { return broadcast_to(x[0], {0, 3}); }, {empty({1, 3})}, {0, 3}},
        {"sum_to", [](const In& x) { return sum_to(x[0], {3}); }, {empty({0, 3})}, {3}},
        {"take_rows", [](const In& x) { return take_rows(x[0], {}); }, {empty({2, 3})}, {0, 3}},
        {"take_rows", [](const In& x) { return take_rows(x[0], {}); }, {empty({0, 3})}, {0, 3}},
        {"scatter_rows", [](const In& x) { return scatter_rows(x[0], {}, 2); }, {empty({0, 3})}, {2, 3}},
        {"slice_rows", [](const In& x) { return slice_rows(x[0], 1, 1); }, {empty({2, 3})}, {0, 3}},
        {"sum", [](const In& x) { return sum(x[0]); }, {empty({0, 3})}, {}},
        {"sum", [](const In& x) { return sum(x[0], {0}); }, {empty({0, 3})}, {3}},
        {"mean", [](const In& x) { return mean(x[0], {1}); }, {empty({0, 3})}, {0}},
        {"max", [](const In& x) { return max(x[0], {1}); }, {empty({0, 3})}, {0}},
        {"logsumexp", [](const In& x) { return logsumexp(x[0], 1); }, {empty({0, 3})}, {0}},
        {"logsumexp", [](const In& x) { return logsumexp(x[0], 1); }, {empty({2, 0})}, {2}},
        {"softmax", [](const In& x) { return softmax(x[0], 1); }, {empty({0, 3})}, {0, 3}},
        {"softmax", [](const In& x) { return softmax(x[0], 0); }, {empty({0, 3})}, {0, 3}},
        {"log_softmax", [](const In& x) { return log_softmax(x[0], -1); }, {empty({0, 3})}, {0, 3}},
        {"softmax_cross_entropy", [](const In& x) { return softmax_cross_entropy(x[0], Labels{}); },
         {empty({0, 3})}, {0}},
        {"softmax_cross_entropy", [](const In& x) { return softmax_cross_entropy(x[0], x[1]); },
         {empty({0, 3}), empty({0, 3})}, {0}},
        {"sigmoid_cross_entropy", [](const In& x) { return sigmoid_cross_entropy(x[0], x[1]); },
         {empty({0, 2}), empty({0, 2})}, {0, 2}},
        {"squared_error", [](const In& x) { return squared_error(x[0], x[1]); }, {empty({0}), empty({0})}, {}},
    };
    return table;
}

}  // namespace

TEST_CASE("zero-size tensors through every op: NumPy shapes forward, input shapes backward") {
    for (const Case& c : cases()) {
        INFO("op " << c.op);
        for (Tensor x : c.inputs) x.set_grad(Tensor());  // handles share the grad
        const Tensor out = c.f(c.inputs);
        CHECK(out.shape() == c.expected);
        sum(out).backward();
        for (const Tensor& x : c.inputs) {
            REQUIRE(x.grad().defined());
            CHECK(x.grad().shape() == x.shape());
            for (double g : x.grad().value<double>()) CHECK(g == 0.0);  // nothing flows from nothing
        }
    }
}

TEST_CASE("every op in the catalogue has a zero-size case") {
    std::set<std::string_view> covered;
    for (const Case& c : cases()) covered.insert(c.op);
    xgrad::testing::check_covers_catalogue(covered, "a zero-size case");
}

TEST_CASE("empty sums are 0, empty means NaN, logsumexp -inf, as in NumPy and SciPy") {
    CHECK(sum(empty({0, 3})).item() == 0.0);
    CHECK(std::isnan(mean(empty({0, 3})).item()));
    CHECK(logsumexp(empty({2, 0}), 1).value<double>() == xt::xarray<double>{-INFINITY, -INFINITY});
    CHECK(squared_error(empty({0}), empty({0})).item() == 0.0);
    CHECK(matmul(empty({2, 0}), empty({0, 3})).value<double>() == xt::zeros<double>({2, 3}));
}

TEST_CASE("max over an empty axis, and labels for zero classes, name the op and the shape") {
    Tensor x = empty({2, 0});
    check_throws_with<shape_error>([&] { max(x); }, {"max", "extent 0", "(2, 0)"});
    check_throws_with<shape_error>([&] { max(x, {1}); }, {"max", "axis 1", "(2, 0)"});
    check_throws_with<value_error>([&] { softmax_cross_entropy(x, Labels{0, 0}); },
                                   {"softmax_cross_entropy", "label 0", "[0, 0)"});
    CHECK(max(x, {0}).shape() == Shape{0});  // reducing the non-empty axis is fine
}
