// Reductions over all elements or chosen axes, with keepdims.

#include <numeric>

#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>

#include "../node.hpp"
#include "../ops.hpp"
#include "kernel.hpp"

namespace xgrad {


namespace {
// The reduced array laid out as `shape` (keepdims or not).
template <class Array>
Tensor reshaped(Array&& array, const Shape& shape) {
    array.reshape(shape);
    return Tensor(std::forward<Array>(array));
}

Shape reduced_shape(const Shape& shape, const std::vector<std::size_t>& axes, bool keepdims) {
    if (keepdims) return detail::keepdims_shape(shape, axes);
    Shape result;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (std::find(axes.begin(), axes.end(), i) == axes.end()) result.push_back(shape[i]);
    }
    return result;
}
}  // namespace

// sum: grad_x = broadcast_to(reshape(grad_out, keepdims shape), x.shape)
Tensor sum(const Tensor& x, const Axes& axes, bool keepdims) {
    detail::check_defined("sum", x);
    const auto reduce = detail::normalize_axes("sum", axes, x.dim());
    const Shape out_shape = reduced_shape(x.shape(), reduce, keepdims);
    Tensor out = visit(x, [&](const auto& array) {
        using T = detail::value_type_of<decltype(array)>;
        if (reduce.empty()) return Tensor(xt::xarray<T>(array));  // a scalar: nothing to reduce
        if (reduce.size() < array.dimension() && reduce.back() + 1 == reduce.size()) {
            return detail::sum_leading_axes(array, out_shape);  // a bias gradient's column sum
        }
        return reshaped(detail::sum_now(array, reduce), out_shape);
    });
    return record_op("sum", std::move(out), {x}, {},
                     [from = x.shape(), kept = detail::keepdims_shape(x.shape(), reduce)](
                         const BackwardContext& ctx) {
        return Grads{broadcast_to(reshape(ctx.grad_out, kept), from)};
    });
}

// mean = sum * (1 / number of reduced elements)
Tensor mean(const Tensor& x, const Axes& axes, bool keepdims) {
    detail::check_defined("mean", x);
    const auto reduce = detail::normalize_axes("mean", axes, x.dim());
    std::size_t count = 1;
    for (std::size_t axis : reduce) count *= x.shape()[axis];
    return sum(x, axes, keepdims) * (1.0 / static_cast<double>(count));
}

// max: grad_x = broadcast(grad_out) * [x == max] / (number of tied maxima), 0 selected elsewhere
Tensor max(const Tensor& x, const Axes& axes, bool keepdims) {
    detail::check_defined("max", x);
    const auto reduce = detail::normalize_axes("max", axes, x.dim());
    for (std::size_t axis : reduce) {
        if (x.shape()[axis] == 0) {
            throw shape_error("max: cannot reduce over axis " + std::to_string(axis) +
                              " of extent 0 (shape " + shape_str(x.shape()) + ")");
        }
    }
    const Shape out_shape = reduced_shape(x.shape(), reduce, keepdims);
    const Shape kept = detail::keepdims_shape(x.shape(), reduce);
    Tensor out = visit(x, [&](const auto& array) {
        using T = detail::value_type_of<decltype(array)>;
        if (reduce.empty()) return Tensor(xt::xarray<T>(array));
        return reshaped(detail::amax_now(array, reduce),
                        out_shape);
    });
    return record_op("max", std::move(out), {x}, {x, out},
                     [kept, reduce, from = x.shape()](const BackwardContext& ctx) {
        const Tensor input = ctx.saved(0), maxima = ctx.saved(1);
        // The share of each element: 1/ties where it attains the maximum, else 0 (a constant).
        Tensor share = visit(input, [&](const auto& array) {
            using T = detail::value_type_of<decltype(array)>;
            auto peak = maxima.template value<T>();
            peak.reshape(kept);
            xt::xarray<T> hits = xt::cast<T>(xt::equal(array, peak));
            xt::xarray<T> ties = reduce.empty() ? hits : detail::sum_now(hits, reduce);
            ties.reshape(kept);
            return Tensor(xt::xarray<T>(hits / ties));
        });
        return Grads{detail::scaled_where_nonzero(broadcast_to(reshape(ctx.grad_out, kept), from), share)};
    });
}

}  // namespace xgrad
