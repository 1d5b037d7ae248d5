// The textbook example: its printed figures are the 2-2-2 network's true values (derived
// independently in tests/autograd/test_lecture_notes.cpp, halved for E = ½‖h − y‖²).

#include <doctest/doctest.h>

#include "support/run.hpp"

using namespace xgrad::testing;

namespace {

constexpr double tol = 1e-9;
// ∂E/∂W1, ∂E/∂b1, ∂E/∂W2, ∂E/∂b2 in the order printed (row-major), for E = ½‖h − y‖².
const double expected_grads[] = {
    0.00052057400403862430, 0.0010411480080772486, 0.00041552302128019456, 0.00083104604256038912,
    0.010411480080772486, 0.0083104604256038910,
    0.082667627847533255, 0.082167040564230780, -0.022745808700406420, -0.022608073254496996,
    0.13849856162855696, -0.038107562417234734,
};
const double initial[] = {0.25, 0.30, 0.15, 0.20, 0.35, 0.35, 0.45, 0.40, 0.50, 0.55, 0.60, 0.60};

}  // namespace

TEST_CASE("textbook prints the forward pass, every gradient with its finite difference, and an SGD step") {
    const RunResult result = run(std::string(EXAMPLE_PATH) + " --lr 0.5");
    REQUIRE(result.exit_code == 0);
    const std::string& out = result.output;
    CHECK(number_after(out, R"(E  = 1/2 \|h - y\|\^2 = ([0-9.]+))") == doctest::Approx(0.29837799468958918).epsilon(tol));
    CHECK(number_after(out, R"(h  = sigmoid\(a2\)  = \[([0-9.]+),)") == doctest::Approx(0.75136506955231571).epsilon(tol));
    CHECK(number_after(out, R"(delta2 = .* = \[([0-9.]+),)") == doctest::Approx(0.13849856162855696).epsilon(tol));

    const auto autograd = numbers_after(out, R"(dE/d\w+\[[0-9,]+\] +(-?[0-9.]+))");
    const auto numeric = numbers_after(out, R"(dE/d\w+\[[0-9,]+\] +-?[0-9.]+ +(-?[0-9.]+))");
    REQUIRE(autograd.size() == 12);
    REQUIRE(numeric.size() == 12);
    for (std::size_t i = 0; i < 12; ++i) {
        CAPTURE(i);
        CHECK(autograd[i] == doctest::Approx(expected_grads[i]).epsilon(tol));
        CHECK(numeric[i] == doctest::Approx(expected_grads[i]).epsilon(1e-6));
    }
    CHECK(out.find("gradcheck PASSED (12 entries") != std::string::npos);

    // After the step every parameter is p - 0.5 dE/dp (10 printed digits), and E went down.
    const std::string after = out.substr(out.find("One SGD step"));
    const auto stepped = numbers_after(after, R"((-?[0-9]\.[0-9]{10}))");
    REQUIRE(stepped.size() == 12 + 2);
    for (std::size_t i = 0; i < 12; ++i) CHECK(stepped[i] == doctest::Approx(initial[i] - 0.5 * expected_grads[i]).epsilon(1e-9));
    CHECK(number_after(after, R"(E after the step = ([0-9.]+))") < 0.29837799468958918);
}
