#pragma once
/// Typed errors. Every message names the operation and the shapes or values involved.

#include <stdexcept>
#include <string>

#include <xtensor/xstorage.hpp>

namespace xgrad {

/// A tensor shape: one extent per axis; the empty shape is a scalar.
using Shape = xt::svector<std::size_t, 4>;

namespace detail {
/// a == b as an inline loop: Shape's operator== calls memcmp, which on the one- and two-axis
/// shapes of a small graph costs more than the comparison itself. Internal.
inline bool same_shape(const Shape& a, const Shape& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i] != b[i]) return false;
    }
    return true;
}
}  // namespace detail

/// Operands whose shapes do not fit the operation.
struct shape_error : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

/// float32 and float64 mixed in one operation, or a value read as the wrong type.
struct dtype_error : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

/// An argument outside its valid range (axis, label, index, hyper-parameter).
struct value_error : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

/// Misuse of the graph: backward without a graph, twice through a freed graph, wrong seed.
struct graph_error : std::logic_error {
    using std::logic_error::logic_error;
};

/// "(2, 3)"; "()" for a scalar; "(4,)" for a vector, as NumPy prints shapes.
std::string shape_str(const Shape& shape);

}  // namespace xgrad
