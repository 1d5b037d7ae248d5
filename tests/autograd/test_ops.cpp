#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string_view>

#include <xtensor/xbuilder.hpp>

#include "support/check.hpp"

// Gradient checks for every op in the catalogue (autograd/ops.hpp), one table row per case,
// all driven through check_row; then the catalogue-coverage test, ties, and forward values.

using namespace xgrad;

namespace {

using In = std::vector<Tensor>;

struct Row {
    std::string_view op;  ///< name in op_catalogue
    GradcheckFunction f;
    In inputs;
};

/// A float64 leaf of seeded N(0,1) values + shift; every call takes a fresh seed. Only the
/// table calls it, so its values do not depend on which test cases run.
Tensor var(const Shape& shape, double shift = 0.0) {
    static std::uint64_t seed = 0;
    return testing::variable(shape, ++seed, shift);
}

/// A float64 leaf of evenly spaced values from low to high (row-major): keeps kinks in view.
Tensor spaced(const Shape& shape, double low, double high) {
    std::size_t count = 1;
    for (std::size_t extent : shape) count *= extent;
    xt::xarray<double> values = xt::linspace(low, high, count);
    values.reshape(shape);
    return Tensor(std::move(values)).set_requires_grad(true);
}

/// A float64 leaf holding hand-picked values.
Tensor leaf_values(xt::nested_initializer_list_t<double, 1> list) {
    return Tensor(list, Dtype::float64).set_requires_grad(true);
}

/// A float32 leaf of seeded N(0,1) values.
Tensor var32(const Shape& shape, std::uint64_t seed) {
    return testing::variable(shape, seed).to(Dtype::float32).set_requires_grad(true);
}

std::vector<double> values(const Tensor& t) {
    return visit(t, [](const auto& a) { return std::vector<double>(a.begin(), a.end()); });
}

/// Checks t's values (flat, row-major) against hand-computed ones, exactly unless `tolerance`.
void check_values(const Tensor& t, const std::vector<double>& expected, double tolerance = 0.0) {
    const std::vector<double> actual = values(t);
    REQUIRE(actual.size() == expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i) {
        INFO("element " << i << ": " << actual[i] << ", expected " << expected[i]);
        CHECK(std::isfinite(actual[i]));
        CHECK(std::abs(actual[i] - expected[i]) <= tolerance);
    }
}

/// The one helper every gradient test goes through.
void check_row(const Row& row) {
    std::string inputs;
    for (const Tensor& x : row.inputs) inputs += shape_str(x.shape()) + " ";
    inputs += dtype_name(row.inputs.front().dtype());
    INFO("op " << row.op << ", inputs " << inputs);
    testing::check_gradients(row.f, row.inputs);
}

const std::vector<Row>& gradient_rows() {
    const xt::xarray<bool> mask = {{true, false, true}, {false, true, true}};
    const Labels labels = {2, 0, 3}, repeated_labels = {1, 1, 0, 2};
    static const std::vector<Row> rows = {
        // Elementwise, binary: scalars, (2,1)x(2,), (3,1,2)x(1,3,2), 1xN with Nx1, equal shapes.
        {"add", [](const In& x) { return add(x[0], x[1]); }, {var({2, 1}), var({2})}},
        {"add", [](const In& x) { return add(x[0], x[1]); }, {var({3, 1, 2}), var({1, 3, 2})}},
        {"add", [](const In& x) { return add(x[0], x[1]); }, {var({}), var({2, 3})}},
        {"sub", [](const In& x) { return sub(x[0], x[1]); }, {var({1, 4}), var({4, 1})}},
        {"sub", [](const In& x) { return sub(x[0], x[1]); }, {var({2, 3}), var({2, 3})}},
        {"sub", [](const In& x) { return sub(x[0], x[1]); }, {var({}), var({})}},
        {"mul", [](const In& x) { return mul(x[0], x[1]); }, {var({3, 1, 2}), var({1, 3, 2})}},
        {"mul", [](const In& x) { return mul(x[0], x[1]); }, {var({1, 4}), var({4, 1})}},
        {"mul", [](const In& x) { return mul(x[0], x[1]); }, {var({}), var({})}},
        {"div", [](const In& x) { return div(x[0], x[1]); }, {var({2, 1}), var({2}, 3.0)}},
        {"div", [](const In& x) { return div(x[0], x[1]); }, {var({2, 3}), var({2, 3}, 3.0)}},
        {"div", [](const In& x) { return div(x[0], x[1]); }, {var({}), var({1, 3, 2}, 3.0)}},
        {"pow", [](const In& x) { return pow(x[0], x[1]); }, {var({2, 3}, 3.0), var({2, 3})}},
        {"pow", [](const In& x) { return pow(x[0], x[1]); }, {var({3, 1, 2}, 3.0), var({1, 3, 2})}},
        {"pow", [](const In& x) { return pow(x[0], x[1]); }, {var({}, 3.0), var({})}},
        // maximum/minimum: distinct values, each side winning somewhere (ties: see below).
        {"maximum", [](const In& x) { return maximum(x[0], x[1]); },
         {spaced({2, 3}, -1.0, 1.5), leaf_values({0.25, -0.75, 1.2})}},
        {"maximum", [](const In& x) { return maximum(x[0], x[1]); }, {var({1, 4}), var({4, 1})}},
        {"minimum", [](const In& x) { return minimum(x[0], x[1]); },
         {spaced({2, 3}, -1.0, 1.5), leaf_values({0.25, -0.75, 1.2})}},
        {"minimum", [](const In& x) { return minimum(x[0], x[1]); }, {var({2, 3}), var({2, 3})}},
        {"where", [mask](const In& x) { return xgrad::where(mask, x[0], x[1]); },
         {var({2, 3}), var({2, 3})}},
        {"where", [mask](const In& x) { return xgrad::where(mask, x[0], x[1]); },
         {var({2, 1}), var({3})}},
        // Elementwise, unary; log/sqrt/fractional powers on positive inputs, kinks avoided.
        {"neg", [](const In& x) { return neg(x[0]); }, {var({2, 3})}},
        {"neg", [](const In& x) { return neg(x[0]); }, {var({})}},
        {"pow_scalar", [](const In& x) { return pow(x[0], 3.0); }, {var({2, 3})}},
        {"pow_scalar", [](const In& x) { return pow(x[0], 0.5); }, {var({2, 3}, 3.0)}},
        {"pow_scalar", [](const In& x) { return pow(x[0], -2.0); }, {var({}, 3.0)}},
        {"exp", [](const In& x) { return exp(x[0]); }, {var({2, 3})}},
        {"exp", [](const In& x) { return exp(x[0]); }, {var({})}},
        {"log", [](const In& x) { return log(x[0]); }, {var({2, 3}, 3.0)}},
        {"sqrt", [](const In& x) { return sqrt(x[0]); }, {var({2, 3}, 3.0)}},
        {"sqrt", [](const In& x) { return sqrt(x[0]); }, {var({}, 3.0)}},
        {"abs", [](const In& x) { return abs(x[0]); }, {spaced({2, 3}, -1.25, 1.25)}},
        {"sin", [](const In& x) { return sin(x[0]); }, {var({2, 3})}},
        {"cos", [](const In& x) { return cos(x[0]); }, {var({2, 3})}},
        {"tanh", [](const In& x) { return tanh(x[0]); }, {var({2, 3})}},
        {"tanh", [](const In& x) { return tanh(x[0]); }, {var({})}},
        {"sigmoid", [](const In& x) { return sigmoid(x[0]); }, {var({2, 3})}},
        {"relu", [](const In& x) { return relu(x[0]); }, {spaced({2, 3}, -1.25, 1.25)}},
        // Kinks at -0.8 and 0.4; the spaced values sit 0.2 away from both.
        {"clamp", [](const In& x) { return clamp(x[0], -0.8, 0.4); }, {spaced({2, 4}, -1.4, 1.4)}},
        // Linear algebra: all four transpose-flag combinations, matrix-vector, vector-matrix.
        {"matmul", [](const In& x) { return matmul(x[0], x[1]); }, {var({2, 3}), var({3, 4})}},
        {"matmul", [](const In& x) { return matmul(x[0], x[1], true, false); },
         {var({3, 2}), var({3, 4})}},
        {"matmul", [](const In& x) { return matmul(x[0], x[1], false, true); },
         {var({2, 3}), var({4, 3})}},
        {"matmul", [](const In& x) { return matmul(x[0], x[1], true, true); },
         {var({3, 2}), var({4, 3})}},
        {"matmul", [](const In& x) { return matmul(x[0], x[1]); }, {var({2, 3}), var({3})}},
        {"matmul", [](const In& x) { return matmul(x[0], x[1]); }, {var({3}), var({3, 4})}},
        {"linear", [](const In& x) { return linear(x[0], x[1], x[2]); },
         {var({2, 3}), var({4, 3}), var({4})}},
        {"linear", [](const In& x) { return linear(x[0], x[1], x[2]); },
         {var({3}), var({4, 3}), var({4})}},
        {"linear_tanh", [](const In& x) { return linear(x[0], x[1], x[2], Nonlinearity::tanh); },
         {var({2, 3}), var({4, 3}), var({4})}},
        {"linear_tanh", [](const In& x) { return linear(x[0], x[1], x[2], Nonlinearity::tanh); },
         {var({3}), var({4, 3}), var({4})}},
        {"linear_sigmoid", [](const In& x) { return linear(x[0], x[1], x[2], Nonlinearity::sigmoid); },
         {var({2, 3}), var({4, 3}), var({4})}},
        // relu's kink: x W^T + b sits at least 0.14 away from 0 for these values.
        {"linear_relu", [](const In& x) { return linear(x[0], x[1], x[2], Nonlinearity::relu); },
         {spaced({2, 3}, -1.0, 1.5), spaced({4, 3}, -0.9, 1.1), leaf_values({0.05, -0.3, 0.2, -0.15})}},
        {"transpose", [](const In& x) { return transpose(x[0]); }, {var({2, 3})}},
        {"transpose", [](const In& x) { return transpose(x[0], {-1, 0, 1}); }, {var({2, 3, 4})}},
        // Shape.
        {"reshape", [](const In& x) { return reshape(x[0], {3, 2}); }, {var({2, 3})}},
        {"reshape", [](const In& x) { return reshape(x[0], {1, 1}); }, {var({})}},
        {"broadcast_to", [](const In& x) { return broadcast_to(x[0], {2, 3, 4}); }, {var({3, 1})}},
        {"broadcast_to", [](const In& x) { return broadcast_to(x[0], {2, 2}); }, {var({})}},
        {"sum_to", [](const In& x) { return sum_to(x[0], {3, 1}); }, {var({2, 3, 4})}},
        {"sum_to", [](const In& x) { return sum_to(x[0], {}); }, {var({2, 3})}},
        {"take_rows", [](const In& x) { return take_rows(x[0], {3, 0, 3, 1}); }, {var({4, 2})}},
        {"take_rows", [](const In& x) { return take_rows(x[0], {2, 2, 0}); }, {var({3})}},
        {"scatter_rows", [](const In& x) { return scatter_rows(x[0], {1, 3, 1}, 4); },
         {var({3, 2})}},
        {"slice_rows", [](const In& x) { return slice_rows(x[0], 1, 3); }, {var({4, 3})}},
        // Reductions: all axes, chosen axes (negative too), with and without keepdims.
        {"sum", [](const In& x) { return sum(x[0]); }, {var({2, 3, 4})}},
        {"sum", [](const In& x) { return sum(x[0], {}, true); }, {var({2, 3})}},
        {"sum", [](const In& x) { return sum(x[0], {1}); }, {var({2, 3, 4})}},
        {"sum", [](const In& x) { return sum(x[0], {-1}, true); }, {var({2, 3, 4})}},
        {"sum", [](const In& x) { return sum(x[0], {0, 2}); }, {var({2, 3, 4})}},
        {"sum", [](const In& x) { return sum(x[0]); }, {var({})}},
        {"mean", [](const In& x) { return mean(x[0]); }, {var({2, 3, 4})}},
        {"mean", [](const In& x) { return mean(x[0], {-2}, true); }, {var({2, 3, 4})}},
        {"mean", [](const In& x) { return mean(x[0], {0, 2}); }, {var({2, 3, 4})}},
        {"max", [](const In& x) { return max(x[0]); }, {var({2, 3, 4})}},
        {"max", [](const In& x) { return max(x[0], {}, true); }, {var({2, 3})}},
        {"max", [](const In& x) { return max(x[0], {1}); }, {var({2, 3, 4})}},
        {"max", [](const In& x) { return max(x[0], {-1}, true); }, {var({2, 3, 4})}},
        {"max", [](const In& x) { return max(x[0], {0, 2}); }, {var({2, 3, 4})}},
        // Softmax family.
        {"logsumexp", [](const In& x) { return logsumexp(x[0], 1); }, {var({2, 3})}},
        {"logsumexp", [](const In& x) { return logsumexp(x[0], -2, true); }, {var({2, 3})}},
        {"logsumexp", [](const In& x) { return logsumexp(x[0], 0); }, {var({4})}},
        {"softmax", [](const In& x) { return softmax(x[0], -1); }, {var({2, 3})}},
        {"softmax", [](const In& x) { return softmax(x[0], 0); }, {var({3, 2})}},
        {"log_softmax", [](const In& x) { return log_softmax(x[0], 1); }, {var({2, 3})}},
        {"log_softmax", [](const In& x) { return log_softmax(x[0], -2); }, {var({3, 2})}},
        // Losses.
        {"softmax_cross_entropy",
         [labels](const In& x) { return softmax_cross_entropy(x[0], labels); }, {var({3, 4})}},
        {"softmax_cross_entropy",
         [repeated_labels](const In& x) { return softmax_cross_entropy(x[0], repeated_labels); },
         {var({4, 3})}},
        {"softmax_cross_entropy",
         [](const In& x) { return softmax_cross_entropy(x[0], x[1]); },
         {var({3, 4}), softmax(var({3, 4}), 1).detach().set_requires_grad(true)}},
        {"squared_error", [](const In& x) { return squared_error(x[0], x[1]); },
         {var({2, 3}), var({2, 3})}},
        {"squared_error", [](const In& x) { return squared_error(x[0], x[1]); },
         {var({}), var({})}},
        {"squared_error", [](const In& x) { return squared_error(x[0], x[1], -0.25); },
         {var({3, 2}), var({3, 2})}},
        {"sigmoid_cross_entropy", [](const In& x) { return sigmoid_cross_entropy(x[0], x[1]); },
         {var({2, 3}), sigmoid(var({2, 3})).detach().set_requires_grad(true)}},
    };
    return rows;
}

}  // namespace

TEST_CASE("gradcheck: every row of the op table, float64") {
    for (const Row& row : gradient_rows()) {
        for (const Tensor& x : row.inputs) CHECK(x.dtype() == Dtype::float64);
        check_row(row);
    }
}

TEST_CASE("every op in the catalogue has a gradcheck row, and every row names one") {
    std::set<std::string_view> covered;
    for (const Row& row : gradient_rows()) covered.insert(row.op);
    xgrad::testing::check_covers_catalogue(covered, "a gradcheck row");
    for (std::string_view op : covered) {
        INFO("row names an op missing from the catalogue: " << op);
        CHECK(std::find(op_catalogue.begin(), op_catalogue.end(), op) != op_catalogue.end());
    }
}

TEST_CASE("gradcheck: float32 smoke rows") {
    const Labels labels = {1, 0};
    const std::vector<Row> rows = {
        {"matmul", [](const In& x) { return matmul(x[0], x[1], false, true); },
         {var32({2, 3}, 101), var32({4, 3}, 102)}},
        {"tanh", [](const In& x) { return tanh(x[0]); }, {var32({2, 3}, 103)}},
        {"softmax_cross_entropy",
         [labels](const In& x) { return softmax_cross_entropy(x[0], labels); },
         {var32({2, 3}, 104)}},
    };
    for (const Row& row : rows) {
        CHECK(row.f(row.inputs).dtype() == Dtype::float32);
        check_row(row);
    }
}

TEST_CASE("ties split the gradient equally: max, maximum, minimum") {
    Tensor x = Tensor({1.0, 3.0, 3.0}, Dtype::float64).set_requires_grad();
    max(x).backward();
    check_values(x.grad(), {0.0, 0.5, 0.5});

    Tensor m = Tensor({{2.0, 2.0, 1.0}, {0.0, 5.0, 4.0}}, Dtype::float64).set_requires_grad();
    sum(max(m, {1})).backward();
    check_values(m.grad(), {0.5, 0.5, 0.0, 0.0, 1.0, 0.0});

    Tensor a = Tensor({1.0, 2.0}, Dtype::float64).set_requires_grad();
    Tensor b = Tensor({1.0, 3.0}, Dtype::float64).set_requires_grad();
    sum(maximum(a, b)).backward();
    check_values(a.grad(), {0.5, 0.0});
    check_values(b.grad(), {0.5, 1.0});
    a.set_grad(Tensor());
    b.set_grad(Tensor());
    sum(minimum(a, b)).backward();
    check_values(a.grad(), {0.5, 1.0});
    check_values(b.grad(), {0.5, 0.0});
}

TEST_CASE("forward values: logsumexp, log_softmax and cross-entropy stay finite at +-1e4") {
    const Tensor z = Tensor({{1e4, -1e4}, {1e4, 1e4}, {-1e4, -1e4}}, Dtype::float64);
    const double ln2 = std::log(2.0);
    check_values(logsumexp(z, 1), {1e4, 1e4 + ln2, -1e4 + ln2});
    // x - logsumexp cancels at magnitude 1e4: exact up to an ulp of 1e4 (~2e-12).
    check_values(log_softmax(z, 1), {0.0, -2e4, -ln2, -ln2, -ln2, -ln2}, 1e-11);
    const Labels labels = {0, 1};
    const Tensor logits = Tensor({{0.0, 0.0}, {1e4, 0.0}}, Dtype::float64);
    check_values(softmax_cross_entropy(logits, labels), {ln2, 1e4});
}

TEST_CASE("forward values: softmax rows sum to 1, even for widely spread logits") {
    const Tensor p = softmax(testing::variable({4, 5}, 201) * 200.0, 1);
    for (std::size_t row = 0; row < 4; ++row) {
        double total = 0.0;
        for (std::size_t col = 0; col < 5; ++col) {
            const double v = testing::at(p, row * 5 + col);
            CHECK((v >= 0.0 && v <= 1.0));
            total += v;
        }
        CHECK(total == doctest::Approx(1.0).epsilon(1e-12));
    }
}

TEST_CASE("forward values: sigmoid saturates exactly, without NaN, in value and gradient") {
    for (Dtype dtype : {Dtype::float64, Dtype::float32}) {
        Tensor x = Tensor({-1000.0, 0.0, 1000.0}, dtype).set_requires_grad();
        const Tensor y = sigmoid(x);
        check_values(y, {0.0, 0.5, 1.0});
        sum(y).backward();
        check_values(x.grad(), {0.0, 0.25, 0.0});
    }
}

TEST_CASE("forward values: sigmoid_cross_entropy is stable at +-1e4 and smooth at 0") {
    const Tensor x = Tensor({-1e4, 0.0, 1e4}, Dtype::float64).set_requires_grad();
    const Tensor t({1.0, 0.25, 0.0}, Dtype::float64);
    const Tensor loss = sigmoid_cross_entropy(x, t);
    CHECK(testing::at(loss, 0) == 1e4);                          // -log sigmoid(-1e4)
    CHECK(testing::at(loss, 1) == doctest::Approx(std::log(2.0)).epsilon(1e-15));
    CHECK(testing::at(loss, 2) == 1e4);                          // -log(1 - sigmoid(1e4))
    sum(loss).backward();
    CHECK(testing::at(x.grad(), 0) == -1.0);                     // sigmoid(x) - t
    CHECK(testing::at(x.grad(), 1) == 0.25);
    CHECK(testing::at(x.grad(), 2) == 1.0);
}

TEST_CASE("forward values: matmul against a hand-multiplied 2x3 @ 3x2") {
    const Tensor a = Tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, Dtype::float64);
    const Tensor b = Tensor({{7.0, 8.0}, {9.0, 10.0}, {11.0, 12.0}}, Dtype::float64);
    const std::vector<double> expected = {58.0, 64.0, 139.0, 154.0};
    CHECK(matmul(a, b).shape() == Shape{2, 2});
    check_values(matmul(a, b), expected);
    // The same product from stored transposes, through the flags.
    const Tensor a_t = Tensor({{1.0, 4.0}, {2.0, 5.0}, {3.0, 6.0}}, Dtype::float64);
    const Tensor b_t = Tensor({{7.0, 9.0, 11.0}, {8.0, 10.0, 12.0}}, Dtype::float64);
    check_values(matmul(a_t, b_t, true, true), expected);
    check_values(matmul(a, Tensor({1.0, 0.0, -1.0}, Dtype::float64)), {-2.0, -2.0});
    check_values(matmul(Tensor({1.0, -1.0}, Dtype::float64), a), {-3.0, -3.0, -3.0});
}
