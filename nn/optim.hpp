#pragma once
/// Optimisers that update parameters in place (SGD, Adam, AdamW), and gradient-norm clipping.

#include <cstdint>
#include <string>
#include <vector>

#include <autograd/autograd.hpp>

#include "module.hpp"

namespace xgrad::nn {

// Note [Optimiser state]
// Each parameter has its own update count and buffers (momentum, Adam moments), allocated as
// zeros at construction so the state always has the same keys. state() names them:
//   "step"                      0-d float64: step() calls so far
//   "lr"                        0-d float64: the learning rate (schedules change it)
//   "param.<i>.step"            0-d float64: updates applied to parameter i (Adam's bias
//                               correction uses it; SGD seeds its momentum on the first one)
//   "param.<i>.<buffer>"        parameter i's shape and dtype: "momentum_buffer" (SGD with
//                               momentum), "exp_avg" and "exp_avg_sq" (Adam, AdamW)
// Hyper-parameters other than lr are construction arguments and are not part of the state.

/// Base of every optimiser: holds handles to the parameters, updates them in place.
class Optimizer {
public:
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    /// Updates, in place and unrecorded, every parameter whose grad is defined; skips the rest.
    void step();
    /// Clears every parameter's grad to undefined (as Module::zero_grad does).
    void zero_grad();
    /// The learning rate the next step() uses.
    double learning_rate() const { return lr_; }
    /// Sets the learning rate; throws value_error unless it is finite and >= 0.
    void set_learning_rate(double lr);
    /// Number of step() calls so far.
    std::uint64_t step_count() const { return step_count_; }
    /// The parameters, in construction order ("param.<i>" in the state).
    const std::vector<Tensor>& parameters() const { return parameters_; }

    /// Copies of the step counts, lr and buffers, named as in Note [Optimiser state].
    NamedTensors state() const;
    /// Restores copies of a state() taken from an optimiser of the same type and parameters
    /// (lr included). Keys, shapes and dtypes must match exactly; otherwise throws
    /// value_error listing every problem and changes nothing.
    void load_state(const NamedTensors& state);

protected:
    /// Validates lr and the parameters (non-empty, defined, no storage shared twice) and
    /// allocates one zero buffer per name in `buffer_names` for each parameter.
    Optimizer(std::string name, std::vector<Tensor> parameters, double lr,
              std::vector<std::string> buffer_names);
    /// Updates parameter `index`, whose grad is defined; `count` is 1 on its first update.
    virtual void update(std::size_t index, std::uint64_t count) = 0;
    /// Parameter `index`.
    Tensor& parameter(std::size_t index) { return parameters_[index]; }
    /// Buffer `slot` (in buffer_names order) of parameter `index`.
    Tensor& buffer(std::size_t index, std::size_t slot) { return buffers_[index][slot]; }

private:
    std::string name_;
    std::vector<Tensor> parameters_;
    double lr_;
    std::vector<std::string> buffer_names_;
    std::vector<std::vector<Tensor>> buffers_;  // [parameter][slot]
    std::vector<std::uint64_t> update_counts_;  // updates applied to each parameter
    std::uint64_t step_count_ = 0;
};

/// SGD hyper-parameters (PyTorch's names and meanings).
struct SGDOptions {
    double lr = 1e-3;
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;  ///< L2: weight_decay * param is added to the grad
    bool nesterov = false;
};

/// Stochastic gradient descent, PyTorch's rule: g = grad + wd * p; with momentum,
/// buf = g on the first update, else momentum * buf + (1 - dampening) * g, and
/// g = nesterov ? g + momentum * buf : buf; then p -= lr * g.
class SGD : public Optimizer {
public:
    /// Throws value_error naming the value for lr < 0, momentum < 0, dampening outside [0, 1],
    /// weight_decay < 0, nesterov without momentum or with dampening, or no parameters.
    SGD(std::vector<Tensor> parameters, double lr, double momentum = 0.0, double dampening = 0.0,
        double weight_decay = 0.0, bool nesterov = false);
    SGD(std::vector<Tensor> parameters, const SGDOptions& options);

private:
    void update(std::size_t index, std::uint64_t count) override;
    SGDOptions options_;  // options_.lr is unused: the base class owns the lr
};

/// Adam hyper-parameters.
struct AdamOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;  ///< L2: weight_decay * param is added to the grad
};

/// AdamW hyper-parameters: as Adam, but the decay is decoupled and on by default.
struct AdamWOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 1e-2;  ///< decoupled: p *= 1 - lr * weight_decay before the step
};

/// Adam (Kingma & Ba) with bias correction, PyTorch's rule: g = grad + wd * p;
/// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g²; t = updates of this parameter;
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
class Adam : public Optimizer {
public:
    /// Throws value_error naming the value for lr < 0, betas outside [0, 1), eps <= 0,
    /// weight_decay < 0, or no parameters.
    Adam(std::vector<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9,
         double beta2 = 0.999, double eps = 1e-8, double weight_decay = 0.0);
    Adam(std::vector<Tensor> parameters, const AdamOptions& options);

protected:
    /// `decoupled` selects AdamW's decay (p *= 1 - lr * wd) instead of L2 on the grad.
    Adam(std::string name, std::vector<Tensor> parameters, const AdamOptions& options,
         bool decoupled);

private:
    void update(std::size_t index, std::uint64_t count) override;
    AdamOptions options_;  // options_.lr is unused: the base class owns the lr
    bool decoupled_;
};

/// AdamW (Loshchilov & Hutter): Adam without L2 on the grad; instead, before each update,
/// p *= 1 - lr * weight_decay.
class AdamW : public Adam {
public:
    /// Throws value_error as Adam does.
    AdamW(std::vector<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9,
          double beta2 = 0.999, double eps = 1e-8, double weight_decay = 1e-2);
    AdamW(std::vector<Tensor> parameters, const AdamWOptions& options);
};

/// Global L2 norm of all defined grads, returned as it was before clipping; if it exceeds
/// max_norm, every grad is scaled in place by max_norm / norm. Throws value_error, leaving the
/// grads unchanged, if the norm is not finite or max_norm is negative or NaN.
double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm);

}  // namespace xgrad::nn
