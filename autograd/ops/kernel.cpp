#include "kernel.hpp"

#include <algorithm>

#include <xtensor/xoperation.hpp>

#include "../ops.hpp"

namespace xgrad::detail {

void throw_mixed_dtypes(const char* op, const Tensor& a, const Tensor& b) {
    throw dtype_error(std::string(op) + ": float32 and float64 mixed (" + dtype_name(a.dtype()) +
                      shape_str(a.shape()) + " and " + dtype_name(b.dtype()) +
                      shape_str(b.shape()) + "); convert one with .to(Dtype)");
}

bool is_trailing_block(const Shape& small, const Shape& large) {
    if (small.empty() || small.size() > large.size()) return false;
    return std::equal(small.begin(), small.end(), large.end() - small.size());
}

void throw_undefined_operand(const char* op) {
    throw value_error(std::string(op) + ": an operand is an undefined tensor");
}

std::size_t normalize_axis(const char* op, int axis, std::size_t rank) {
    const auto signed_rank = static_cast<int>(rank);
    if (axis < -signed_rank || axis >= signed_rank) {
        throw value_error(std::string(op) + ": axis " + std::to_string(axis) +
                          " is out of range for a tensor of rank " + std::to_string(rank));
    }
    return static_cast<std::size_t>(axis < 0 ? axis + signed_rank : axis);
}

std::vector<std::size_t> normalize_axes(const char* op, const std::vector<int>& axes,
                                        std::size_t rank) {
    std::vector<std::size_t> result;
    if (axes.empty()) {
        for (std::size_t i = 0; i < rank; ++i) result.push_back(i);
        return result;
    }
    for (int axis : axes) result.push_back(normalize_axis(op, axis, rank));
    std::sort(result.begin(), result.end());
    if (std::adjacent_find(result.begin(), result.end()) != result.end()) {
        throw value_error(std::string(op) + ": an axis is repeated");
    }
    return result;
}

Shape keepdims_shape(const Shape& shape, const std::vector<std::size_t>& axes) {
    Shape kept = shape;
    for (std::size_t axis : axes) kept[axis] = 1;
    return kept;
}

Tensor scaled_where_nonzero(const Tensor& grad, const Tensor& share) {
    const auto nonzero = mask_of(share, [](const auto& a) { return xt::not_equal(a, 0); });
    return xgrad::where(nonzero, grad * share, scalar_like(grad, 0.0));
}

}  // namespace xgrad::detail
