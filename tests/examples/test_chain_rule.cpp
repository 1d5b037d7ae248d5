// The chain_rule example: autograd's ∂u/∂r and ∂u/∂t equal the closed forms it prints.

#include <doctest/doctest.h>

#include "support/run.hpp"

using namespace xgrad::testing;

TEST_CASE("chain_rule prints autograd's partial derivatives equal to the closed forms") {
    const RunResult result = run(EXAMPLE_PATH);
    REQUIRE(result.exit_code == 0);
    const auto autograd = numbers_after(result.output, R"(autograd (-?[0-9.e-]+))");
    const auto closed = numbers_after(result.output, R"(closed form (-?[0-9.e-]+))");
    REQUIRE(autograd.size() == 4);
    REQUIRE(closed.size() == 4);
    for (std::size_t i = 0; i < 4; ++i) CHECK(autograd[i] == doctest::Approx(closed[i]).epsilon(1e-10));
    // r = 1.5, t = 0.7: ∂u/∂r = 2r sin² t, ∂u/∂t = (r² + 2) sin 2t.
    CHECK(autograd[0] == doctest::Approx(1.2450492856496385).epsilon(1e-10));
    CHECK(autograd[1] == doctest::Approx(4.1881613524509556).epsilon(1e-10));
}
