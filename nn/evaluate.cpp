#include "evaluate.hpp"

#include <algorithm>
#include <string>

#include <xtensor/xview.hpp>

#include "loss.hpp"

namespace xgrad::nn {

namespace {

/// Restores a module's training mode when it goes out of scope.
class TrainingModeGuard {
public:
    TrainingModeGuard(Module& module, bool training) : module_(module), previous_(module.is_training()) {
        module_.train(training);
    }
    ~TrainingModeGuard() { module_.train(previous_); }
    TrainingModeGuard(const TrainingModeGuard&) = delete;
    TrainingModeGuard& operator=(const TrainingModeGuard&) = delete;

private:
    Module& module_;
    bool previous_;
};

}  // namespace

Evaluation evaluate_classifier(Module& model, const Dataset& dataset, std::size_t batch_size) {
    if (batch_size == 0) throw value_error("evaluate_classifier: batch_size must be >= 1, got 0");
    if (!dataset.has_labels()) {
        throw value_error("evaluate_classifier: the dataset has regression targets; a classifier needs labels");
    }
    if (dataset.empty()) throw value_error("evaluate_classifier: the dataset is empty (0 samples)");

    NoGradGuard no_grad;
    TrainingModeGuard eval_mode(model, false);
    Evaluation result;
    double loss_sum = 0.0, correct = 0.0;
    for (std::size_t begin = 0; begin < dataset.size(); begin += batch_size) {
        const std::size_t end = std::min(dataset.size(), begin + batch_size);
        const Tensor logits = model(slice_rows(dataset.inputs(), begin, end));
        const Labels labels = xt::view(dataset.labels(), xt::range(begin, end));
        loss_sum += cross_entropy(logits, labels, Reduction::sum).item();
        correct += accuracy(logits, labels) * static_cast<double>(end - begin);
    }
    result.samples = dataset.size();
    result.loss = loss_sum / static_cast<double>(result.samples);
    result.accuracy = correct / static_cast<double>(result.samples);
    return result;
}

}  // namespace xgrad::nn
