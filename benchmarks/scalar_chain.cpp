// W4: the engine's cost per node. A chain x = tanh(x * w + b) of scalar operations, run
// forward and backward; the counter reports the time per recorded node.

#include <benchmark/benchmark.h>

#include <autograd/autograd.hpp>

using namespace xgrad;

static void train_step_W4_autograd(benchmark::State& state) {
    const auto steps = static_cast<std::size_t>(state.range(0));
    Tensor w = scalar(0.5, Dtype::float32).set_requires_grad();
    Tensor b = scalar(0.1, Dtype::float32).set_requires_grad();
    const std::int64_t nodes_before = Node::live_count();
    std::int64_t nodes = 0;
    for (auto _ : state) {
        Tensor x = scalar(0.3, Dtype::float32);
        for (std::size_t i = 0; i < steps; ++i) x = tanh(x * w + b);
        nodes = Node::live_count() - nodes_before;
        x.backward();
        benchmark::DoNotOptimize(w.grad());
    }
    if (!std::isfinite(w.grad().item())) state.SkipWithError("non-finite gradient");
    state.counters["nodes"] = static_cast<double>(nodes);
    // Seconds per node (shown with a unit suffix, e.g. 300n = 300 ns).
    state.counters["time_per_node"] = benchmark::Counter(
        static_cast<double>(nodes) * static_cast<double>(state.iterations()),
        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(train_step_W4_autograd)->Arg(100000)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
