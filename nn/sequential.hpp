#pragma once
/// Sequential containers and the MLP builder.

#include <memory>
#include <utility>
#include <vector>

#include "activation.hpp"
#include "linear.hpp"
#include "module.hpp"

namespace xgrad::nn {

/// Applies its modules in order; they are named "0", "1", ... (so "0.weight").
class Sequential : public Module {
public:
    Sequential() = default;
    explicit Sequential(std::vector<std::shared_ptr<Module>> modules);
    /// Appends a module; returns *this for chaining.
    Sequential& add(std::shared_ptr<Module> module);
    /// The first module gets `input`; each later one the output before it, given up
    /// (forward_consuming). Final, like forward_consuming: to compute something else, write
    /// a Module that holds a Sequential.
    Tensor forward(const Tensor& input) final;
    /// The same, with `input` given up to the first module.
    Tensor forward_consuming(Tensor&& input) final;
    std::size_t size() const { return modules_.size(); }
    Module& operator[](std::size_t i) const { return *modules_.at(i); }

private:
    /// The first module's output through the others.
    Tensor pass_on(Tensor x);
    std::vector<std::shared_ptr<Module>> modules_;
};

/// A multi-layer perceptron: Linear layers between consecutive `sizes`, `hidden` after each
/// but the last, `output` after the last. Parameters are named "layers.0.weight", ...
class MLP : public Module {
public:
    struct Options {
        Activation hidden = Activation::relu;
        Activation output = Activation::identity;
        std::uint64_t seed = 0;
        Dtype dtype = Dtype::float32;
        bool bias = true;
    };
    /// e.g. MLP({784, 128, 10}) or MLP({2, 2, 2}, {Activation::sigmoid, Activation::sigmoid}).
    explicit MLP(const std::vector<std::size_t>& sizes, Options options);
    explicit MLP(const std::vector<std::size_t>& sizes) : MLP(sizes, Options()) {}
    /// Each Linear and its activation as one graph node where autograd fuses them (relu, tanh,
    /// sigmoid, identity, with a bias); otherwise the Linear, then the activation module.
    /// The values and gradients are those of `layers` run in order, bit for bit. Final, like
    /// Sequential's: to compute something else, write a Module holding an MLP.
    Tensor forward(const Tensor& input) final;
    /// The i-th Linear layer.
    Linear& linear(std::size_t i) const { return *linears_.at(i); }
    std::size_t depth() const { return linears_.size(); }

private:
    struct Layer {
        Linear* linear;
        Module* activation;  ///< null for identity or where fused
        Nonlinearity fused;  ///< what linear applies itself (identity: nothing)
    };
    std::shared_ptr<Sequential> layers_;
    std::vector<std::shared_ptr<Linear>> linears_;
    std::vector<Layer> steps_;  ///< forward's plan over layers_' modules
};

}  // namespace xgrad::nn
