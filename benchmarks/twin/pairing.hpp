#pragma once
/// Puts an nn::MLP and an MlpTwin side by side: the same architecture, parameters and loss,
/// so a test or a benchmark can compare their gradients exactly.

#include <algorithm>
#include <cmath>

#include <nn/nn.hpp>

#include "mlp_twin.hpp"

namespace xgrad::twin {

/// One MLP training problem, described once for both implementations.
struct Problem {
    std::vector<std::size_t> sizes;
    Activation hidden = Activation::relu;
    Activation output = Activation::identity;
    Loss loss = Loss::cross_entropy;
    Reduction reduction = Reduction::mean;
    std::size_t batch = 1;
};

inline nn::Activation to_nn(Activation h) {
    switch (h) {
        case Activation::identity: return nn::Activation::identity;
        case Activation::relu: return nn::Activation::relu;
        case Activation::tanh: return nn::Activation::tanh;
        case Activation::sigmoid: return nn::Activation::sigmoid;
    }
    throw value_error("twin: unknown activation");
}

inline nn::Reduction to_nn(Reduction reduction) {
    switch (reduction) {
        case Reduction::mean: return nn::Reduction::mean;
        case Reduction::sum: return nn::Reduction::sum;
        case Reduction::half_sum: return nn::Reduction::half_sum;
    }
    throw value_error("twin: unknown reduction");
}

/// The nn::MLP of `problem` with nn's seeded initialisation.
inline nn::MLP make_model(const Problem& problem, Dtype dtype, std::uint64_t seed) {
    return nn::MLP(problem.sizes, {to_nn(problem.hidden), to_nn(problem.output), seed, dtype});
}

/// The twin of `problem`, holding a copy of `model`'s parameters.
template <class T>
MlpTwin<T> make_twin(const Problem& problem, nn::MLP& model) {
    MlpTwin<T> twin(problem.sizes, problem.hidden, problem.output, problem.loss,
                    problem.reduction, problem.batch);
    for (std::size_t l = 0; l < model.depth(); ++l) {
        twin.set_parameters(l, model.linear(l).weight().value<T>().data(),
                            model.linear(l).bias().value<T>().data());
    }
    return twin;
}

/// A batch: inputs (batch, in) ~ N(0, 1), labels uniform over the classes, targets ~ U[0, 1).
struct Batch {
    Tensor inputs;
    Labels labels;
    Tensor targets;
};

inline Batch make_batch(const Problem& problem, Dtype dtype, std::uint64_t seed) {
    Generator generator(seed);
    const std::size_t classes = problem.sizes.back();
    Batch batch{randn({problem.batch, problem.sizes.front()}, generator, dtype),
                Labels::from_shape({problem.batch}),
                rand({problem.batch, classes}, generator, dtype)};
    std::uniform_int_distribution<std::int64_t> label(0, std::int64_t(classes) - 1);
    for (auto& value : batch.labels) value = label(generator);
    return batch;
}

/// The loss autograd differentiates: nn::cross_entropy or nn::squared_error_loss.
inline Tensor autograd_loss(const Problem& problem, nn::MLP& model, const Batch& batch) {
    const Tensor prediction = model(batch.inputs);
    return problem.loss == Loss::cross_entropy
               ? nn::cross_entropy(prediction, batch.labels, to_nn(problem.reduction))
               : nn::squared_error_loss(prediction, batch.targets, to_nn(problem.reduction));
}

/// The twin's forward on `batch`; returns E.
template <class T>
T twin_forward(MlpTwin<T>& twin, const Batch& batch) {
    return twin.forward(batch.inputs.value<T>().data(), batch.labels.data(),
                        batch.targets.value<T>().data());
}

/// max over parameters of ‖g_twin − g_autograd‖∞ / ‖g_autograd‖∞ (a norm-wise relative
/// difference: entries near zero do not blow it up). Needs model's grads from a backward.
template <class T>
double max_relative_difference(nn::MLP& model, const MlpTwin<T>& twin) {
    double worst = 0;
    const auto compare = [&worst](const Tensor& grad, const std::vector<T>& expected) {
        const T* autograd = grad.value<T>().data();
        double difference = 0, scale = 0;
        for (std::size_t i = 0; i < expected.size(); ++i) {
            difference = std::max(difference, std::abs(double(expected[i]) - double(autograd[i])));
            scale = std::max(scale, std::abs(double(autograd[i])));
        }
        worst = std::max(worst, scale > 0 ? difference / scale : difference);
    };
    for (std::size_t l = 0; l < model.depth(); ++l) {
        compare(model.linear(l).weight().grad(), twin.layer(l).grad_weight);
        compare(model.linear(l).bias().grad(), twin.layer(l).grad_bias);
    }
    return worst;
}

/// One backward through both on `batch` (no update); returns max_relative_difference, or
/// infinity if the losses differ by more than `tolerance` relative.
template <class T>
double gradient_disagreement(const Problem& problem, nn::MLP& model, MlpTwin<T>& twin,
                             const Batch& batch, double tolerance) {
    model.zero_grad();
    const Tensor loss = autograd_loss(problem, model, batch);
    loss.backward();
    const double twin_loss = twin_forward(twin, batch);
    twin.backward(batch.inputs.value<T>().data());
    if (std::abs(twin_loss - loss.item()) > tolerance * std::max(1.0, std::abs(loss.item()))) {
        return INFINITY;
    }
    return max_relative_difference(model, twin);
}

}  // namespace xgrad::twin
