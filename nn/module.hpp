#pragma once
/// Module: a differentiable function with named parameters and child modules.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <autograd/autograd.hpp>

namespace xgrad::nn {

/// Tensors by name, in a stable order (parameters, optimiser state, checkpoints).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// Base of every layer and model. Parameters are Tensor handles: an optimiser or a
/// checkpoint that changes them in place changes the module.
class Module {
public:
    virtual ~Module() = default;

    /// Maps an input batch to an output batch.
    virtual Tensor forward(const Tensor& input) = 0;
    /// The same for an input the caller gives up (a temporary, or std::move of a handle): a
    /// module may then write its output over the input's array, when nothing else sees it
    /// (Note [Sole owner] in autograd/node.hpp: not while another handle, a node's saved
    /// value or a leaf's gradient slot refers to it) and the shapes agree. Same values, same
    /// gradients, one array fewer: the elementwise activations do it, and Sequential hands
    /// each module's output on to the next this way. An input that is not written over is
    /// left as it was. By default, forward(input).
    /// A class that overrides both must be final, or mark both final: a subclass that
    /// overrode only forward would not be called on temporaries. The nn classes that
    /// override it (ReLU, Tanh, Sigmoid, Sequential) do.
    virtual Tensor forward_consuming(Tensor&& input) { return forward(input); }
    Tensor operator()(const Tensor& input) { return forward(input); }
    Tensor operator()(Tensor&& input) { return forward_consuming(std::move(input)); }

    /// Every parameter of this module and its children, in registration order.
    std::vector<Tensor> parameters() const;
    /// The same with dotted names such as "layers.0.weight".
    NamedTensors named_parameters() const;
    /// Clears the gradient of every parameter.
    void zero_grad();
    /// Training mode (the default) or evaluation mode, for this module and its children.
    void train(bool training = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }

protected:
    /// Adds a parameter (marked requires_grad) under `name`; returns a handle sharing it.
    Tensor register_parameter(std::string name, Tensor value);
    /// Adds a child module under `name`; its parameters appear as "name.<param>".
    template <class M>
    std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> child) {
        children_.emplace_back(std::move(name), child);
        return child;
    }

private:
    void collect(const std::string& prefix, NamedTensors& out) const;
    NamedTensors parameters_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
    bool training_ = true;
};

}  // namespace xgrad::nn
