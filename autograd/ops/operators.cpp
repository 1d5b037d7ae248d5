// C++ operators: thin spellings of the catalogue ops; a double becomes a 0-d tensor of the
// other operand's dtype, so scalars never change a tensor's dtype.

#include "../ops.hpp"
#include "kernel.hpp"

namespace xgrad {

using detail::scalar_like;

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double b) { return add(a, scalar_like(a, b)); }
Tensor operator-(const Tensor& a, double b) { return add(a, scalar_like(a, -b)); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_like(a, b)); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar_like(a, b)); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_like(b, a), b); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(b, a), b); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_like(b, a), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(b, a), b); }

Tensor operator+(Tensor&& a, const Tensor& b) { return add(std::move(a), b); }
Tensor operator+(const Tensor& a, Tensor&& b) { return add(a, std::move(b)); }
Tensor operator+(Tensor&& a, Tensor&& b) { return add(std::move(a), std::move(b)); }
Tensor operator-(Tensor&& a, const Tensor& b) { return sub(std::move(a), b); }
Tensor operator-(const Tensor& a, Tensor&& b) { return sub(a, std::move(b)); }
Tensor operator-(Tensor&& a, Tensor&& b) { return sub(std::move(a), std::move(b)); }
Tensor operator-(Tensor&& x) { return neg(std::move(x)); }
Tensor operator+(Tensor&& a, double b) {
    const Tensor constant = scalar_like(a, b);
    return add(std::move(a), constant);
}
Tensor operator-(Tensor&& a, double b) {
    const Tensor constant = scalar_like(a, -b);
    return add(std::move(a), constant);
}
Tensor operator+(double a, Tensor&& b) {
    const Tensor constant = scalar_like(b, a);
    return add(constant, std::move(b));
}
Tensor operator-(double a, Tensor&& b) {
    const Tensor constant = scalar_like(b, a);
    return sub(constant, std::move(b));
}

}  // namespace xgrad
