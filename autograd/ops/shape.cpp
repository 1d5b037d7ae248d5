// Shape operations: reshape, broadcast_to and its adjoint sum_to, and row selection.

#include <algorithm>
#include <numeric>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xreducer.hpp>

#include "../node.hpp"
#include "../ops.hpp"
#include "kernel.hpp"

namespace xgrad {


namespace {
std::size_t element_count(const Shape& shape) {
    return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
}
}  // namespace

// reshape: grad_x = reshape(grad_out, x.shape)
Tensor reshape(const Tensor& x, const Shape& shape) {
    detail::check_defined("reshape", x);
    if (element_count(shape) != x.size()) {
        throw shape_error("reshape: cannot reshape " + shape_str(x.shape()) + " (" +
                          std::to_string(x.size()) + " elements) to " + shape_str(shape) + " (" +
                          std::to_string(element_count(shape)) + " elements)");
    }
    Tensor out = visit(x, [&shape](const auto& array) {
        auto copy = array;
        copy.reshape(shape);
        return Tensor(std::move(copy));
    });
    return record_op("reshape", std::move(out), {x}, {}, [from = x.shape()](const BackwardContext& ctx) {
        return Grads{reshape(ctx.grad_out, from)};
    });
}

// broadcast_to: grad_x = sum_to(grad_out, x.shape)
Tensor broadcast_to(const Tensor& x, const Shape& shape) {
    detail::check_defined("broadcast_to", x);
    if (!can_sum_to(shape, x.shape())) {
        throw shape_error("broadcast_to: cannot broadcast " + shape_str(x.shape()) + " to " +
                          shape_str(shape));
    }
    Tensor out = detail::map_unary("broadcast_to", x, [&shape](const auto& array) {
        return xt::broadcast(array, shape);
    });
    return record_op("broadcast_to", std::move(out), {x}, {}, [from = x.shape()](const BackwardContext& ctx) {
        return Grads{sum_to(ctx.grad_out, from)};
    });
}

// sum_to: grad_x = broadcast_to(grad_out, x.shape)
Tensor sum_to(const Tensor& x, const Shape& shape) {
    detail::check_defined("sum_to", x);
    if (!can_sum_to(x.shape(), shape)) {
        throw shape_error("sum_to: cannot sum " + shape_str(x.shape()) + " down to " +
                          shape_str(shape));
    }
    // Sum the leading axes that `shape` lacks and the axes where it has extent 1.
    const std::size_t lead = x.dim() - shape.size();
    std::vector<std::size_t> axes(lead);
    std::iota(axes.begin(), axes.end(), std::size_t{0});
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 1 && x.shape()[lead + i] != 1) axes.push_back(lead + i);
    }
    Tensor out = visit(x, [&](const auto& array) {
        using T = detail::value_type_of<decltype(array)>;
        xt::xarray<T> summed = axes.empty() ? xt::xarray<T>(array)
                                            : detail::sum_now(array, axes);
        summed.reshape(shape);
        return Tensor(std::move(summed));
    });
    return record_op("sum_to", std::move(out), {x}, {}, [from = x.shape()](const BackwardContext& ctx) {
        return Grads{broadcast_to(ctx.grad_out, from)};
    });
}

namespace {
void check_rows(const char* op, const Tensor& x, const Indices& indices, std::size_t rows) {
    detail::check_defined(op, x);
    if (x.dim() == 0) throw shape_error(std::string(op) + ": needs at least 1-D, got shape ()");
    for (std::size_t i = 0; i < indices.size(); ++i) {
        if (indices[i] >= rows) {
            throw value_error(std::string(op) + ": index " + std::to_string(indices[i]) +
                              " at position " + std::to_string(i) + " is out of range for " +
                              std::to_string(rows) + " rows (tensor shape " +
                              shape_str(x.shape()) + ")");
        }
    }
}

// Copies (or adds) row `from` of `source` to row `to` of `target`; rows are contiguous.
template <class T>
void move_rows(const xt::xarray<T>& source, xt::xarray<T>& target, const Indices& indices,
               bool scatter) {
    const std::size_t row = source.shape()[0] == 0 ? 0 : source.size() / source.shape()[0];
    for (std::size_t i = 0; i < indices.size(); ++i) {
        if (scatter) {
            const T* from = source.data() + i * row;
            T* to = target.data() + indices[i] * row;
            for (std::size_t j = 0; j < row; ++j) to[j] += from[j];
        } else {
            std::copy_n(source.data() + indices[i] * row, row, target.data() + i * row);
        }
    }
}
}  // namespace

// take_rows: grad_x = scatter_rows(grad_out, indices, x.rows)
Tensor take_rows(const Tensor& x, const Indices& indices) {
    check_rows("take_rows", x, indices, x.dim() > 0 ? x.shape()[0] : 0);
    Tensor out = visit(x, [&](const auto& array) {
        using T = detail::value_type_of<decltype(array)>;
        Shape shape = x.shape();
        shape[0] = indices.size();
        xt::xarray<T> rows = xt::xarray<T>::from_shape(shape);
        move_rows(array, rows, indices, false);
        return Tensor(std::move(rows));
    });
    return record_op("take_rows", std::move(out), {x}, {},
                     [indices, rows = x.shape()[0]](const BackwardContext& ctx) {
        return Grads{scatter_rows(ctx.grad_out, indices, rows)};
    });
}

// scatter_rows: grad_x = take_rows(grad_out, indices)
Tensor scatter_rows(const Tensor& x, const Indices& indices, std::size_t rows) {
    check_rows("scatter_rows", x, indices, rows);
    if (x.shape()[0] != indices.size()) {
        throw shape_error("scatter_rows: " + std::to_string(indices.size()) +
                          " indices for a tensor of shape " + shape_str(x.shape()));
    }
    Tensor out = visit(x, [&](const auto& array) {
        using T = detail::value_type_of<decltype(array)>;
        Shape shape = x.shape();
        shape[0] = rows;
        xt::xarray<T> result = xt::zeros<T>(shape);
        move_rows(array, result, indices, true);
        return Tensor(std::move(result));
    });
    return record_op("scatter_rows", std::move(out), {x}, {}, [indices](const BackwardContext& ctx) {
        return Grads{take_rows(ctx.grad_out, indices)};
    });
}

// slice_rows = take_rows of the range [begin, end)
Tensor slice_rows(const Tensor& x, std::size_t begin, std::size_t end) {
    detail::check_defined("slice_rows", x);
    const std::size_t rows = x.dim() > 0 ? x.shape()[0] : 0;
    if (x.dim() == 0 || begin > end || end > rows) {
        throw value_error("slice_rows: range [" + std::to_string(begin) + ", " +
                          std::to_string(end) + ") is not within the rows of shape " +
                          shape_str(x.shape()));
    }
    Indices indices(end - begin);
    std::iota(indices.begin(), indices.end(), begin);
    return take_rows(x, indices);
}

}  // namespace xgrad
