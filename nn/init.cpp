#include "init.hpp"

#include <cmath>

namespace xgrad::nn::init {

namespace {
// Overwrites `target` with `source` (same shape, converted to target's dtype) in place.
void assign(const char* op, Tensor& target, const Tensor& source) {
    if (source.shape() != target.shape()) {
        throw shape_error(std::string(op) + ": values of shape " + shape_str(source.shape()) +
                          " for a tensor of shape " + shape_str(target.shape()));
    }
    NoGradGuard no_grad;
    const Tensor converted = source.to(target.dtype());
    if (target.dtype() == Dtype::float32) target.mutable_value<float>() = converted.value<float>();
    else target.mutable_value<double>() = converted.value<double>();
}
}  // namespace

Fans fans(const Tensor& weight) {
    if (weight.dim() < 2) {
        throw shape_error("init: fan-in and fan-out need a weight of rank >= 2, got shape " +
                          shape_str(weight.shape()));
    }
    std::size_t receptive = 1;
    for (std::size_t axis = 2; axis < weight.dim(); ++axis) receptive *= weight.shape()[axis];
    return {weight.shape()[1] * receptive, weight.shape()[0] * receptive};
}

void xavier_uniform(Tensor& weight, Generator& generator, double gain) {
    const Fans f = fans(weight);
    const double bound = gain * std::sqrt(6.0 / static_cast<double>(f.in + f.out));
    uniform(weight, generator, -bound, bound);
}

void xavier_normal(Tensor& weight, Generator& generator, double gain) {
    const Fans f = fans(weight);
    normal(weight, generator, 0.0, gain * std::sqrt(2.0 / static_cast<double>(f.in + f.out)));
}

void kaiming_uniform(Tensor& weight, Generator& generator, double gain) {
    const double bound = gain * std::sqrt(3.0 / static_cast<double>(fans(weight).in));
    uniform(weight, generator, -bound, bound);
}

void kaiming_normal(Tensor& weight, Generator& generator, double gain) {
    normal(weight, generator, 0.0, gain / std::sqrt(static_cast<double>(fans(weight).in)));
}

void uniform(Tensor& tensor, Generator& generator, double low, double high) {
    assign("init::uniform", tensor, rand(tensor.shape(), generator, Dtype::float64, low, high));
}

void normal(Tensor& tensor, Generator& generator, double mean, double stddev) {
    assign("init::normal", tensor, randn(tensor.shape(), generator, Dtype::float64, mean, stddev));
}

void set_zeros(Tensor& tensor) { set_constant(tensor, 0.0); }

void set_constant(Tensor& tensor, double value) {
    assign("init::set_constant", tensor, full(tensor.shape(), value, Dtype::float64));
}

void set_values(Tensor& tensor, const Tensor& values) { assign("init::set_values", tensor, values); }

}  // namespace xgrad::nn::init
