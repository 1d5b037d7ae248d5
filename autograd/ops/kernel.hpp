#pragma once
// Helpers shared by the op files: dtype checks and dtype dispatch of forward kernels.
// Internal to autograd.

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xbuilder.hpp>

#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>

#include "../broadcast.hpp"
#include "../tensor.hpp"

namespace xgrad::detail {

/// The element type of an xt::xarray<T> reference.
template <class Array>
using value_type_of = typename std::decay_t<Array>::value_type;

/// Throws dtype_error if `a` and `b` differ in dtype.
void check_same_dtype(const char* op, const Tensor& a, const Tensor& b);

/// Throws value_error naming `op` if `x` is undefined.
void check_defined(const char* op, const Tensor& x);

/// A zero-dimensional tensor of `like`'s dtype.
inline Tensor scalar_like(const Tensor& like, double value) { return scalar(value, like.dtype()); }

/// Tensor(kernel(array)) with the array in its own type: kernel is generic over float/double.
template <class Kernel>
Tensor map_unary(const char* op, const Tensor& x, Kernel&& kernel) {
    check_defined(op, x);
    return visit(x, [&](const auto& array) {
        return Tensor(xt::xarray<value_type_of<decltype(array)>>(kernel(array)));
    });
}

/// Tensor(kernel(a, b)) after checking dtypes and broadcast compatibility.
template <class Kernel>
Tensor map_binary(const char* op, const Tensor& a, const Tensor& b, Kernel&& kernel) {
    check_defined(op, a);
    check_defined(op, b);
    check_same_dtype(op, a, b);
    broadcast_shapes(op, a.shape(), b.shape());
    return visit(a, [&](const auto& array_a) {
        using T = value_type_of<decltype(array_a)>;
        return Tensor(xt::xarray<T>(kernel(array_a, b.value<T>())));
    });
}

/// Normalises a possibly negative axis against `rank`; throws value_error naming `op`.
std::size_t normalize_axis(const char* op, int axis, std::size_t rank);

/// Sorted, distinct, normalised axes; empty `axes` means all of them.
std::vector<std::size_t> normalize_axes(const char* op, const std::vector<int>& axes,
                                        std::size_t rank);

// Note [Empty reductions]
// xtensor 0.24's immediate reducers (evaluation_strategy::immediate) read out of bounds on a
// zero-size input, even when the result is empty: xt::sum of a (0, 3) array over axis 0
// segfaults; its lazy reducers offset a null pointer there (UBSan). So a zero-size input never
// reaches a reducer: the result is built directly, 0 for a sum, the lowest value for a max.

/// The shape xt::sum(e, axes) has: e's shape without the reduced axes.
template <class E>
Shape reduced_extents(const E& e, const std::vector<std::size_t>& axes) {
    Shape shape;
    for (std::size_t i = 0; i < e.dimension(); ++i) {
        if (std::find(axes.begin(), axes.end(), i) == axes.end()) shape.push_back(e.shape()[i]);
    }
    return shape;
}

/// xt::sum of `e` over `axes`, evaluated.
template <class E>
xt::xarray<typename E::value_type> sum_now(const E& e, const std::vector<std::size_t>& axes) {
    if (e.size() == 0) return xt::zeros<typename E::value_type>(reduced_extents(e, axes));
    return xt::sum(e, axes, xt::evaluation_strategy::immediate);
}
/// xt::sum of `e` over all axes, evaluated (zero-dimensional).
template <class E>
xt::xarray<typename E::value_type> sum_now(const E& e) {
    if (e.size() == 0) return xt::zeros<typename E::value_type>(Shape{});
    return xt::sum(e, xt::evaluation_strategy::immediate);
}

/// xt::amax of `e` over `axes`, evaluated; callers reject empty reduced axes where it matters.
template <class E>
xt::xarray<typename E::value_type> amax_now(const E& e, const std::vector<std::size_t>& axes) {
    using T = typename E::value_type;
    if (e.size() == 0) {
        xt::xarray<T> lowest = xt::xarray<T>::from_shape(reduced_extents(e, axes));
        lowest.fill(std::numeric_limits<T>::lowest());
        return lowest;
    }
    return xt::amax(e, axes, xt::evaluation_strategy::immediate);
}

/// `shape` with the reduced axes kept as extent 1.
Shape keepdims_shape(const Shape& shape, const std::vector<std::size_t>& axes);

}  // namespace xgrad::detail

namespace xgrad::detail {

/// A boolean mask `predicate(array)` of the tensor's values (no graph).
template <class Predicate>
xt::xarray<bool> mask_of(const Tensor& x, Predicate&& predicate) {
    return visit(x, [&](const auto& array) { return xt::xarray<bool>(predicate(array)); });
}

/// where(share != 0, grad * share, 0) for a constant `share`: a masked-out element is an
/// exact 0, never Inf * 0 = NaN (differentiable in `grad`).
Tensor scaled_where_nonzero(const Tensor& grad, const Tensor& share);

}  // namespace xgrad::detail
