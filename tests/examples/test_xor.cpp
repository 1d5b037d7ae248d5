// The xor example: the decision table it prints is XOR, and the hidden units separate it.

#include <doctest/doctest.h>

#include <regex>

#include "support/run.hpp"

using namespace xgrad::testing;

TEST_CASE("xor learns the XOR table with a 2-2-1 network") {
    const RunResult result = run(EXAMPLE_PATH);
    REQUIRE(result.exit_code == 0);
    CHECK(result.output.find("4 of 4 correct: XOR learned") != std::string::npos);
    // The last table printed: x1 x2 XOR h1 h2 output class.
    const std::string table = result.output.substr(result.output.rfind("x1  x2"));
    const std::regex row(R"(\n *([01]) +([01]) +([01]) +(-?[0-9.]+) +(-?[0-9.]+) +([0-9.]+) +([01]))");
    int rows = 0;
    for (auto it = std::sregex_iterator(table.begin(), table.end(), row); it != std::sregex_iterator(); ++it, ++rows) {
        const int x1 = std::stoi((*it)[1]), x2 = std::stoi((*it)[2]), target = std::stoi((*it)[3]);
        const double output = std::stod((*it)[6]);
        CHECK(target == (x1 ^ x2));
        CHECK(std::stoi((*it)[7]) == target);
        CHECK((target == 1 ? output > 0.9 : output < 0.1));
    }
    CHECK(rows == 4);
}

TEST_CASE("xor rejects bad options with CLI11's message") {
    const RunResult result = run(std::string(EXAMPLE_PATH) + " --steps 0");
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("--steps") != std::string::npos);
}
