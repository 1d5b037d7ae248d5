#pragma once
/// Activation modules (no parameters).

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "module.hpp"

namespace xgrad::nn {

enum class Activation { identity, relu, tanh, sigmoid, leaky_relu };

/// "identity", "relu", "tanh", "sigmoid", "leaky_relu".
std::string activation_name(Activation activation);
/// The inverse of activation_name; throws value_error listing the valid names.
Activation parse_activation(const std::string& name);

// The activations that override forward_consuming are final: a subclass that overrode only
// forward would be skipped wherever the module is given a temporary (Note in module.hpp).

class Identity : public Module {
public:
    Tensor forward(const Tensor& input) override { return input; }
};

class ReLU final : public Module {
public:
    Tensor forward(const Tensor& input) override { return relu(input); }
    /// relu written over `input`'s array when nothing else sees it.
    Tensor forward_consuming(Tensor&& input) override { return relu(std::move(input)); }
};

class Tanh final : public Module {
public:
    Tensor forward(const Tensor& input) override { return tanh(input); }
    /// tanh written over `input`'s array when nothing else sees it.
    Tensor forward_consuming(Tensor&& input) override { return tanh(std::move(input)); }
};

class Sigmoid final : public Module {
public:
    Tensor forward(const Tensor& input) override { return sigmoid(input); }
    /// sigmoid written over `input`'s array when nothing else sees it.
    Tensor forward_consuming(Tensor&& input) override { return sigmoid(std::move(input)); }
};

/// x for x > 0, slope·x otherwise (gradient slope at 0).
class LeakyReLU : public Module {
public:
    explicit LeakyReLU(double slope = 0.01);
    Tensor forward(const Tensor& input) override;

private:
    double slope_;
};

/// A new module computing `activation` (leaky_relu with slope 0.01).
std::shared_ptr<Module> make_activation(Activation activation);
/// The autograd activation that linear can apply in its own node, if there is one (leaky_relu,
/// with its slope, has none).
std::optional<Nonlinearity> fusable_nonlinearity(Activation activation);

}  // namespace xgrad::nn
