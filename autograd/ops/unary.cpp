// Elementwise unary operations. Where the derivative is cheaper from the output
// (exp, sqrt, tanh, sigmoid, relu) the output is saved instead of the input.

#include <cmath>

#include <xtensor/xmath.hpp>

#include "../grad_mode.hpp"
#include "../node.hpp"
#include "../ops.hpp"
#include "activation_kernels.hpp"
#include "kernel.hpp"

namespace xgrad {

using detail::map_elements;
using detail::map_elements_reusing;
using detail::map_unary;

// neg: grad_x = -grad_out
namespace {
const auto negative = [](auto v) { return -v; };
Tensor record_neg(Tensor&& out, const Tensor& x) {
    return record_op("neg", std::move(out), {x}, {}, [](const BackwardContext& ctx) {
        return Grads{-ctx.grad_out};
    });
}
}  // namespace
Tensor neg(const Tensor& x) { return record_neg(map_elements("neg", x, negative), x); }
Tensor neg(Tensor&& x) { return map_elements_reusing("neg", std::move(x), negative, record_neg); }

// pow_scalar: grad_x = grad_out * c * x^(c-1)
Tensor pow(const Tensor& base, double exponent) {
    Tensor out = map_unary("pow_scalar", base, [exponent](const auto& a) {
        using T = detail::value_type_of<decltype(a)>;
        return xt::pow(a, static_cast<T>(exponent));
    });
    return record_op("pow_scalar", std::move(out), {base}, {base}, [exponent](const BackwardContext& ctx) {
        return Grads{ctx.grad_out * exponent * pow(ctx.saved(0), exponent - 1.0)};
    });
}

// exp: grad_x = grad_out * out
namespace {
const auto exponential = [](auto v) { return std::exp(v); };
Tensor record_exp(Tensor&& out, const Tensor& x) {
    return record_op("exp", std::move(out), {x}, {out}, [](const BackwardContext& ctx) {
        if (!grad_enabled()) {  // unrecorded: no handle for the saved output
            return Grads{detail::zip_saved_last_use(ctx, 0, [](auto g, auto y) { return g * y; })};
        }
        return Grads{ctx.grad_out * ctx.saved(0)};
    });
}
}  // namespace
Tensor exp(const Tensor& x) { return record_exp(map_elements("exp", x, exponential), x); }
Tensor exp(Tensor&& x) {
    return map_elements_reusing("exp", std::move(x), exponential, record_exp);
}

// log: grad_x = grad_out / x
Tensor log(const Tensor& x) {
    Tensor out = map_elements("log", x, [](auto v) { return std::log(v); });
    return record_op("log", std::move(out), {x}, {x}, [](const BackwardContext& ctx) {
        return Grads{ctx.grad_out / ctx.saved(0)};
    });
}

// sqrt: grad_x = grad_out / (2 * out)
namespace {
const auto square_root = [](auto v) { return std::sqrt(v); };
Tensor record_sqrt(Tensor&& out, const Tensor& x) {
    return record_op("sqrt", std::move(out), {x}, {out}, [](const BackwardContext& ctx) {
        return Grads{ctx.grad_out * 0.5 / ctx.saved(0)};
    });
}
}  // namespace
Tensor sqrt(const Tensor& x) { return record_sqrt(map_elements("sqrt", x, square_root), x); }
Tensor sqrt(Tensor&& x) {
    return map_elements_reusing("sqrt", std::move(x), square_root, record_sqrt);
}

// abs: grad_x = grad_out * sign(x)   (sign(0) = 0)
Tensor abs(const Tensor& x) {
    Tensor out = map_unary("abs", x, [](const auto& a) { return xt::abs(a); });
    return record_op("abs", std::move(out), {x}, {x}, [](const BackwardContext& ctx) {
        const Tensor sign = map_unary("abs", ctx.saved(0), [](const auto& a) { return xt::sign(a); });
        return Grads{ctx.grad_out * sign};
    });
}

// sin: grad_x = grad_out * cos(x)
Tensor sin(const Tensor& x) {
    Tensor out = map_elements("sin", x, [](auto v) { return std::sin(v); });
    return record_op("sin", std::move(out), {x}, {x}, [](const BackwardContext& ctx) {
        return Grads{ctx.grad_out * cos(ctx.saved(0))};
    });
}

// cos: grad_x = -grad_out * sin(x)
Tensor cos(const Tensor& x) {
    Tensor out = map_elements("cos", x, [](auto v) { return std::cos(v); });
    return record_op("cos", std::move(out), {x}, {x}, [](const BackwardContext& ctx) {
        return Grads{-ctx.grad_out * sin(ctx.saved(0))};
    });
}

// tanh, sigmoid, relu: grad_x from the output (activation_kernels.hpp, shared with linear's
// fused forms).
namespace {
template <class Activation, std::size_t N>
Tensor record_activation(const char (&name)[N], Tensor&& out, const Tensor& x) {
    return record_op(name, std::move(out), {x}, {out}, [](const BackwardContext& ctx) {
        if (!grad_enabled()) {  // unrecorded: one pass instead of several tensors
            return Grads{detail::zip_saved_last_use(ctx, 0, detail::backward_of<Activation>)};
        }
        return Grads{Activation::recorded_backward(ctx.grad_out, ctx.saved(0))};
    });
}
Tensor record_tanh(Tensor&& out, const Tensor& x) {
    return record_activation<detail::TanhActivation>("tanh", std::move(out), x);
}
Tensor record_sigmoid(Tensor&& out, const Tensor& x) {
    return record_activation<detail::SigmoidActivation>("sigmoid", std::move(out), x);
}
Tensor record_relu(Tensor&& out, const Tensor& x) {
    return record_activation<detail::ReluActivation>("relu", std::move(out), x);
}
constexpr auto hyperbolic_tangent = detail::forward_of<detail::TanhActivation>;
constexpr auto logistic = detail::forward_of<detail::SigmoidActivation>;
constexpr auto positive_part = detail::forward_of<detail::ReluActivation>;
}  // namespace
Tensor tanh(const Tensor& x) { return record_tanh(map_elements("tanh", x, hyperbolic_tangent), x); }
Tensor tanh(Tensor&& x) {
    return map_elements_reusing("tanh", std::move(x), hyperbolic_tangent, record_tanh);
}
Tensor sigmoid(const Tensor& x) { return record_sigmoid(map_elements("sigmoid", x, logistic), x); }
Tensor sigmoid(Tensor&& x) {
    return map_elements_reusing("sigmoid", std::move(x), logistic, record_sigmoid);
}
Tensor relu(const Tensor& x) { return record_relu(map_elements("relu", x, positive_part), x); }
Tensor relu(Tensor&& x) {
    return map_elements_reusing("relu", std::move(x), positive_part, record_relu);
}

Tensor activate(Tensor&& x, Nonlinearity activation) {
    switch (activation) {
        case Nonlinearity::identity: return std::move(x);
        case Nonlinearity::relu: return relu(std::move(x));
        case Nonlinearity::tanh: return tanh(std::move(x));
        case Nonlinearity::sigmoid: return sigmoid(std::move(x));
    }
    throw value_error("activate: unknown activation " + std::to_string(static_cast<int>(activation)));
}

// clamp: grad_x = where(low <= x <= high, grad_out, 0)
Tensor clamp(const Tensor& x, double low, double high) {
    if (!(low <= high)) {
        throw value_error("clamp: needs low <= high, got low = " + std::to_string(low) +
                          ", high = " + std::to_string(high));
    }
    Tensor out = map_unary("clamp", x, [low, high](const auto& a) {
        using T = detail::value_type_of<decltype(a)>;
        return xt::clip(a, static_cast<T>(low), static_cast<T>(high));
    });
    return record_op("clamp", std::move(out), {x}, {x}, [low, high](const BackwardContext& ctx) {
        const auto inside = detail::mask_of(ctx.saved(0), [low, high](const auto& a) {
            using T = detail::value_type_of<decltype(a)>;
            return a >= static_cast<T>(low) && a <= static_cast<T>(high);
        });
        return Grads{xgrad::where(inside, ctx.grad_out, detail::scalar_like(ctx.grad_out, 0.0))};
    });
}

}  // namespace xgrad
