#include "module.hpp"

namespace xgrad::nn {

std::vector<Tensor> Module::parameters() const {
    std::vector<Tensor> result;
    for (auto& [name, tensor] : named_parameters()) result.push_back(tensor);
    return result;
}

NamedTensors Module::named_parameters() const {
    NamedTensors result;
    collect("", result);
    return result;
}

void Module::collect(const std::string& prefix, NamedTensors& out) const {
    for (const auto& [name, tensor] : parameters_) out.emplace_back(prefix + name, tensor);
    for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

void Module::zero_grad() {
    for (Tensor& parameter : parameters()) parameter.set_grad(Tensor());
}

void Module::train(bool training) {
    training_ = training;
    for (auto& [name, child] : children_) child->train(training);
}

Tensor Module::register_parameter(std::string name, Tensor value) {
    if (!value.defined()) throw value_error("register_parameter: '" + name + "' is undefined");
    for (const auto& [existing, tensor] : parameters_) {
        if (existing == name) throw value_error("register_parameter: '" + name + "' is already registered");
    }
    value = value.detach();
    value.set_requires_grad(true);
    parameters_.emplace_back(std::move(name), std::move(value));
    return parameters_.back().second;
}

}  // namespace xgrad::nn
