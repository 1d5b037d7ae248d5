#pragma once
// W0–W3, the MLP training steps, described once for every implementation that runs them
// (train_step.cpp: autograd and the twin; libtorch.cpp).

#include <map>
#include <string>

#include <pairing.hpp>

namespace xgrad::bench {

constexpr float learning_rate = 0.01f;

inline const std::map<std::string, twin::Problem> workloads = [] {
    using twin::Activation;
    using twin::Loss;
    using twin::Reduction;
    return std::map<std::string, twin::Problem>{
        {"W0", {{2, 2, 2}, Activation::sigmoid, Activation::sigmoid, Loss::squared_error, Reduction::half_sum, 1}},
        {"W1", {{784, 128, 10}, Activation::relu, Activation::identity, Loss::cross_entropy, Reduction::mean, 32}},
        {"W2", {{784, 256, 128, 10}, Activation::relu, Activation::identity, Loss::cross_entropy, Reduction::mean, 256}},
        {"W3", {{784, 1024, 1024, 10}, Activation::relu, Activation::identity, Loss::cross_entropy, Reduction::mean, 1024}},
    };
}();

}  // namespace xgrad::bench
