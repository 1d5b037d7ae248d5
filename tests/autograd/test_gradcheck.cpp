// Tests of the gradient checker itself: it must pass correct gradients, catch wrong ones,
// refuse vacuous checks, and say clearly what it compared.

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "support/check.hpp"

using namespace xgrad;
using xgrad::testing::variable;

namespace {

using Inputs = std::vector<Tensor>;
using Grads = std::vector<Tensor>;

Tensor square_values(const Tensor& x) {
    return visit(x, [](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        return Tensor(xt::xarray<T>(a * a));
    });
}

// square with a deliberately wrong backward: grad_out * x instead of grad_out * 2x.
Tensor bad_square(const Tensor& x) {
    return record_op("bad_square", square_values(x), {x}, {x}, [](const BackwardContext& ctx) {
        return Grads{ctx.grad_out * ctx.saved(0)};
    });
}

// square whose backward returns NaN everywhere.
Tensor nan_square(const Tensor& x) {
    return record_op("nan_square", square_values(x), {x}, {}, [](const BackwardContext& ctx) {
        return Grads{ctx.grad_out * std::numeric_limits<double>::quiet_NaN()};
    });
}

// A float64 leaf that requires grad, with the given values.
Tensor vec64(std::initializer_list<double> values) {
    return Tensor(values, Dtype::float64).set_requires_grad();
}

// A composite of many ops: softmax(tanh(a @ b) * exp(c)) summed over columns with log.
Tensor composite(const Inputs& in) {
    const Tensor hidden = tanh(matmul(in[0], in[1])) * exp(in[2]);
    return log(sum(softmax(hidden, 1), {0}) + 1.0);
}

}  // namespace

TEST_CASE("gradcheck passes a correct composite function") {
    const Inputs inputs = {variable({3, 4}, 1), variable({4, 5}, 2), variable({5}, 3)};
    const GradcheckReport report = gradcheck(composite, inputs);
    INFO(to_string(report));
    CHECK(report.passed);
    CHECK(static_cast<bool>(report));
    CHECK_FALSE(report.vacuous);
    CHECK(report.failed == 0);
    CHECK(report.dtype == Dtype::float64);
    CHECK(report.atol == 1e-6);
    CHECK(report.rtol == 1e-5);
    // Full Jacobian: 5 outputs times (12 + 20 + 5) input elements.
    CHECK(report.compared == 5 * 37);
    CHECK(report.max_abs_error < 1e-8);
    CHECK(report.worst.size() == 5);  // options.worst
}

TEST_CASE("gradcheck leaves the caller's inputs alone") {
    const Tensor x = variable({3}, 4);
    const xt::xarray<double> before = x.value<double>();
    const auto f = [](const Inputs& in) { return sum(exp(in[0])); };
    CHECK(gradcheck(f, {x}).passed);
    CHECK(x.value<double>() == before);
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("gradcheck compares only the inputs that require grad") {
    const Tensor a = vec64({1.0, 2.0, 3.0});
    const Tensor b = Tensor({4.0, 5.0, 6.0}, Dtype::float64);  // a constant
    const GradcheckReport report = gradcheck([](const Inputs& in) { return in[0] * in[1]; }, {a, b});
    CHECK(report.passed);
    CHECK(report.compared == 3 * 3);
    for (const auto& entry : report.worst) CHECK(entry.input == 0);
}

TEST_CASE("gradcheck catches a custom op with a wrong backward") {
    // Analytic d(x²)/dx from bad_square is x; the central difference gives 2x.
    const Tensor x = vec64({1.0, -2.0, 3.0});
    const GradcheckReport report = gradcheck([](const Inputs& in) { return bad_square(in[0]); }, {x});
    INFO(to_string(report));
    CHECK_FALSE(report.passed);
    CHECK_FALSE(report.vacuous);
    CHECK(report.compared == 9);
    CHECK(report.failed == 3);  // the diagonal; off-diagonal entries are 0 on both sides
    CHECK(report.max_abs_error == doctest::Approx(3.0).epsilon(1e-6));
    CHECK(report.max_rel_error == doctest::Approx(0.5).epsilon(1e-6));
    // Worst: element 2, where the error 3 is largest against atol + rtol * |6|.
    REQUIRE_FALSE(report.worst.empty());
    const GradcheckEntry& worst = report.worst.front();
    CHECK(worst.input == 0);
    CHECK(worst.index == Shape{2});
    CHECK(worst.output == 2);
    CHECK(worst.analytic == doctest::Approx(3.0));
    CHECK(worst.numeric == doctest::Approx(6.0).epsilon(1e-8));
    CHECK(worst.abs_error == doctest::Approx(3.0).epsilon(1e-6));
    CHECK(worst.rel_error == doctest::Approx(0.5).epsilon(1e-6));
}

TEST_CASE("gradcheck catches a wrong backward hidden inside a larger function") {
    const auto f = [](const Inputs& in) { return sum(tanh(bad_square(in[0]) + in[1])); };
    const Tensor a = vec64({0.5, -1.0, 1.5, 0.8}), b = vec64({0.1, -0.3, 0.2, -2.0});
    const GradcheckReport report = gradcheck(f, {a, b});
    CHECK_FALSE(report.passed);
    CHECK(report.failed == 4);  // every element of input 0; input 1 is right
    for (const auto& entry : report.worst) {
        if (entry.input == 1) CHECK(entry.abs_error < 1e-8);
    }
    CHECK(report.worst.front().input == 0);
}

TEST_CASE("gradcheck counts NaN gradients as failures") {
    const GradcheckReport report = gradcheck([](const Inputs& in) { return nan_square(in[0]); },
                                             {vec64({1.0, 2.0})});
    CHECK_FALSE(report.passed);
    CHECK(report.failed == report.compared);
    CHECK(std::isinf(report.max_abs_error));
    CHECK(std::isnan(report.worst.front().analytic));
}

TEST_CASE("gradcheck refuses a vacuous check unless allowed") {
    const Tensor x = vec64({1.0, 2.0, 3.0});
    const auto zero_times = [](const Inputs& in) { return 0.0 * in[0]; };
    const auto constant = [](const Inputs&) { return full({2}, 3.0, Dtype::float64); };
    for (const GradcheckFunction& f : {GradcheckFunction(zero_times), GradcheckFunction(constant)}) {
        const GradcheckReport report = gradcheck(f, {x});
        CHECK_FALSE(report.passed);
        CHECK(report.vacuous);
        CHECK(report.failed == 0);  // nothing is wrong, there is just nothing to compare
        CHECK(report.max_abs_error == 0.0);
        CHECK(to_string(report).find("vacuous") != std::string::npos);

        GradcheckOptions options;
        options.allow_vacuous = true;
        const GradcheckReport allowed = gradcheck(f, {x}, options);
        CHECK(allowed.passed);
        CHECK(allowed.vacuous);
    }
}

TEST_CASE("gradcheck in random-direction mode") {
    GradcheckOptions options;
    options.random_directions = true;
    options.directions = 6;

    SUBCASE("passes a correct larger function") {
        const Inputs inputs = {variable({20, 30}, 7), variable({30, 10}, 8), variable({10}, 9)};
        const GradcheckReport report = gradcheck(composite, inputs, options);
        INFO(to_string(report));
        CHECK(report.passed);
        CHECK(report.random_directions);
        CHECK(report.compared == 6);
        CHECK(report.worst.size() == 5);
        CHECK(report.worst.front().index.size() == 1);
        CHECK(report.worst.front().index[0] < 6);
    }
    SUBCASE("catches the wrong backward") {
        const auto f = [](const Inputs& in) { return tanh(matmul(bad_square(in[0]), in[1])); };
        const GradcheckReport report =
            gradcheck(f, {variable({8, 6}, 10), variable({6, 4}, 11)}, options);
        INFO(to_string(report));
        CHECK_FALSE(report.passed);
        CHECK(report.failed > 0);
        CHECK(report.compared == 6);
    }
    SUBCASE("the same seed gives the same report") {
        const auto f = [](const Inputs& in) { return exp(in[0]) * in[0]; };
        const Tensor x = variable({5}, 12);
        const GradcheckReport first = gradcheck(f, {x}, options);
        const GradcheckReport second = gradcheck(f, {x}, options);
        REQUIRE(first.worst.size() == second.worst.size());
        for (std::size_t i = 0; i < first.worst.size(); ++i) {
            CHECK(first.worst[i].analytic == second.worst[i].analytic);
        }
    }
}

TEST_CASE("gradcheck reports print readably") {
    const Tensor x = vec64({1.0, -2.0, 3.0});
    const std::string good = to_string(gradcheck([](const Inputs& in) { return in[0] * in[0]; }, {x}));
    CHECK(good.find("gradcheck PASSED") == 0);
    CHECK(good.find("full Jacobian") != std::string::npos);
    CHECK(good.find("float64") != std::string::npos);

    const GradcheckReport bad = gradcheck([](const Inputs& in) { return bad_square(in[0]); }, {x});
    const std::string text = to_string(bad);
    INFO(text);
    CHECK(text.find("gradcheck FAILED") == 0);
    CHECK(text.find("3 outside tolerance") != std::string::npos);
    CHECK(text.find("input 0 index (2,) output 2: analytic 3, numeric 6") != std::string::npos);
    std::ostringstream streamed;
    streamed << bad;
    CHECK(streamed.str() == text);

    GradcheckOptions options;
    options.random_directions = true;
    const std::string random_text =
        to_string(gradcheck([](const Inputs& in) { return bad_square(in[0]); }, {x}, options));
    CHECK(random_text.find("random directions") != std::string::npos);
    CHECK(random_text.find("direction 0") != std::string::npos);
}

TEST_CASE("gradcheck tolerances: float32 defaults are looser, explicit ones win") {
    const Tensor x32 = variable({4}, 13).to(Dtype::float32).set_requires_grad();
    const auto f = [](const Inputs& in) { return tanh(in[0]) * in[0]; };
    const GradcheckReport report = gradcheck(f, {x32});
    INFO(to_string(report));
    CHECK(report.passed);
    CHECK(report.dtype == Dtype::float32);
    CHECK(report.atol == doctest::Approx(1e-4));
    CHECK(report.rtol == doctest::Approx(1e-3));
    CHECK(to_string(report).find("float32") != std::string::npos);

    // A wrong backward is still caught at float32.
    CHECK_FALSE(gradcheck([](const Inputs& in) { return bad_square(in[0]); }, {x32}).passed);

    GradcheckOptions options;
    options.atol = 1e-3;
    options.rtol = 0.0;
    const GradcheckReport explicit_tol = gradcheck(f, {variable({4}, 13)}, options);
    CHECK(explicit_tol.atol == 1e-3);
    CHECK(explicit_tol.rtol == 0.0);
    // A loose enough tolerance accepts even bad_square's error |x - 2x| <= 10.
    options.atol = 10.0;
    CHECK(gradcheck([](const Inputs& in) { return bad_square(in[0]); }, {vec64({1.0, 2.0})},
                    options).passed);
}

TEST_CASE("gradcheck rejects inputs it cannot check") {
    const auto f = [](const Inputs& in) { return in[0] * 2.0; };
    const Tensor constant = Tensor({1.0, 2.0}, Dtype::float64);
    CHECK_THROWS_AS(gradcheck(f, {constant}), value_error);
    CHECK_THROWS_WITH_AS(gradcheck(f, {constant}), doctest::Contains("no input requires grad"),
                         value_error);
    CHECK_THROWS_AS(gradcheck(f, {vec64({1.0}), Tensor()}), value_error);
}
