// W4: the engine's cost per node. A chain of 100,000 steps x = tanh(x * w + b) on 0-d float32
// tensors (three nodes a step), forward and backward, through autograd and by hand.
// time_per_node is the step time over the number of recorded nodes (shown as e.g. 300n = 300 ns);
// the twin's figure is what the arithmetic alone costs, so autograd's minus it is the engine's.

#include <autograd/autograd.hpp>

#include "heap_counter.hpp"
#include "scalar_chain.hpp"

using namespace xgrad;
using namespace xgrad::bench;

namespace {

struct ChainAutograd {
    Tensor w = scalar(w0).set_requires_grad();
    Tensor b = scalar(b0).set_requires_grad();
    Tensor forward() const {
        Tensor x = scalar(x0);
        for (std::size_t i = 0; i < chain_steps; ++i) x = tanh(x * w + b);
        return x;
    }
    Gradients run() {
        w.set_grad(Tensor());
        b.set_grad(Tensor());
        forward().backward();
        return {w.grad().item(), b.grad().item()};
    }
};

bool twin_agrees() {
    static const bool agrees = [] {
        const Gradients expected = ChainTwin().run(), actual = ChainAutograd().run();
        return close(actual.w, expected.w) && close(actual.b, expected.b);
    }();
    return agrees;
}

void chain_autograd(benchmark::State& state) {
    set_num_threads(int(state.range(0)));
    if (!twin_agrees()) return state.SkipWithError("the twin disagrees with autograd");
    ChainAutograd chain;
    const std::int64_t nodes_before = Node::live_count();
    release_cached_memory();  // the graph's blocks then come from the heap, where they are counted
    bench::start_counting();
    double graph_nodes = 0, graph_bytes = 0;
    {
        const Tensor x = chain.forward();
        graph_nodes = double(Node::live_count() - nodes_before);
        graph_bytes = double(bench::live_bytes());
    }
    bench::stop_counting();
    for (auto _ : state) benchmark::DoNotOptimize(chain.run());
    per_node_counters(state, graph_nodes, graph_bytes);
}

void chain_twin(benchmark::State& state) {
    set_num_threads(int(state.range(0)));
    if (!twin_agrees()) return state.SkipWithError("the twin disagrees with autograd");
    ChainTwin chain;
    for (auto _ : state) benchmark::DoNotOptimize(chain.run());
    per_node_counters(state, 0, 0);
}

}  // namespace

BENCHMARK(chain_autograd)->Name("train_step/W4/autograd")->ArgName("threads")->Arg(1)->Arg(2)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(chain_twin)->Name("train_step/W4/twin")->ArgName("threads")->Arg(1)->Arg(2)
    ->Unit(benchmark::kMillisecond);
