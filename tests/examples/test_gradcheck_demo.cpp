// The gradcheck_demo example: the correct gradients pass and the deliberately wrong one fails.

#include <doctest/doctest.h>

#include "support/run.hpp"

using namespace xgrad::testing;

TEST_CASE("gradcheck_demo passes the right backward and catches the wrong one") {
    const RunResult result = run(EXAMPLE_PATH);
    REQUIRE(result.exit_code == 0);
    const std::string& out = result.output;
    const auto passed = out.find("2. custom softplus");
    const auto wrong = out.find("3. custom softplus");
    REQUIRE(passed != std::string::npos);
    REQUIRE(wrong != std::string::npos);
    CHECK(out.substr(0, passed).find("gradcheck PASSED (full Jacobian, float64, 16 entries") != std::string::npos);
    CHECK(out.substr(passed, wrong - passed).find("gradcheck PASSED") != std::string::npos);
    CHECK(out.substr(wrong).find("gradcheck FAILED") != std::string::npos);
    CHECK(number_after(out.substr(wrong), R"(([0-9]+) outside tolerance)") == 5);
}
