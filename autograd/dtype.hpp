#pragma once
/// Scalar types a Tensor can hold.

#include <type_traits>

namespace xgrad {

enum class Dtype { float32, float64 };

/// "float32" or "float64".
constexpr const char* dtype_name(Dtype dtype) {
    return dtype == Dtype::float32 ? "float32" : "float64";
}

/// The Dtype of a C++ scalar type (float or double only).
template <class T>
constexpr Dtype dtype_of() {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "xgrad tensors hold float (float32) or double (float64)");
    return std::is_same_v<T, float> ? Dtype::float32 : Dtype::float64;
}

}  // namespace xgrad
