#include "activation.hpp"

#include <array>
#include <cmath>
#include <utility>

namespace xgrad::nn {

namespace {
constexpr std::array<std::pair<Activation, const char*>, 5> names = {{
    {Activation::identity, "identity"},
    {Activation::relu, "relu"},
    {Activation::tanh, "tanh"},
    {Activation::sigmoid, "sigmoid"},
    {Activation::leaky_relu, "leaky_relu"},
}};
}  // namespace

std::string activation_name(Activation activation) {
    for (const auto& [value, name] : names) {
        if (value == activation) return name;
    }
    throw value_error("activation_name: unknown activation " +
                      std::to_string(static_cast<int>(activation)));
}

Activation parse_activation(const std::string& name) {
    std::string valid;
    for (const auto& [value, text] : names) {
        if (name == text) return value;
        valid += valid.empty() ? text : std::string(", ") + text;
    }
    throw value_error("parse_activation: unknown activation '" + name + "' (valid: " + valid + ")");
}

LeakyReLU::LeakyReLU(double slope) : slope_(slope) {
    if (!std::isfinite(slope)) throw value_error("LeakyReLU: slope must be finite, got " + std::to_string(slope));
}

Tensor LeakyReLU::forward(const Tensor& input) {
    const xt::xarray<bool> positive =
        visit(input, [](const auto& x) { return xt::xarray<bool>(x > 0); });
    return xgrad::where(positive, input, input * slope_);
}

std::shared_ptr<Module> make_activation(Activation activation) {
    switch (activation) {
        case Activation::identity: return std::make_shared<Identity>();
        case Activation::relu: return std::make_shared<ReLU>();
        case Activation::tanh: return std::make_shared<Tanh>();
        case Activation::sigmoid: return std::make_shared<Sigmoid>();
        case Activation::leaky_relu: return std::make_shared<LeakyReLU>();
    }
    throw value_error("make_activation: unknown activation " +
                      std::to_string(static_cast<int>(activation)));
}

std::optional<Nonlinearity> fusable_nonlinearity(Activation activation) {
    switch (activation) {
        case Activation::identity: return Nonlinearity::identity;
        case Activation::relu: return Nonlinearity::relu;
        case Activation::tanh: return Nonlinearity::tanh;
        case Activation::sigmoid: return Nonlinearity::sigmoid;
        case Activation::leaky_relu: return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace xgrad::nn
