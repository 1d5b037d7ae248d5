#pragma once
/// NumPy broadcasting rules on shapes.

#include "error.hpp"

namespace xgrad {

/// The broadcast shape of `a` and `b`; throws shape_error naming `op` and both shapes.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

/// True if `from` is a broadcast of `to`, so summing over the broadcast axes gives `to`.
bool can_sum_to(const Shape& from, const Shape& to);

}  // namespace xgrad
