#pragma once
/// Datasets, seeded mini-batch loading, splitting, standardisation, one-hot and accuracy.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <variant>

#include <xtensor/xtensor.hpp>

#include <autograd/autograd.hpp>

namespace xgrad::nn {

/// Targets of a dataset: class labels (classification) or a tensor (regression).
using Targets = std::variant<Labels, Tensor>;

/// Samples as rows: inputs (N, ...) with targets of N rows. A mini-batch is a small Dataset.
class Dataset {
public:
    /// An empty dataset: undefined inputs, no labels, size 0.
    Dataset() = default;
    /// Classification; throws shape_error naming both sizes unless labels has N entries.
    Dataset(Tensor inputs, Labels labels);
    /// Regression; throws shape_error naming both shapes unless targets has N rows.
    Dataset(Tensor inputs, Tensor targets);

    /// N, the number of samples.
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const Tensor& inputs() const { return inputs_; }
    const Targets& targets() const { return targets_; }
    /// True if the targets are class labels.
    bool has_labels() const { return std::holds_alternative<Labels>(targets_); }
    /// The class labels (N,); throws value_error for a regression dataset.
    const Labels& labels() const;
    /// The regression targets (N, ...); throws value_error for a classification dataset.
    const Tensor& target_values() const;
    /// The samples at `indices`, in that order (repeats allowed); inputs via take_rows.
    Dataset subset(const Indices& indices) const;

private:
    Tensor inputs_;
    Targets targets_;
    std::size_t size_ = 0;
};

/// One mini-batch: `inputs()` is a Tensor and `labels()` or `target_values()` its targets.
using Batch = Dataset;

/// A permutation of 0..n-1 drawn from `generator` (Fisher-Yates with exact bounded draws,
/// so the same generator state gives the same permutation with any standard library).
Indices random_permutation(std::size_t n, Generator& generator);

/// Mini-batches of a dataset in a seeded order that is reshuffled every epoch.
/// Each range-for pass (each begin()) and each next_epoch() call starts a new epoch; the
/// sequence of epoch orders depends only on the seed. An empty dataset has zero batches.
class DataLoader {
public:
    class Iterator;

    /// One epoch: a fixed order of the samples cut into batches. It shares the dataset, so
    /// it stays valid after the loader is gone.
    class Epoch {
    public:
        /// The number of batches.
        std::size_t size() const { return batches_; }
        /// Batch `index` (< size()); the last one may be partial unless drop_last.
        Batch operator[](std::size_t index) const;
        /// The sample order of this epoch (all N samples, also those drop_last leaves out).
        const Indices& order() const;
        Iterator begin() const;
        Iterator end() const;

    private:
        friend class DataLoader;
        std::shared_ptr<const Dataset> dataset_;
        std::shared_ptr<const Indices> order_;
        std::size_t batch_size_ = 1;
        std::size_t batches_ = 0;
    };

    /// An input iterator over the batches of one epoch.
    class Iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = Batch;
        using difference_type = std::ptrdiff_t;
        using pointer = const Batch*;
        using reference = const Batch&;

        Iterator(Epoch epoch, std::size_t index) : epoch_(std::move(epoch)), index_(index) {}
        /// The current batch, built on first access.
        const Batch& operator*() const;
        const Batch* operator->() const { return &**this; }
        Iterator& operator++();
        /// Iterators compare by batch position, so any epoch's end() ends any pass.
        bool operator==(const Iterator& other) const { return index_ == other.index_; }
        bool operator!=(const Iterator& other) const { return index_ != other.index_; }

    private:
        Epoch epoch_;
        std::size_t index_;
        mutable std::optional<Batch> current_;
    };

    /// Throws value_error if batch_size is 0.
    DataLoader(Dataset dataset, std::size_t batch_size, bool shuffle = true,
               std::uint64_t seed = 0, bool drop_last = false);

    /// Batches per epoch: ceil(N / batch_size), or floor(N / batch_size) with drop_last.
    std::size_t size() const;
    std::size_t batch_size() const { return batch_size_; }
    const Dataset& dataset() const { return *dataset_; }
    /// The number of epochs started so far.
    std::size_t epochs_started() const { return epochs_started_; }
    /// Starts a new epoch: the next seeded shuffle (or 0..N-1 in order without shuffle).
    Epoch next_epoch();
    /// Starts a new epoch and iterates it: `for (const Batch& batch : loader)`.
    Iterator begin() { return next_epoch().begin(); }
    /// The end of a pass over any epoch.
    Iterator end() const;

private:
    std::shared_ptr<const Dataset> dataset_;
    std::size_t batch_size_;
    bool shuffle_;
    bool drop_last_;
    Generator generator_;
    std::size_t epochs_started_ = 0;
};

/// A training set and a validation set drawn from one dataset.
struct TrainValidationSplit {
    Dataset train;
    Dataset validation;
};

/// Puts round(validation_fraction * N) seeded-random samples in `validation` and the rest in
/// `train`, each in the original order. Throws value_error unless 0 <= fraction <= 1.
TrainValidationSplit train_validation_split(const Dataset& dataset, double validation_fraction,
                                            std::uint64_t seed);

/// Per-column statistics of a training set (population std, ddof 0).
struct ColumnStats {
    xt::xtensor<double, 1> mean;
    /// Standard deviation, with 1 for constant columns so they are only centred.
    xt::xtensor<double, 1> scale;
};

/// Mean and scale of each column of a (N, D) training tensor with N >= 1; throws
/// shape_error for another rank and value_error for N = 0.
ColumnStats column_stats(const Tensor& train);
/// (x - mean) / scale per column, for any (M, D) tensor with the stats' D columns; keeps
/// the dtype and records no graph. Throws shape_error naming both shapes on a mismatch.
Tensor standardize(const Tensor& x, const ColumnStats& stats);

/// (N, classes) rows with a 1 in column labels[i]; throws value_error naming the position and
/// label if a label is outside [0, classes).
Tensor one_hot(const Labels& labels, std::size_t classes, Dtype dtype = Dtype::float32);

/// The fraction of rows of (N, C) scores whose argmax (first on ties) equals the label.
/// Throws shape_error unless scores is 2-D with N = labels.size(), value_error if N = 0.
double accuracy(const Tensor& scores, const Labels& labels);

}  // namespace xgrad::nn
