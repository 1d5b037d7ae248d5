// Randomized gradient testing: seeded random expression graphs over the whole catalogue
// (tests/support/random_graph.hpp), each gradchecked in float64 over its full Jacobian.
// A failure prints the seed and the program; XGRAD_GRAPH_SEED=<seed> replays that one graph.

#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "support/check.hpp"
#include "support/random_graph.hpp"

using namespace xgrad;
using xgrad::testing::RandomGraph;

namespace {

constexpr std::uint64_t graph_count = 1000;
constexpr int steps_per_graph = 16;

/// The seeds to run: XGRAD_GRAPH_SEED alone if set, else 1..graph_count.
std::pair<std::uint64_t, std::uint64_t> seed_range() {
    if (const char* seed = std::getenv("XGRAD_GRAPH_SEED")) {
        const std::uint64_t s = std::strtoull(seed, nullptr, 10);
        return {s, s + 1};
    }
    return {1, graph_count + 1};
}

}  // namespace

TEST_CASE("random expression graphs gradcheck in float64") {
    std::map<std::string, int> uses;
    std::uint64_t vacuous = 0;
    const auto [first, last] = seed_range();
    for (std::uint64_t seed = first; seed < last; ++seed) {
        const RandomGraph graph(seed, steps_per_graph);
        for (const std::string& op : graph.op_names()) ++uses[op];
        GradcheckOptions options;
        options.allow_vacuous = true;  // e.g. sub(v, v): zero gradients are still checked
        const GradcheckReport report = gradcheck(graph, graph.inputs(), options);
        vacuous += report.vacuous;
        if (!report.passed) {
            FAIL_CHECK(graph.describe() << to_string(report));
        }
    }
    if (last - first == graph_count) {  // the full run reaches every op, mostly non-trivially
        CHECK(vacuous < graph_count / 20);
        for (std::string_view op : op_catalogue) {
            INFO("op " << op);
            CHECK(uses[std::string(op)] >= 20);
        }
    }
}

TEST_CASE("the same seed gives the same graph; graphs differ across seeds") {
    CHECK(RandomGraph(7, steps_per_graph).describe() == RandomGraph(7, steps_per_graph).describe());
    CHECK(RandomGraph(7, steps_per_graph).describe() != RandomGraph(8, steps_per_graph).describe());
    const RandomGraph graph(7, steps_per_graph);
    CHECK(graph.op_names().size() >= steps_per_graph);
    CHECK(graph.describe().find("seed 7") != std::string::npos);
}

TEST_CASE("random graphs give bit-identical gradients whether the root is named or a temporary") {
    // A temporary root frees its graph during the sweep (Note [Freeing as it goes]); fan-out,
    // reuse and broadcasting must see the same sums in the same order either way.
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
        INFO("seed " << seed);
        const RandomGraph graph(seed, steps_per_graph);
        const std::int64_t live = Node::live_count();
        graph(graph.inputs()).backward();
        CHECK(Node::live_count() == live);
        std::vector<Tensor> freed_as_it_went;
        for (const Tensor& leaf : graph.inputs()) {
            freed_as_it_went.push_back(leaf.grad());
            Tensor(leaf).set_grad(Tensor());
        }
        const Tensor root = graph(graph.inputs());
        root.backward();
        for (std::size_t i = 0; i < graph.inputs().size(); ++i) {
            const Tensor& named = graph.inputs()[i].grad();
            REQUIRE(named.defined() == freed_as_it_went[i].defined());
            if (named.defined()) CHECK(named.value<double>() == freed_as_it_went[i].value<double>());
        }
    }
}
