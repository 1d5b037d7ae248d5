// Elementwise binary operations with NumPy broadcasting. Each backward returns gradients of
// the output's (broadcast) shape; the engine sums them back to each input's shape.

#include <xtensor/xoperation.hpp>

#include "../grad_mode.hpp"
#include "../node.hpp"
#include "../ops.hpp"
#include "kernel.hpp"

namespace xgrad {

using detail::map_binary;

// add and sub save nothing, so an operand the caller gave up (an rvalue) can hold the result
// when nothing else sees it (detail::combine_in_place): x * w + b then makes one array, not two.
namespace {
const auto plus = [](const auto& x, const auto& y) { return x + y; };
const auto minus = [](const auto& x, const auto& y) { return x - y; };

// What the rvalue overloads share: the result is written over the operand the caller gave up
// (`given_a` or `given_b`: a or b itself, or null) if it may hold it, else made anew.
template <class Operation, class Record>
Tensor reusing(const char* op, const Tensor& a, const Tensor& b, Tensor* given_a, Tensor* given_b,
               Operation&& operation, Record&& record) {
    if (given_a && detail::combine_in_place(a, b, true, operation)) return record(std::move(*given_a), a, b);
    if (given_b && detail::combine_in_place(a, b, false, operation)) return record(std::move(*given_b), a, b);
    return record(map_binary<true>(op, a, b, operation), a, b);
}
}  // namespace

// add: grad_a = grad_out, grad_b = grad_out
namespace {
Tensor record_add(Tensor&& out, const Tensor& a, const Tensor& b) {
    return record_op("add", std::move(out), {a, b}, {}, [](const BackwardContext& ctx) {
        return Grads{ctx.grad_out, ctx.grad_out};
    });
}
}  // namespace
Tensor add(const Tensor& a, const Tensor& b) { return record_add(map_binary<true>("add", a, b, plus), a, b); }
Tensor add(Tensor&& a, const Tensor& b) {
    return reusing("add", a, b, &a, nullptr, plus, record_add);
}
Tensor add(const Tensor& a, Tensor&& b) {
    return reusing("add", a, b, nullptr, &b, plus, record_add);
}
Tensor add(Tensor&& a, Tensor&& b) { return reusing("add", a, b, &a, &b, plus, record_add); }

// sub: grad_a = grad_out, grad_b = -grad_out
// (a primitive, not add(a, neg(b)): one node and one array fewer, measured on the scalar chain,
// where tanh's backward 1 - y² goes through it)
namespace {
Tensor record_sub(Tensor&& out, const Tensor& a, const Tensor& b) {
    return record_op("sub", std::move(out), {a, b}, {}, [](const BackwardContext& ctx) {
        return Grads{ctx.grad_out, ctx.needs_grad(1) ? -ctx.grad_out : Tensor()};
    });
}
}  // namespace
Tensor sub(const Tensor& a, const Tensor& b) { return record_sub(map_binary<true>("sub", a, b, minus), a, b); }
Tensor sub(Tensor&& a, const Tensor& b) {
    return reusing("sub", a, b, &a, nullptr, minus, record_sub);
}
Tensor sub(const Tensor& a, Tensor&& b) {
    return reusing("sub", a, b, nullptr, &b, minus, record_sub);
}
Tensor sub(Tensor&& a, Tensor&& b) { return reusing("sub", a, b, &a, &b, minus, record_sub); }

// mul: grad_a = grad_out * b, grad_b = grad_out * a
Tensor mul(const Tensor& a, const Tensor& b) {
    Tensor out = map_binary<true>("mul", a, b, [](const auto& x, const auto& y) { return x * y; });
    return record_op("mul", std::move(out), {a, b}, {a, b}, [](const BackwardContext& ctx) {
        // grad_out times saved value `other`: unrecorded and of grad_out's shape, one loop
        // with no handle for the saved value (half the cost on a graph of scalars), and on its
        // last use written over grad_out if nothing else sees it (Note [Sole owner])
        const auto times_saved = [&ctx](std::size_t other, bool last_use) {
            if (!grad_enabled()) {
                const auto times = [](auto g, auto y) { return g * y; };
                Tensor product = last_use ? detail::zip_saved_last_use(ctx, other, times)
                                          : detail::zip_saved(ctx.grad_out, ctx, other, times);
                if (product.defined()) return product;
            }
            return ctx.grad_out * ctx.saved(other);
        };
        const bool both = ctx.needs_grad(0) && ctx.needs_grad(1);
        return Grads{ctx.needs_grad(0) ? times_saved(1, !both) : Tensor(),  // braced: in order
                     ctx.needs_grad(1) ? times_saved(0, true) : Tensor()};
    });
}

// div: grad_a = grad_out / b, grad_b = -grad_out * out / b
// (a primitive rather than a * pow(b, -1), so that the forward is IEEE division)
Tensor div(const Tensor& a, const Tensor& b) {
    Tensor out = map_binary<true>("div", a, b, [](const auto& x, const auto& y) { return x / y; });
    return record_op("div", std::move(out), {a, b}, {b, out}, [](const BackwardContext& ctx) {
        const Tensor b = ctx.saved(0);
        return Grads{ctx.needs_grad(0) ? ctx.grad_out / b : Tensor(),
                     ctx.needs_grad(1) ? -ctx.grad_out * ctx.saved(1) / b : Tensor()};
    });
}

// pow: grad_base = grad_out * e * base^(e-1), grad_exp = grad_out * out * log(base)
// (grad_exp is 0 where base == 0, where out * log(base) would be 0 * -inf)
Tensor pow(const Tensor& base, const Tensor& exponent) {
    Tensor out = map_binary("pow", base, exponent,
                            [](const auto& x, const auto& y) { return xt::pow(x, y); });
    return record_op("pow", std::move(out), {base, exponent}, {base, exponent, out},
                     [](const BackwardContext& ctx) {
        const Tensor base = ctx.saved(0), exponent = ctx.saved(1);
        Grads grads(2);
        if (ctx.needs_grad(0)) grads[0] = ctx.grad_out * exponent * pow(base, exponent - 1.0);
        if (ctx.needs_grad(1)) {
            const auto nonzero = detail::mask_of(base, [](const auto& x) { return xt::not_equal(x, 0); });
            grads[1] = xgrad::where(nonzero, ctx.grad_out * ctx.saved(2) * log(base),
                             detail::scalar_like(base, 0.0));
        }
        return grads;
    });
}

namespace {
// The share of the gradient that goes to the first operand of maximum (first_wins = x > y)
// or minimum (x < y): 1 where it wins, 1/2 on ties, 0 where it loses. A constant.
Tensor first_share(const char* op, const Tensor& a, const Tensor& b, bool maximum) {
    return map_binary(op, a, b, [maximum](const auto& x, const auto& y) {
        using T = detail::value_type_of<decltype(x)>;
        const xt::xarray<bool> wins = maximum ? xt::xarray<bool>(x > y) : xt::xarray<bool>(x < y);
        return xt::xarray<T>(xt::cast<T>(wins) + T(0.5) * xt::cast<T>(xt::equal(x, y)));
    });
}

Tensor extremum(const char* op, const Tensor& a, const Tensor& b, bool maximum) {
    Tensor out = map_binary(op, a, b, [maximum](const auto& x, const auto& y) {
        return xt::where(maximum ? xt::xarray<bool>(x >= y) : xt::xarray<bool>(x <= y), x, y);
    });
    return record_op(op, out, {a, b}, {a, b}, [op, maximum](const BackwardContext& ctx) {
        const Tensor share = first_share(op, ctx.saved(0), ctx.saved(1), maximum);
        return Grads{ctx.needs_grad(0) ? detail::scaled_where_nonzero(ctx.grad_out, share) : Tensor(),
                     ctx.needs_grad(1) ? detail::scaled_where_nonzero(ctx.grad_out, 1.0 - share) : Tensor()};
    });
}
}  // namespace

// maximum: grad_a = grad_out * [a > b] (half on ties), grad_b = the rest
// (the losing side gets an exact 0, selected, even where grad_out is Inf or NaN)
Tensor maximum(const Tensor& a, const Tensor& b) { return extremum("maximum", a, b, true); }
// minimum: grad_a = grad_out * [a < b] (half on ties), grad_b = the rest
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum("minimum", a, b, false); }

// where: grad_a = where(mask, grad_out, 0), grad_b = where(mask, 0, grad_out)
// Selecting (not multiplying by the mask) keeps a NaN in the unused branch out of the gradient.
Tensor where(const xt::xarray<bool>& mask, const Tensor& a, const Tensor& b) {
    detail::check_defined("where", a);
    detail::check_defined("where", b);
    detail::check_same_dtype("where", a, b);
    const Shape mask_shape(mask.shape().begin(), mask.shape().end());
    broadcast_shapes("where", mask_shape, broadcast_shapes("where", a.shape(), b.shape()));
    Tensor out = visit(a, [&](const auto& x) {
        using T = detail::value_type_of<decltype(x)>;
        const xt::xarray<T>& y = b.value<T>();
        // Branches of the mask's shape or zero-dimensional (relu's where(mask, g, 0)) take a
        // plain loop: xt::where over a bool mask costs ~4 ns an element
        // (Note [Broadcast fast paths] in kernel.hpp).
        const bool x_fits = x.shape() == mask.shape() || x.dimension() == 0;
        const bool y_fits = y.shape() == mask.shape() || y.dimension() == 0;
        if (!x_fits || !y_fits || (x.dimension() == 0 && y.dimension() == 0)) {
            return Tensor(xt::xarray<T>(xt::where(mask, x, y)));
        }
        xt::xarray<T> selected = xt::xarray<T>::from_shape(mask.shape());
        const std::size_t x_step = x.dimension() == 0 ? 0 : 1, y_step = y.dimension() == 0 ? 0 : 1;
        const bool* m = mask.data();
        for (std::size_t i = 0; i < selected.size(); ++i) {
            selected.data()[i] = m[i] ? x.data()[i * x_step] : y.data()[i * y_step];
        }
        return Tensor(std::move(selected));
    });
    return record_op("where", std::move(out), {a, b}, {}, [mask](const BackwardContext& ctx) {
        const Tensor zero = detail::scalar_like(ctx.grad_out, 0.0);
        return Grads{ctx.needs_grad(0) ? xgrad::where(mask, ctx.grad_out, zero) : Tensor(),
                     ctx.needs_grad(1) ? xgrad::where(mask, zero, ctx.grad_out) : Tensor()};
    });
}

}  // namespace xgrad
