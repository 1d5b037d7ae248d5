#include "sequential.hpp"

#include <optional>

namespace xgrad::nn {

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) {
    for (auto& module : modules) add(std::move(module));
}

Sequential& Sequential::add(std::shared_ptr<Module> module) {
    if (!module) throw value_error("Sequential::add: null module at position " + std::to_string(modules_.size()));
    modules_.push_back(register_module(std::to_string(modules_.size()), std::move(module)));
    return *this;
}

// Each output is handed on as an rvalue, so an activation after a Linear writes over the
// Linear's output instead of making a second array (on W0, two tensors fewer a step).
Tensor Sequential::forward(const Tensor& input) {
    if (modules_.empty()) return input;
    return pass_on(modules_.front()->forward(input));
}

Tensor Sequential::forward_consuming(Tensor&& input) {
    if (modules_.empty()) return input;  // a copy: an input not written over is left as it was
    return pass_on(modules_.front()->forward_consuming(std::move(input)));
}

Tensor Sequential::pass_on(Tensor x) {
    for (std::size_t i = 1; i < modules_.size(); ++i) x = modules_[i]->forward_consuming(std::move(x));
    return x;
}

MLP::MLP(const std::vector<std::size_t>& sizes, Options options) {
    if (sizes.size() < 2) {
        throw value_error("MLP: needs at least an input and an output size, got " +
                          std::to_string(sizes.size()) + " sizes");
    }
    Generator generator(options.seed);
    layers_ = register_module("layers", std::make_shared<Sequential>());
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
        auto linear = std::make_shared<Linear>(sizes[i], sizes[i + 1], generator, options.bias,
                                               options.dtype);
        linears_.push_back(linear);
        layers_->add(linear);
        const bool last = i + 2 == sizes.size();
        const Activation activation = last ? options.output : options.hidden;
        Layer step{linear.get(), nullptr, Nonlinearity::identity};
        if (activation != Activation::identity) {
            std::shared_ptr<Module> module = make_activation(activation);
            const std::optional<Nonlinearity> fusable = fusable_nonlinearity(activation);
            if (fusable) step.fused = *fusable;
            else step.activation = module.get();
            layers_->add(std::move(module));
        }
        steps_.push_back(step);
    }
}

Tensor MLP::forward(const Tensor& input) {
    Tensor x;
    for (std::size_t i = 0; i < steps_.size(); ++i) {
        const Layer& step = steps_[i];
        x = step.linear->forward(i == 0 ? input : x, step.fused);
        if (step.activation != nullptr) x = step.activation->forward_consuming(std::move(x));
    }
    return x;
}

}  // namespace xgrad::nn
