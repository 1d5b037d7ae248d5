#pragma once
/// Losses over a batch (rows are samples), as functions and as small loss objects.
/// Targets never broadcast: a target of another shape is a shape_error. An empty batch (0 rows)
/// gives 0 for Reduction::sum and half_sum and shape (0,) for none; its mean is undefined and
/// throws value_error.

#include <autograd/autograd.hpp>

namespace xgrad::nn {

/// How per-sample losses become one number.
enum class Reduction {
    mean,      ///< average over samples (rows)
    sum,       ///< sum over samples
    half_sum,  ///< ½ · sum, the lecture notes' E = ½ Σ‖y − t‖²
    none,      ///< the per-sample losses, shape (N,)
};

/// Softmax cross-entropy from logits (N, C) and integer labels (N,); stable for any logits.
Tensor cross_entropy(const Tensor& logits, const Labels& labels, Reduction reduction = Reduction::mean);
/// Softmax cross-entropy from logits (N, C) and target distributions (N, C): one-hot or
/// probabilities. Per sample: -Σ_c t_c log softmax(logits)_c.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, Reduction reduction = Reduction::mean);
/// Squared error: per sample ‖y_n − t_n‖² (summed over all but the first axis).
Tensor squared_error_loss(const Tensor& prediction, const Tensor& target,
                          Reduction reduction = Reduction::mean);
/// Binary cross-entropy of sigmoid(logits) against targets in [0, 1]; stable for any logits.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets,
                                        Reduction reduction = Reduction::mean);
/// L1: per sample Σ|y_n − t_n|.
Tensor l1_loss(const Tensor& prediction, const Tensor& target, Reduction reduction = Reduction::mean);

/// Loss objects holding their reduction, for code that passes a loss around.
struct CrossEntropyLoss {
    Reduction reduction = Reduction::mean;
    Tensor operator()(const Tensor& logits, const Labels& labels) const {
        return cross_entropy(logits, labels, reduction);
    }
    Tensor operator()(const Tensor& logits, const Tensor& targets) const {
        return cross_entropy(logits, targets, reduction);
    }
};
struct SquaredErrorLoss {
    Reduction reduction = Reduction::mean;
    Tensor operator()(const Tensor& prediction, const Tensor& target) const {
        return squared_error_loss(prediction, target, reduction);
    }
};
struct BCEWithLogitsLoss {
    Reduction reduction = Reduction::mean;
    Tensor operator()(const Tensor& logits, const Tensor& targets) const {
        return binary_cross_entropy_with_logits(logits, targets, reduction);
    }
};
struct L1Loss {
    Reduction reduction = Reduction::mean;
    Tensor operator()(const Tensor& prediction, const Tensor& target) const {
        return l1_loss(prediction, target, reduction);
    }
};

}  // namespace xgrad::nn
