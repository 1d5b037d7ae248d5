// The softmax family along one axis, numerically stable for any finite logits.

#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>

#include "../node.hpp"
#include "../ops.hpp"
#include "kernel.hpp"

namespace xgrad {


namespace detail {
// log(sum(exp(x))) along `axis`, kept as extent 1: m + log(sum(exp(x - m))) with m the maximum
// (or 0 where the maximum is infinite, so a row of -inf gives -inf rather than NaN).
template <class T>
xt::xarray<T> logsumexp_kept(const xt::xarray<T>& x, std::size_t axis, const Shape& kept) {
    xt::xarray<T> peak = detail::amax_now(x, {axis});
    peak.reshape(kept);
    peak = xt::where(xt::isfinite(peak), peak, T(0));
    xt::xarray<T> total = detail::sum_now(xt::exp(x - peak), {axis});
    total.reshape(kept);
    return peak + xt::log(total);
}
template xt::xarray<float> logsumexp_kept(const xt::xarray<float>&, std::size_t, const Shape&);
template xt::xarray<double> logsumexp_kept(const xt::xarray<double>&, std::size_t, const Shape&);
}  // namespace detail

// logsumexp: grad_x = reshape(grad_out, kept) * exp(x - reshape(out, kept))   (= softmax)
Tensor logsumexp(const Tensor& x, int axis, bool keepdims) {
    detail::check_defined("logsumexp", x);
    const std::size_t along = detail::normalize_axis("logsumexp", axis, x.dim());
    const Shape kept = detail::keepdims_shape(x.shape(), {along});
    Shape out_shape = kept;
    if (!keepdims) out_shape.erase(out_shape.begin() + static_cast<std::ptrdiff_t>(along));
    Tensor out = visit(x, [&](const auto& array) {
        auto result = detail::logsumexp_kept(array, along, kept);
        result.reshape(out_shape);
        return Tensor(std::move(result));
    });
    return record_op("logsumexp", std::move(out), {x}, {x, out}, [kept](const BackwardContext& ctx) {
        return Grads{reshape(ctx.grad_out, kept) * exp(ctx.saved(0) - reshape(ctx.saved(1), kept))};
    });
}

// log_softmax = x - logsumexp(x, axis, keepdims)
Tensor log_softmax(const Tensor& x, int axis) {
    detail::check_defined("log_softmax", x);
    detail::normalize_axis("log_softmax", axis, x.dim());  // so errors name log_softmax
    return x - logsumexp(x, axis, true);
}

// softmax = exp(log_softmax(x)): never overflows, since log_softmax <= 0
Tensor softmax(const Tensor& x, int axis) {
    detail::check_defined("softmax", x);
    detail::normalize_axis("softmax", axis, x.dim());  // so errors name softmax
    return exp(log_softmax(x, axis));
}

}  // namespace xgrad
