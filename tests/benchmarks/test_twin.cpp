// The hand-written twin computes the same gradients as autograd (before anything is timed).

#include <doctest/doctest.h>

#include <pairing.hpp>

using namespace xgrad;
using namespace xgrad::twin;

namespace {

const std::vector<Problem> problems = {
    {{2, 2, 2}, Activation::sigmoid, Activation::sigmoid, Loss::squared_error, Reduction::half_sum, 1},
    {{5, 3}, Activation::relu, Activation::identity, Loss::cross_entropy, Reduction::mean, 4},
    {{7, 6, 4}, Activation::relu, Activation::identity, Loss::cross_entropy, Reduction::mean, 9},
    {{6, 5, 5, 3}, Activation::tanh, Activation::identity, Loss::cross_entropy, Reduction::sum, 8},
    {{4, 8, 6, 5, 2}, Activation::sigmoid, Activation::tanh, Loss::squared_error, Reduction::mean, 3},
    {{3, 4, 4, 4, 4, 3}, Activation::tanh, Activation::relu, Loss::squared_error, Reduction::sum, 5},
    {{8, 5, 4}, Activation::identity, Activation::sigmoid, Loss::cross_entropy, Reduction::half_sum, 6},
};

template <class T>
double disagreement(const Problem& problem, std::uint64_t seed) {
    const Dtype dtype = dtype_of<T>();
    nn::MLP model = make_model(problem, dtype, seed);
    MlpTwin<T> twin = make_twin<T>(problem, model);
    return gradient_disagreement(problem, model, twin, make_batch(problem, dtype, seed + 100), 1e-5);
}

}  // namespace

TEST_CASE("twin gradients equal autograd's in float64 within 1e-12 relative") {
    for (std::size_t i = 0; i < problems.size(); ++i) {
        for (std::uint64_t seed : {1, 2, 3}) {
            INFO("problem " << i << ", seed " << seed);
            CHECK(disagreement<double>(problems[i], seed) <= 1e-12);
        }
    }
}

TEST_CASE("twin gradients equal autograd's in float32 within 1e-4 relative") {
    for (std::size_t i = 0; i < problems.size(); ++i) {
        INFO("problem " << i);
        CHECK(disagreement<float>(problems[i], 7) <= 1e-4);
    }
}

TEST_CASE("a twin SGD step leaves the same parameters as nn::SGD") {
    const Problem& problem = problems[3];
    nn::MLP model = make_model(problem, Dtype::float64, 5);
    MlpTwin<double> twin = make_twin<double>(problem, model);
    const Batch batch = make_batch(problem, Dtype::float64, 6);
    nn::SGD optimizer(model.parameters(), 0.1);
    for (int step = 0; step < 3; ++step) {
        optimizer.zero_grad();
        autograd_loss(problem, model, batch).backward();
        optimizer.step();
        twin.train_step(batch.inputs.value<double>().data(), batch.labels.data(),
                        batch.targets.value<double>().data(), 0.1);
    }
    for (std::size_t l = 0; l < model.depth(); ++l) {
        const double* weight = model.linear(l).weight().value<double>().data();
        for (std::size_t k = 0; k < twin.layer(l).weight.size(); ++k) {
            CHECK(twin.layer(l).weight[k] == doctest::Approx(weight[k]).epsilon(1e-12));
        }
    }
}

TEST_CASE("the comparison catches a twin whose gradient is wrong") {
    const Problem& problem = problems[2];
    nn::MLP model = make_model(problem, Dtype::float64, 1);
    MlpTwin<double> twin = make_twin<double>(problem, model);
    const Batch batch = make_batch(problem, Dtype::float64, 2);
    REQUIRE(gradient_disagreement(problem, model, twin, batch, 1e-5) <= 1e-12);
    twin.layer(1).grad_weight[3] += 1e-6;
    CHECK(max_relative_difference(model, twin) > 1e-9);
    // Different parameters give different gradients.
    twin.layer(0).weight[0] += 0.5;
    CHECK(gradient_disagreement(problem, model, twin, batch, 1e-5) > 1e-6);
}
