#include "loss.hpp"

namespace xgrad::nn {

namespace {

void check_same_shape(const char* op, const Tensor& prediction, const Tensor& target) {
    if (prediction.shape() != target.shape()) {
        throw shape_error(std::string(op) + ": prediction " + shape_str(prediction.shape()) +
                          " and target " + shape_str(target.shape()) +
                          " differ in shape (losses do not broadcast)");
    }
}

std::size_t samples(const Tensor& x) { return x.dim() == 0 ? 1 : x.shape()[0]; }

// Per-sample values (N,) from elementwise losses: summed over every axis but the first.
Tensor per_sample(const Tensor& elementwise) {
    if (elementwise.dim() <= 1) return elementwise;
    Axes rest;
    for (std::size_t axis = 1; axis < elementwise.dim(); ++axis) rest.push_back(static_cast<int>(axis));
    return sum(elementwise, rest);
}

// Throws for the mean of an empty batch, which has no value (NumPy would give NaN).
void check_mean_defined(const char* op, Reduction reduction, const Tensor& x) {
    if (reduction == Reduction::mean && samples(x) == 0) {
        throw value_error(std::string(op) + ": the mean over an empty batch (shape " +
                          shape_str(x.shape()) + ") is undefined; use Reduction::sum or none");
    }
}

// Reduces per-sample losses (N,) as `reduction` says; `count` is N.
Tensor reduce(const Tensor& losses, Reduction reduction, std::size_t count) {
    switch (reduction) {
        case Reduction::none: return losses;
        case Reduction::sum: return sum(losses);
        case Reduction::half_sum: return sum(losses) * 0.5;
        case Reduction::mean: return sum(losses) * (1.0 / static_cast<double>(count));
    }
    throw value_error("loss: unknown reduction");
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Labels& labels, Reduction reduction) {
    const Tensor losses = softmax_cross_entropy(logits, labels);  // checks shapes and labels
    check_mean_defined("cross_entropy", reduction, logits);
    return reduce(losses, reduction, samples(logits));
}


Tensor cross_entropy(const Tensor& logits, const Tensor& targets, Reduction reduction) {
    if (logits.dim() != 2) {
        throw shape_error("cross_entropy: logits must be 2-D (batch, classes), got shape " +
                          shape_str(logits.shape()));
    }
    check_same_shape("cross_entropy", logits, targets);
    check_mean_defined("cross_entropy", reduction, logits);
    return reduce(softmax_cross_entropy(logits, targets), reduction, samples(logits));
}

Tensor squared_error_loss(const Tensor& prediction, const Tensor& target, Reduction reduction) {
    check_same_shape("squared_error_loss", prediction, target);
    check_mean_defined("squared_error_loss", reduction, prediction);
    if (reduction == Reduction::none) {
        const Tensor difference = prediction - target;
        return per_sample(difference * difference);
    }
    // fused: one node for the scaled sum
    if (reduction == Reduction::sum) return squared_error(prediction, target);
    if (reduction == Reduction::half_sum) return squared_error(prediction, target, 0.5);
    return squared_error(prediction, target, 1.0 / static_cast<double>(samples(prediction)));
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets,
                                        Reduction reduction) {
    check_same_shape("binary_cross_entropy_with_logits", logits, targets);
    check_mean_defined("binary_cross_entropy_with_logits", reduction, logits);
    return reduce(per_sample(sigmoid_cross_entropy(logits, targets)), reduction, samples(logits));
}

Tensor l1_loss(const Tensor& prediction, const Tensor& target, Reduction reduction) {
    check_same_shape("l1_loss", prediction, target);
    check_mean_defined("l1_loss", reduction, prediction);
    return reduce(per_sample(abs(prediction - target)), reduction, samples(prediction));
}

}  // namespace xgrad::nn
