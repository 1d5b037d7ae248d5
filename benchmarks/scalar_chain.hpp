#pragma once
// W4's chain, x = tanh(x * w + b) repeated on scalars, written once for every implementation
// that runs it (scalar_chain.cpp: autograd and the hand-written twin; libtorch.cpp): its
// constants, the hand-written forward and backward, and the per-node counters.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace xgrad::bench {

constexpr std::size_t chain_steps = 100000;
constexpr std::size_t nodes_per_step = 3;  // mul, add, tanh
constexpr float x0 = 0.3f, w0 = 0.5f, b0 = 0.1f;

/// dE/dw and dE/db for E = x_n.
struct Gradients {
    double w, b;
};

// dE/dw and dE/db for E = x_n, with tape[i] = x_i: d = g (1 - x_{i+1}²), dw += d x_i, db += d, g = d w.
struct ChainTwin {
    std::vector<float> tape = std::vector<float>(chain_steps + 1);
    Gradients run() {
        tape[0] = x0;
        for (std::size_t i = 0; i < chain_steps; ++i) tape[i + 1] = std::tanh(tape[i] * w0 + b0);
        float g = 1, grad_w = 0, grad_b = 0;
        for (std::size_t i = chain_steps; i-- > 0;) {
            const float d = g * (1.0f - tape[i + 1] * tape[i + 1]);
            grad_w += d * tape[i];
            grad_b += d;
            g = d * w0;
        }
        return {grad_w, grad_b};
    }
};

/// True if two gradients agree to 1e-4 relative (float32 over 100,000 steps).
inline bool close(double a, double b) { return std::abs(a - b) <= 1e-4 * std::max(1.0, std::abs(b)); }

/// The counters every W4 benchmark reports; time_per_node is the step time over the nodes.
inline void per_node_counters(benchmark::State& state, double graph_nodes, double graph_bytes) {
    const double nodes = double(chain_steps * nodes_per_step);
    state.counters["graph_nodes"] = graph_nodes;
    state.counters["graph_bytes"] = graph_bytes;
    state.counters["time_per_node"] = benchmark::Counter(
        nodes, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

}  // namespace xgrad::bench
