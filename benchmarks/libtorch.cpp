// The peer column: W0–W4 in libtorch C++ (built only when libtorch-dev is installed), the
// step a user would write instead of xgrad. W0–W3: torch::nn::Linear layers holding the same
// parameters as the autograd benchmark's nn::MLP, the same loss, torch::optim::SGD; W4: the
// same chain of 0-d tensors. Names: train_step/W<k>/libtorch/threads:<n>. Each refuses to run
// if libtorch's gradients disagree with xgrad's (W0–W3) or with the hand-written chain (W4).

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <pairing.hpp>

#include "scalar_chain.hpp"
#include "workloads.hpp"

using namespace xgrad;
using namespace xgrad::twin;

namespace {

torch::Tensor to_torch(const Tensor& tensor) {
    const auto& array = tensor.value<float>();
    const std::vector<std::int64_t> shape(array.shape().begin(), array.shape().end());
    return torch::from_blob(const_cast<float*>(array.data()), shape, torch::kFloat32).clone();
}

torch::Tensor activate(const torch::Tensor& x, Activation h) {
    switch (h) {
        case Activation::identity: return x;
        case Activation::relu: return torch::relu(x);
        case Activation::tanh: return torch::tanh(x);
        case Activation::sigmoid: return torch::sigmoid(x);
    }
    throw value_error("libtorch benchmark: unknown activation");
}

torch::Tensor reduce(const torch::Tensor& squares, Reduction reduction) {
    switch (reduction) {
        case Reduction::mean: return squares.mean();
        case Reduction::sum: return squares.sum();
        case Reduction::half_sum: return 0.5 * squares.sum();
    }
    throw value_error("libtorch benchmark: unknown reduction");
}

// One training step of `problem` in libtorch, from the parameters of xgrad's nn::MLP.
struct TorchStep {
    const Problem& problem;
    std::vector<torch::nn::Linear> layers;
    torch::Tensor inputs, labels, targets;
    std::unique_ptr<torch::optim::SGD> optimizer;

    TorchStep(const Problem& p, nn::MLP& model, const Batch& batch) : problem(p) {
        std::vector<torch::Tensor> parameters;
        torch::NoGradGuard no_grad;
        for (std::size_t l = 0; l < model.depth(); ++l) {
            torch::nn::Linear layer(model.linear(l).in_features(), model.linear(l).out_features());
            layer->weight.copy_(to_torch(model.linear(l).weight()));
            layer->bias.copy_(to_torch(model.linear(l).bias()));
            parameters.push_back(layer->weight);
            parameters.push_back(layer->bias);
            layers.push_back(layer);
        }
        inputs = to_torch(batch.inputs);
        targets = to_torch(batch.targets);
        labels = torch::from_blob(const_cast<std::int64_t*>(batch.labels.data()),
                                  {std::int64_t(batch.labels.size())}, torch::kInt64).clone();
        optimizer = std::make_unique<torch::optim::SGD>(parameters, torch::optim::SGDOptions(bench::learning_rate));
    }

    torch::Tensor loss() {
        torch::Tensor x = inputs;
        for (std::size_t l = 0; l < layers.size(); ++l) {
            x = activate(layers[l]->forward(x), l + 1 < layers.size() ? problem.hidden : problem.output);
        }
        if (problem.loss == Loss::squared_error) return reduce((x - targets).pow(2), problem.reduction);
        auto options = torch::nn::functional::CrossEntropyFuncOptions();
        if (problem.reduction == Reduction::mean) options.reduction(torch::kMean);
        else options.reduction(torch::kSum);
        return torch::nn::functional::cross_entropy(x, labels, options);
    }

    void run() {
        optimizer->zero_grad();
        loss().backward();
        optimizer->step();
    }
};

// ‖g_torch − g_xgrad‖∞ / ‖g_xgrad‖∞ over the parameters, after one backward through each.
double disagreement(const Problem& problem) {
    nn::MLP model = make_model(problem, Dtype::float32, 1);
    const Batch batch = make_batch(problem, Dtype::float32, 2);
    TorchStep torch_step(problem, model, batch);
    autograd_loss(problem, model, batch).backward();
    torch_step.loss().backward();
    double worst = 0;
    for (std::size_t l = 0; l < model.depth(); ++l) {
        const std::pair<Tensor, torch::Tensor> pairs[] = {
            {model.linear(l).weight().grad(), torch_step.layers[l]->weight.grad()},
            {model.linear(l).bias().grad(), torch_step.layers[l]->bias.grad()}};
        for (const auto& [ours, theirs] : pairs) {
            const torch::Tensor expected = to_torch(ours);
            const double scale = expected.abs().max().item<double>();
            const double difference = (theirs - expected).abs().max().item<double>();
            worst = std::max(worst, scale > 0 ? difference / scale : difference);
        }
    }
    return worst;
}

void set_threads(benchmark::State& state) {
    set_num_threads(int(state.range(0)));  // OpenBLAS, should libtorch call it
    torch::set_num_threads(int(state.range(0)));
}

void train_step(benchmark::State& state, const std::string& tag) {
    set_threads(state);
    const Problem& problem = bench::workloads.at(tag);
    if (disagreement(problem) > 1e-4) return state.SkipWithError("libtorch disagrees with autograd");
    nn::MLP model = make_model(problem, Dtype::float32, 1);
    TorchStep step(problem, model, make_batch(problem, Dtype::float32, 2));
    for (auto _ : state) step.run();
}

struct TorchChain {
    torch::Tensor w = torch::tensor(bench::w0).requires_grad_();
    torch::Tensor b = torch::tensor(bench::b0).requires_grad_();
    bench::Gradients run() {
        w.mutable_grad() = torch::Tensor();
        b.mutable_grad() = torch::Tensor();
        torch::Tensor x = torch::tensor(bench::x0);
        for (std::size_t i = 0; i < bench::chain_steps; ++i) x = torch::tanh(x * w + b);
        x.backward();
        return {w.grad().item<double>(), b.grad().item<double>()};
    }
};

void chain(benchmark::State& state) {
    set_threads(state);
    TorchChain chain;
    const bench::Gradients expected = bench::ChainTwin().run(), actual = chain.run();
    if (!bench::close(actual.w, expected.w) || !bench::close(actual.b, expected.b)) {
        return state.SkipWithError("libtorch's chain disagrees with the twin");
    }
    for (auto _ : state) benchmark::DoNotOptimize(chain.run());
    bench::per_node_counters(state, 0, 0);
}

}  // namespace

int main(int argc, char** argv) {
    for (const auto& [tag, problem] : bench::workloads) {
        const auto unit = tag == "W0" || tag == "W1" ? benchmark::kMicrosecond : benchmark::kMillisecond;
        benchmark::RegisterBenchmark(("train_step/" + tag + "/libtorch").c_str(), train_step, tag)
            ->ArgName("threads")->Arg(1)->Arg(2)->Unit(unit);
    }
    benchmark::RegisterBenchmark("train_step/W4/libtorch", chain)
        ->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
