// The graph_picture example: it writes a DOT graph of the network, rendered when dot exists.

#include <doctest/doctest.h>

#include <filesystem>

#include "support/run.hpp"
#include "support/temp_dir.hpp"

using namespace xgrad::testing;

TEST_CASE("graph_picture writes the DOT graph with named weights, values and gradients") {
    TempDir dir;
    const RunResult result = run(std::string(EXAMPLE_PATH) + " --output-dir " + dir.path().string());
    REQUIRE(result.exit_code == 0);
    const std::string dot = read_bytes(dir.file("graph.dot"));
    CHECK(dot.rfind("digraph xgrad {", 0) == 0);
    for (const char* part : {"W1 = leaf\\n(5, 3) float32", "b2 = leaf", "logits = linear\\n(4, 2) float32",
                             "softmax_cross_entropy", "linear", "relu", "grad ["}) {
        CHECK_MESSAGE(dot.find(part) != std::string::npos, part);
    }
    const bool rendered = result.output.find("wrote " + dir.file("graph.svg")) != std::string::npos;
    CHECK(rendered == std::filesystem::exists(dir.file("graph.svg")));
    if (rendered) CHECK(read_bytes(dir.file("graph.svg")).find("<svg") != std::string::npos);
}
