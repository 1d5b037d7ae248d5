#pragma once
// The activations whose derivative comes from their output (tanh, sigmoid, relu), written once
// for their own ops (unary.cpp) and for linear's fused forms (linalg.cpp): the forward map, the
// derivative applied to an incoming gradient in a plain loop, and the same in recorded
// operations for a backward that is itself differentiated. Internal to autograd.

#include "../ops.hpp"
#include "kernel.hpp"

namespace xgrad::detail {

// tanh: grad_x = grad_out * (1 - out^2)
struct TanhActivation {
    template <class T>
    static T forward(T v) { return std::tanh(v); }
    template <class T>
    static T backward(T g, T out) { return g * (T(1) - out * out); }
    static Tensor recorded_backward(const Tensor& g, const Tensor& out) {
        return g * (1.0 - out * out);
    }
};

// sigmoid: grad_x = grad_out * out * (1 - out)
// 1 / (1 + exp(-x)) never overflows to NaN: exp(-x) = inf gives exactly 0.
struct SigmoidActivation {
    template <class T>
    static T forward(T v) { return T(1) / (T(1) + std::exp(-v)); }
    template <class T>
    static T backward(T g, T out) { return g * out * (T(1) - out); }
    static Tensor recorded_backward(const Tensor& g, const Tensor& out) {
        return g * out * (1.0 - out);
    }
};

// relu: grad_x = where(out > 0, grad_out, 0)   (gradient 0 at 0)
struct ReluActivation {
    template <class T>
    static T forward(T v) { return v > T(0) ? v : T(0); }
    template <class T>
    static T backward(T g, T out) { return out > T(0) ? g : T(0); }
    static Tensor recorded_backward(const Tensor& g, const Tensor& out) {
        const auto positive = mask_of(out, [](const auto& a) { return a > 0; });
        return xgrad::where(positive, g, scalar_like(g, 0.0));
    }
};

/// The forward map of `Activation` as a generic lambda, for map_elements.
template <class Activation>
constexpr auto forward_of = [](auto v) { return Activation::forward(v); };
/// Its derivative from the output, g ⊙ h'(x) as a function of (g, out), for zip_saved.
template <class Activation>
constexpr auto backward_of = [](auto g, auto out) { return Activation::backward(g, out); };

}  // namespace xgrad::detail
