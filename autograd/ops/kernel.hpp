#pragma once
// Helpers shared by the op files: dtype checks and dtype dispatch of forward kernels.
// Internal to autograd.

#include <algorithm>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xbuilder.hpp>

#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>

#include "../anomaly.hpp"
#include "../broadcast.hpp"
#include "../node.hpp"
#include "../tensor.hpp"

#include <array>
#include <cassert>

#include <xtensor/xadapt.hpp>
#include <xtensor/xnoalias.hpp>

namespace xgrad::detail {

template <class Operand, class = void>
struct element_type {
    using type = std::decay_t<Operand>;  // a plain scalar (Note [Broadcast fast paths])
};
template <class Operand>
struct element_type<Operand, std::void_t<typename std::decay_t<Operand>::value_type>> {
    using type = typename std::decay_t<Operand>::value_type;
};

/// The element type of an xt::xarray<T> reference (or of a plain float or double).
template <class Array>
using value_type_of = typename element_type<Array>::type;

[[noreturn]] void throw_mixed_dtypes(const char* op, const Tensor& a, const Tensor& b);
[[noreturn]] void throw_undefined_operand(const char* op);

// Every op runs these checks on every call: inline, with the message built out of line.

/// Throws dtype_error if `a` and `b` differ in dtype.
inline void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype()) throw_mixed_dtypes(op, a, b);
}

/// Throws value_error naming `op` if `x` is undefined.
inline void check_defined(const char* op, const Tensor& x) {
    if (!x.defined()) throw_undefined_operand(op);
}

/// A zero-dimensional tensor of `like`'s dtype.
inline Tensor scalar_like(const Tensor& like, double value) { return scalar(value, like.dtype()); }

/// Tensor(kernel(array)) with the array in its own type: kernel is generic over float/double.
/// The result, of the expression's shape (a broadcast or a transpose changes it), is written
/// in place.
template <class Kernel>
Tensor map_unary(const char* op, const Tensor& x, Kernel&& kernel) {
    check_defined(op, x);
    return visit(x, [&](const auto& array) {
        const auto expression = kernel(array);
        const auto& extents = expression.shape();
        xt::xarray<value_type_of<decltype(array)>>* out = nullptr;
        Tensor result = uninitialized(Shape(extents.begin(), extents.end()), out);
        xt::noalias(*out) = expression;
        return result;
    });
}

/// Tensor(out_i = f(x_i)) in one loop, for an elementwise op whose f takes and returns one float
/// or double: on small tensors this skips xtensor's expression assignment, a few hundred
/// instructions per op on a graph of scalars.
template <class F>
Tensor map_elements(const char* op, const Tensor& x, F&& f) {
    check_defined(op, x);
    return visit(x, [&](const auto& array) {
        using T = value_type_of<decltype(array)>;
        xt::xarray<T>* out = nullptr;
        Tensor result = uninitialized(array.shape(), out);
        const T* __restrict in = array.data();
        T* __restrict values = out->data();
        const std::size_t size = array.size();
        for (std::size_t i = 0; i < size; ++i) values[i] = f(in[i]);
        return result;
    });
}

/// True if an elementwise op may write its result over the array of `x`, an operand its caller
/// gave up (an rvalue): nothing else sees it (Note [Sole owner]), and anomaly mode, which
/// describes the inputs of an op whose result is not finite, is off.
inline bool may_overwrite(const Tensor& x) { return sole_owner(x) && !anomaly_enabled(); }

/// map_elements on an operand the caller gave up: f is applied over x's own array when
/// may_overwrite(x), else into a new tensor. Then returns record(result, x), where x still
/// stands for the operand as it was given (its graph node), even when result is x itself.
template <class F, class Record>
Tensor map_elements_reusing(const char* op, Tensor&& x, F&& f, Record&& record) {
    if (!may_overwrite(x)) return record(map_elements(op, x, f), x);  // also if undefined
    std::visit([&f](auto& array) {
        auto* __restrict values = array.data();
        for (std::size_t i = 0, size = array.size(); i < size; ++i) values[i] = f(values[i]);
    }, x.storage()->array);
    return record(std::move(x), x);
}

/// True if `small` broadcasts against `large` by repetition alone: `small` is a suffix of
/// `large`'s shape, so `large` is a stack of contiguous blocks of `small`'s size.
bool is_trailing_block(const Shape& small, const Shape& large);

/// Tensor(kernel(a, b)) after checking dtypes and broadcast compatibility.
/// Note [Broadcast fast paths]
/// xtensor assigns a broadcast of two dynamic-rank arrays through a stepper, element by
/// element: 5–10× slower than a linear loop on a (256, 128) + (128,) bias add. So a
/// one-element operand whose rank does not raise the result's is passed as a plain scalar, and
/// a trailing-block operand (bias rows) is applied block by block on 1-D adaptors; both keep
/// xtensor's linear assignment. Every other case takes the general broadcast.
/// With Scalar, the kernel is also a function of two plain values (x + y, x * y, ...), and the
/// three fast paths are plain loops over it instead of xtensor assignments.
template <bool Scalar = false, class Kernel>
Tensor map_binary(const char* op, const Tensor& a, const Tensor& b, Kernel&& kernel) {
    check_defined(op, a);
    check_defined(op, b);
    check_same_dtype(op, a, b);
    if (a.shape() != b.shape()) broadcast_shapes(op, a.shape(), b.shape());  // throws if incompatible
    return visit(a, [&](const auto& array_a) {
        using T = value_type_of<decltype(array_a)>;
        const xt::xarray<T>& array_b = b.value<T>();
        xt::xarray<T>* out = nullptr;
        const T* __restrict x = array_a.data();
        const T* __restrict y = array_b.data();
        // A result of `shape` from value(i) (Scalar) or from the xtensor expression.
        const auto fill = [&](const Shape& shape, auto&& value, auto&& expression) {
            Tensor result = uninitialized(shape, out);
            if constexpr (Scalar) {
                T* __restrict values = out->data();
                for (std::size_t i = 0, n = out->size(); i < n; ++i) values[i] = value(i);
            } else {
                xt::noalias(*out) = expression();
            }
            return result;
        };
        if (same_shape(array_a.shape(), array_b.shape())) {
            return fill(array_a.shape(), [&](auto i) { return kernel(x[i], y[i]); },
                        [&] { return kernel(array_a, array_b); });
        }
        if (array_b.size() == 1 && array_b.dimension() <= array_a.dimension()) {
            const T y0 = *y;
            return fill(array_a.shape(), [&](auto i) { return kernel(x[i], y0); },
                        [&] { return kernel(array_a, y0); });
        }
        if (array_a.size() == 1 && array_a.dimension() <= array_b.dimension()) {
            const T x0 = *x;
            return fill(array_b.shape(), [&](auto i) { return kernel(x0, y[i]); },
                        [&] { return kernel(x0, array_b); });
        }
        const bool b_repeats = is_trailing_block(b.shape(), a.shape());
        if (b_repeats || is_trailing_block(a.shape(), b.shape())) {
            const xt::xarray<T>& large = b_repeats ? array_a : array_b;
            const xt::xarray<T>& small = b_repeats ? array_b : array_a;
            const std::size_t block = small.size();
            Tensor result = uninitialized(large.shape(), out);
            const auto small_1d = xt::adapt(small.data(), block, xt::no_ownership(),
                                            std::array<std::size_t, 1>{block});
            for (std::size_t start = 0; start < large.size(); start += block) {
                const auto large_1d = xt::adapt(large.data() + start, block, xt::no_ownership(),
                                                std::array<std::size_t, 1>{block});
                auto out_1d = xt::adapt(out->data() + start, block, xt::no_ownership(),
                                        std::array<std::size_t, 1>{block});
                if (b_repeats) out_1d = kernel(large_1d, small_1d);
                else out_1d = kernel(small_1d, large_1d);
            }
            return result;
        }
        return Tensor(xt::xarray<T>(kernel(array_a, array_b)));
    });
}

/// f(a, b) written over the array of `into` (a if into_a, else b), an operand the caller gave
/// up, when it may hold the result: may_overwrite(into), it is not the other operand, the
/// dtypes match, and the other operand has into's shape, one element (of no higher rank), or
/// is a trailing block of it (so the result has into's shape). f takes and returns plain
/// values. Returns false, with nothing written, for any other operands.
template <class F>
bool combine_in_place(const Tensor& a, const Tensor& b, bool into_a, F&& f) {
    const Tensor& into = into_a ? a : b;
    const Tensor& other = into_a ? b : a;
    if (!may_overwrite(into) || !other.defined() || into.is_same(other) || into.dtype() != other.dtype()) {
        return false;  // may_overwrite is false for an undefined tensor
    }
    const Shape& shape = into.shape();
    const Shape& other_shape = other.shape();
    const bool scalar = other.size() == 1 && other_shape.size() <= shape.size();
    if (other_shape != shape && !scalar && !is_trailing_block(other_shape, shape)) return false;
    std::visit([&](auto& array) {
        using T = value_type_of<decltype(array)>;
        T* __restrict values = array.data();
        const T* __restrict operand = other.value<T>().data();
        const std::size_t size = array.size(), block = scalar ? 1 : other.size();
        const auto apply = [&](T& value, T y) { value = into_a ? f(value, y) : f(y, value); };
        if (scalar) {
            const T y = operand[0];
            for (std::size_t i = 0; i < size; ++i) apply(values[i], y);
            return;
        }
        for (std::size_t start = 0; start < size; start += block) {
            for (std::size_t j = 0; j < block; ++j) apply(values[start + j], operand[j]);
        }
    }, into.storage()->array);
    return true;
}

/// Tensor(out_i = f(x_i, y_i)) for two arrays of one shape, in one loop: how an unrecorded
/// backward rule (grad mode off) computes grad_out times a derivative without the temporaries
/// of a composite expression. A recorded backward writes the composite instead.
template <class T, class F>
Tensor zip_arrays(const xt::xarray<T>& x, const xt::xarray<T>& y, F&& f) {
    assert(x.shape() == y.shape());
    xt::xarray<T>* out = nullptr;
    Tensor tensor = uninitialized(x.shape(), out);
    const T* __restrict a = x.data();
    const T* __restrict b = y.data();
    T* __restrict result = out->data();
    for (std::size_t i = 0, size = out->size(); i < size; ++i) result[i] = f(a[i], b[i]);
    return tensor;
}

/// zip_arrays of `grad` and saved value `i` of a backward rule, read without a tensor handle for it
/// (BackwardContext::saved_value); an undefined Tensor if its shape is not grad's (broadcast).
template <class F>
Tensor zip_saved(const Tensor& grad, const BackwardContext& ctx, std::size_t i, F&& f) {
    return visit(grad, [&](const auto& array) {
        const auto& saved = ctx.saved_value<value_type_of<decltype(array)>>(i);
        return same_shape(saved.shape(), array.shape()) ? zip_arrays(array, saved, f) : Tensor();
    });
}

/// zip_saved of grad_out for its last use in a rule: the result is written over grad_out's
/// own array when nothing else can see it (Note [Sole owner]) and anomaly mode, which reads
/// grad_out after the rule, is off; grad_out itself is then handed on (take_grad_out).
template <class F>
Tensor zip_saved_last_use(const BackwardContext& ctx, std::size_t i, F&& f) {
    const Tensor& grad = ctx.grad_out;
    if (!sole_owner(grad) || anomaly_enabled()) return zip_saved(grad, ctx, i, std::forward<F>(f));
    const bool written = std::visit([&](auto& array) {
        const auto& saved = ctx.saved_value<value_type_of<decltype(array)>>(i);
        if (!same_shape(saved.shape(), array.shape())) return false;
        auto* __restrict values = array.data();
        const auto* __restrict other = saved.data();
        for (std::size_t k = 0, size = array.size(); k < size; ++k) values[k] = f(values[k], other[k]);
        return true;
    }, grad.storage()->array);
    return written ? ctx.take_grad_out() : Tensor();
}

/// Sums `array` over its leading axes into a fresh array of `out_shape` (the trailing extents,
/// possibly with kept 1s): contiguous blocks added in a linear loop, where xtensor's reducer
/// steps element by element. A bias gradient's column sum.
template <class T>
Tensor sum_leading_axes(const xt::xarray<T>& array, const Shape& out_shape) {
    xt::xarray<T>* total = nullptr;
    Tensor result = uninitialized(out_shape, total);
    const std::size_t block = total->size(), size = array.size();
    T* __restrict sums = total->data();
    std::fill(sums, sums + block, T(0));
    const T* __restrict values = array.data();
    for (std::size_t start = 0; start < size; start += block) {
        for (std::size_t j = 0; j < block; ++j) sums[j] += values[start + j];
    }
    return result;
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
