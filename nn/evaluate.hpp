#pragma once
/// Scoring a classifier on a whole dataset, in batches, without recording a graph.

#include <cstddef>

#include "data.hpp"
#include "module.hpp"

namespace xgrad::nn {

/// The scores of a classifier on a dataset.
struct Evaluation {
    double loss = 0.0;      ///< mean softmax cross-entropy of the model's logits
    double accuracy = 0.0;  ///< fraction of samples whose argmax logit is the label
    std::size_t samples = 0;
};

/// Runs `model` (logits (N, C)) over `dataset` in batches of `batch_size` rows in evaluation
/// mode and under NoGradGuard, then restores the model's training mode. Throws value_error
/// for an empty or regression dataset or batch_size 0; errors from the model or the loss (a
/// label outside [0, C), say) propagate with the model's mode restored.
Evaluation evaluate_classifier(Module& model, const Dataset& dataset, std::size_t batch_size = 1000);

}  // namespace xgrad::nn
