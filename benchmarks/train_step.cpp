// W0–W3: one MLP training step (forward, loss, backward, SGD update), float32, through
// autograd (nn::MLP, nn loss, nn::SGD) and through the hand-written twin, side by side.
// Names: train_step/W<k>/<autograd|twin>/threads:<n>. Both refuse to run if the twin's
// gradients disagree with autograd's on the workload.
// Counters: graph_nodes and graph_bytes (what one step's graph holds after the loss),
// peak_bytes (the step's peak heap, parameters and batch included), FLOP/s on W1–W3.

#include <benchmark/benchmark.h>

#include <map>

#include <pairing.hpp>

#include "heap_counter.hpp"
#include "workloads.hpp"

using namespace xgrad;
using namespace xgrad::twin;
using bench::learning_rate;
using bench::workloads;

namespace {

struct AutogradStep {
    const Problem& problem;
    nn::MLP model;
    Batch batch;
    nn::SGD optimizer;
    AutogradStep(const Problem& p, std::uint64_t seed)
        : problem(p), model(make_model(p, Dtype::float32, seed)),
          batch(make_batch(p, Dtype::float32, seed + 1)),
          optimizer(model.parameters(), learning_rate) {}
    void run() {
        optimizer.zero_grad();
        autograd_loss(problem, model, batch).backward();
        optimizer.step();
    }
};

struct TwinStep {
    MlpTwin<float> twin;
    Batch batch;
    TwinStep(const Problem& p, std::uint64_t seed)
        : twin([&] {
              nn::MLP model = make_model(p, Dtype::float32, seed);
              return make_twin<float>(p, model);
          }()),
          batch(make_batch(p, Dtype::float32, seed + 1)) {}
    void run() {
        twin.train_step(batch.inputs.value<float>().data(), batch.labels.data(),
                        batch.targets.value<float>().data(), learning_rate);
    }
};

// True once the twin's float32 gradients on `problem` are within 1e-4 relative of autograd's.
bool twin_agrees(const std::string& tag) {
    static std::map<std::string, bool> verdicts;
    if (verdicts.count(tag) == 0) {
        const Problem& problem = workloads.at(tag);
        nn::MLP model = make_model(problem, Dtype::float32, 1);
        MlpTwin<float> twin = make_twin<float>(problem, model);
        const Batch batch = make_batch(problem, Dtype::float32, 2);
        verdicts[tag] = gradient_disagreement(problem, model, twin, batch, 1e-5) <= 1e-4;
    }
    return verdicts[tag];
}

// The peak heap of one step (after a warm-up step) counted from before the side was built.
// The engine's caches are emptied first, so blocks reused from earlier benchmarks are counted.
template <class Step>
double step_peak_bytes(const Problem& problem) {
    release_cached_memory();
    bench::start_counting();
    double peak = 0;
    {
        Step step(problem, 1);
        step.run();
        bench::reset_peak();
        step.run();
        peak = double(bench::peak_bytes());
    }
    bench::stop_counting();
    return peak;
}

template <class Step>
void train_step(benchmark::State& state, const std::string& tag) {
    set_num_threads(int(state.range(0)));
    if (!twin_agrees(tag)) return state.SkipWithError("the twin disagrees with autograd");
    const Problem& problem = workloads.at(tag);
    state.counters["peak_bytes"] = step_peak_bytes<Step>(problem);

    Step step(problem, 1);
    const std::int64_t nodes_before = Node::live_count();
    release_cached_memory();  // the graph's blocks then come from the heap, where they are counted
    bench::start_counting();
    if constexpr (std::is_same_v<Step, AutogradStep>) {
        const Tensor loss = autograd_loss(problem, step.model, step.batch);
        state.counters["graph_nodes"] = double(Node::live_count() - nodes_before);
        state.counters["graph_bytes"] = double(bench::live_bytes());
    } else {
        state.counters["graph_nodes"] = 0;
        state.counters["graph_bytes"] = 0;
    }
    bench::stop_counting();

    for (auto _ : state) step.run();
    if (tag != "W0") {
        const double flops = TwinStep(problem, 1).twin.flops_per_step();
        state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
    }
}

}  // namespace

int main(int argc, char** argv) {
    for (const auto& [tag, problem] : workloads) {
        const std::string name = "train_step/" + tag + "/";
        const auto unit = tag == "W0" || tag == "W1" ? benchmark::kMicrosecond : benchmark::kMillisecond;
        for (const auto* impl : {"autograd", "twin"}) {
            auto* b = impl == std::string("autograd")
                          ? benchmark::RegisterBenchmark((name + impl).c_str(), train_step<AutogradStep>, tag)
                          : benchmark::RegisterBenchmark((name + impl).c_str(), train_step<TwinStep>, tag);
            b->ArgName("threads")->Arg(1)->Arg(2)->Unit(unit);
        }
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
