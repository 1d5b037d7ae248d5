// Datasets and loading. Batches are cut from a per-epoch permutation with take_rows, so a
// batch's inputs are a fresh tensor and the dataset itself is never reordered.

#include "data.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

namespace xgrad::nn {

namespace {

/// The rows of a tensor used as samples; throws for an undefined or 0-D tensor.
std::size_t sample_rows(const char* op, const char* what, const Tensor& x) {
    if (!x.defined()) throw value_error(std::string(op) + ": " + what + " is undefined");
    if (x.dim() == 0) {
        throw shape_error(std::string(op) + ": " + what +
                          " need a leading sample axis, got shape ()");
    }
    return x.shape()[0];
}

/// A uniform draw from [0, range) without modulo bias: rejects the lowest 2^64 mod range
/// outputs of the 64-bit generator, so the rest split evenly into `range` classes.
std::uint64_t bounded(Generator& generator, std::uint64_t range) {
    const std::uint64_t threshold = (std::uint64_t{0} - range) % range;
    std::uint64_t draw = generator();
    while (draw < threshold) draw = generator();
    return draw % range;
}

Indices iota_indices(std::size_t n) {
    Indices indices(n);
    std::iota(indices.begin(), indices.end(), std::size_t{0});
    return indices;
}

}  // namespace

// ---- Dataset --------------------------------------------------------------------------------

Dataset::Dataset(Tensor inputs, Labels labels)
    : inputs_(std::move(inputs)), size_(sample_rows("Dataset", "inputs", inputs_)) {
    if (labels.size() != size_) {
        throw shape_error("Dataset: inputs of shape " + shape_str(inputs_.shape()) + " have " +
                          std::to_string(size_) + " rows but there are " +
                          std::to_string(labels.size()) + " labels");
    }
    targets_ = std::move(labels);
}

Dataset::Dataset(Tensor inputs, Tensor targets)
    : inputs_(std::move(inputs)), size_(sample_rows("Dataset", "inputs", inputs_)) {
    const std::size_t target_rows = sample_rows("Dataset", "targets", targets);
    if (target_rows != size_) {
        throw shape_error("Dataset: inputs of shape " + shape_str(inputs_.shape()) +
                          " and targets of shape " + shape_str(targets.shape()) +
                          " have different numbers of rows");
    }
    targets_ = std::move(targets);
}

const Labels& Dataset::labels() const {
    if (const auto* labels = std::get_if<Labels>(&targets_)) return *labels;
    throw value_error("Dataset::labels: this dataset has regression targets, not labels");
}

const Tensor& Dataset::target_values() const {
    if (const auto* values = std::get_if<Tensor>(&targets_)) return *values;
    throw value_error("Dataset::target_values: this dataset has class labels, not values");
}

Dataset Dataset::subset(const Indices& indices) const {
    if (!inputs_.defined()) {
        if (!indices.empty()) {
            throw value_error("Dataset::subset: index " + std::to_string(indices[0]) +
                              " is out of range for an empty dataset");
        }
        return Dataset();
    }
    Tensor inputs = take_rows(inputs_, indices);  // checks every index against size()
    if (const auto* values = std::get_if<Tensor>(&targets_)) {
        return Dataset(std::move(inputs), take_rows(*values, indices));
    }
    const Labels& labels = std::get<Labels>(targets_);
    auto picked = Labels::from_shape({indices.size()});
    for (std::size_t i = 0; i < indices.size(); ++i) picked(i) = labels(indices[i]);
    return Dataset(std::move(inputs), std::move(picked));
}

// ---- Shuffling and loading ------------------------------------------------------------------

Indices random_permutation(std::size_t n, Generator& generator) {
    Indices order = iota_indices(n);
    for (std::size_t i = n; i > 1; --i) {
        std::swap(order[i - 1], order[bounded(generator, i)]);
    }
    return order;
}

DataLoader::DataLoader(Dataset dataset, std::size_t batch_size, bool shuffle,
                       std::uint64_t seed, bool drop_last)
    : dataset_(std::make_shared<const Dataset>(std::move(dataset))),
      batch_size_(batch_size),
      shuffle_(shuffle),
      drop_last_(drop_last),
      generator_(seed) {
    if (batch_size == 0) throw value_error("DataLoader: batch_size must be at least 1, got 0");
}

std::size_t DataLoader::size() const {
    const std::size_t n = dataset_->size();
    return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

DataLoader::Epoch DataLoader::next_epoch() {
    Epoch epoch;
    epoch.dataset_ = dataset_;
    epoch.order_ = std::make_shared<const Indices>(
        shuffle_ ? random_permutation(dataset_->size(), generator_)
                 : iota_indices(dataset_->size()));
    epoch.batch_size_ = batch_size_;
    epoch.batches_ = size();
    ++epochs_started_;
    return epoch;
}

DataLoader::Iterator DataLoader::end() const { return Iterator(Epoch(), size()); }

Batch DataLoader::Epoch::operator[](std::size_t index) const {
    if (index >= batches_) {
        throw value_error("DataLoader::Epoch: batch " + std::to_string(index) +
                          " is out of range for " + std::to_string(batches_) + " batches");
    }
    const std::size_t begin = index * batch_size_;
    const std::size_t end = std::min(begin + batch_size_, order_->size());
    return dataset_->subset(Indices(order_->begin() + static_cast<std::ptrdiff_t>(begin),
                                    order_->begin() + static_cast<std::ptrdiff_t>(end)));
}

const Indices& DataLoader::Epoch::order() const {
    static const Indices none;
    return order_ ? *order_ : none;
}

DataLoader::Iterator DataLoader::Epoch::begin() const { return Iterator(*this, 0); }
DataLoader::Iterator DataLoader::Epoch::end() const { return Iterator(*this, batches_); }

const Batch& DataLoader::Iterator::operator*() const {
    if (!current_) current_ = epoch_[index_];
    return *current_;
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
    ++index_;
    current_.reset();
    return *this;
}

// ---- Splitting ------------------------------------------------------------------------------

TrainValidationSplit train_validation_split(const Dataset& dataset, double validation_fraction,
                                            std::uint64_t seed) {
    if (!(validation_fraction >= 0.0 && validation_fraction <= 1.0)) {
        throw value_error("train_validation_split: validation_fraction must be in [0, 1], got " +
                          std::to_string(validation_fraction));
    }
    const std::size_t n = dataset.size();
    const auto held_out = static_cast<std::size_t>(std::llround(validation_fraction * n));
    Generator generator(seed);
    const Indices order = random_permutation(n, generator);
    Indices validation(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(held_out));
    Indices train(order.begin() + static_cast<std::ptrdiff_t>(held_out), order.end());
    std::sort(validation.begin(), validation.end());
    std::sort(train.begin(), train.end());
    return {dataset.subset(train), dataset.subset(validation)};
}

// ---- Standardisation ------------------------------------------------------------------------

ColumnStats column_stats(const Tensor& train) {
    sample_rows("column_stats", "train", train);
    if (train.dim() != 2) {
        throw shape_error("column_stats: needs a 2-D (samples, columns) tensor, got shape " +
                          shape_str(train.shape()));
    }
    const std::size_t rows = train.shape()[0];
    const std::size_t cols = train.shape()[1];
    if (rows == 0) throw value_error("column_stats: needs at least one row, got shape " +
                                     shape_str(train.shape()));
    ColumnStats stats{xt::xtensor<double, 1>::from_shape({cols}),
                      xt::xtensor<double, 1>::from_shape({cols})};
    visit(train, [&](const auto& array) {
        for (std::size_t j = 0; j < cols; ++j) {
            double sum = 0.0;
            double low = std::numeric_limits<double>::infinity();
            double high = -low;
            for (std::size_t i = 0; i < rows; ++i) {
                const double value = array.data()[i * cols + j];
                sum += value;
                low = std::min(low, value);
                high = std::max(high, value);
            }
            const double mean = sum / static_cast<double>(rows);
            double squares = 0.0;
            for (std::size_t i = 0; i < rows; ++i) {
                const double deviation = array.data()[i * cols + j] - mean;
                squares += deviation * deviation;
            }
            const double stddev = std::sqrt(squares / static_cast<double>(rows));
            // A constant column's rounded mean leaves a tiny nonzero std: compare the values.
            stats.mean(j) = mean;
            stats.scale(j) = (low == high || !(stddev > 0.0)) ? 1.0 : stddev;
        }
    });
    return stats;
}

Tensor standardize(const Tensor& x, const ColumnStats& stats) {
    sample_rows("standardize", "x", x);
    const std::size_t cols = stats.mean.size();
    if (stats.scale.size() != cols) {
        throw shape_error("standardize: stats hold " + std::to_string(cols) + " means but " +
                          std::to_string(stats.scale.size()) + " scales");
    }
    if (x.dim() != 2 || x.shape()[1] != cols) {
        throw shape_error("standardize: x of shape " + shape_str(x.shape()) +
                          " does not match stats for shape (N, " + std::to_string(cols) + ")");
    }
    return visit(x, [&](const auto& array) {
        using T = typename std::decay_t<decltype(array)>::value_type;
        auto out = xt::xarray<T>::from_shape(array.shape());
        for (std::size_t k = 0; k < array.size(); ++k) {
            const std::size_t j = k % cols;
            out.data()[k] = static_cast<T>((array.data()[k] - stats.mean(j)) / stats.scale(j));
        }
        return Tensor(std::move(out));
    });
}

// ---- Labels ---------------------------------------------------------------------------------

Tensor one_hot(const Labels& labels, std::size_t classes, Dtype dtype) {
    xt::xarray<double> out = xt::zeros<double>({labels.size(), classes});
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const std::int64_t label = labels(i);
        if (label < 0 || static_cast<std::uint64_t>(label) >= classes) {
            throw value_error("one_hot: label " + std::to_string(label) + " at position " +
                              std::to_string(i) + " is outside [0, " + std::to_string(classes) +
                              ")");
        }
        out(i, static_cast<std::size_t>(label)) = 1.0;
    }
    return Tensor(std::move(out)).to(dtype);
}

double accuracy(const Tensor& scores, const Labels& labels) {
    sample_rows("accuracy", "scores", scores);
    if (scores.dim() != 2 || scores.shape()[0] != labels.size() || scores.shape()[1] == 0) {
        throw shape_error("accuracy: scores of shape " + shape_str(scores.shape()) +
                          " do not fit " + std::to_string(labels.size()) +
                          " labels; need (" + std::to_string(labels.size()) + ", C >= 1)");
    }
    const std::size_t rows = scores.shape()[0];
    const std::size_t cols = scores.shape()[1];
    if (rows == 0) throw value_error("accuracy: no rows to score (shape " +
                                     shape_str(scores.shape()) + ")");
    std::size_t correct = 0;
    visit(scores, [&](const auto& array) {
        for (std::size_t i = 0; i < rows; ++i) {
            const auto* row = array.data() + i * cols;
            const auto best = static_cast<std::int64_t>(std::max_element(row, row + cols) - row);
            if (best == labels(i)) ++correct;
        }
    });
    return static_cast<double>(correct) / static_cast<double>(rows);
}

}  // namespace xgrad::nn
