#pragma once
/// Learning-rate schedules: each step() ends an epoch and sets the optimizer's lr.

#include <cstddef>

#include "optim.hpp"

namespace xgrad::nn {

/// Base of every schedule. The lr is a closed form of the epoch count and of base_lr (the
/// optimizer's lr when the schedule was made), so a set_learning_rate() between steps is
/// overwritten by the next step(). The optimizer must outlive the schedule.
class LRSchedule {
public:
    virtual ~LRSchedule() = default;
    LRSchedule(const LRSchedule&) = delete;
    LRSchedule& operator=(const LRSchedule&) = delete;

    /// Ends an epoch: advances epoch() and sets the optimizer's lr to learning_rate().
    void step();
    /// The lr for the current epoch (epoch 0 gives base_learning_rate()).
    double learning_rate() const { return lr_at(epoch_); }
    /// Number of step() calls so far.
    std::size_t epoch() const { return epoch_; }
    /// The optimizer's lr when the schedule was made.
    double base_learning_rate() const { return base_lr_; }

protected:
    explicit LRSchedule(Optimizer& optimizer);
    /// The lr after `epoch` epochs.
    virtual double lr_at(std::size_t epoch) const = 0;

private:
    Optimizer& optimizer_;
    double base_lr_;
    std::size_t epoch_ = 0;
};

/// lr = base_lr * gamma^floor(epoch / step_size).
class StepLR : public LRSchedule {
public:
    /// Throws value_error naming the value unless step_size > 0 and gamma is finite and > 0.
    StepLR(Optimizer& optimizer, int step_size, double gamma = 0.1);

private:
    double lr_at(std::size_t epoch) const override;
    std::size_t step_size_;
    double gamma_;
};

/// lr = base_lr * gamma^epoch.
class ExponentialLR : public LRSchedule {
public:
    /// Throws value_error naming the value unless gamma is finite and > 0.
    ExponentialLR(Optimizer& optimizer, double gamma);

private:
    double lr_at(std::size_t epoch) const override;
    double gamma_;
};

/// lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / t_max)) / 2: eta_min at t_max,
/// and (as PyTorch's closed form) rising again after it, with period 2 * t_max.
class CosineAnnealingLR : public LRSchedule {
public:
    /// Throws value_error naming the value unless t_max > 0 and eta_min is finite and >= 0.
    CosineAnnealingLR(Optimizer& optimizer, int t_max, double eta_min = 0.0);

private:
    double lr_at(std::size_t epoch) const override;
    std::size_t t_max_;
    double eta_min_;
};

}  // namespace xgrad::nn
