#pragma once
/// Parameter initialisers. Each overwrites a tensor's values in place (handles stay valid),
/// records nothing, and is reproducible: the same generator state gives bit-identical values.

#include <autograd/autograd.hpp>

namespace xgrad::nn::init {

/// fan_in and fan_out of a weight of shape (out, in, ...): in·receptive and out·receptive.
struct Fans {
    std::size_t in, out;
};
/// Throws shape_error for tensors of rank < 2 (fans are undefined for them).
Fans fans(const Tensor& weight);

/// Xavier/Glorot: U(±gain·sqrt(6 / (fan_in + fan_out))).
void xavier_uniform(Tensor& weight, Generator& generator, double gain = 1.0);
/// Xavier/Glorot: N(0, gain² · 2 / (fan_in + fan_out)).
void xavier_normal(Tensor& weight, Generator& generator, double gain = 1.0);
/// He/Kaiming for ReLU: U(±sqrt(6 / fan_in)) (gain sqrt(2)); pass another gain for others.
void kaiming_uniform(Tensor& weight, Generator& generator, double gain = 1.4142135623730951);
/// He/Kaiming for ReLU: N(0, 2 / fan_in) (gain sqrt(2)).
void kaiming_normal(Tensor& weight, Generator& generator, double gain = 1.4142135623730951);
/// U[low, high).
void uniform(Tensor& tensor, Generator& generator, double low, double high);
/// N(mean, stddev²).
void normal(Tensor& tensor, Generator& generator, double mean = 0.0, double stddev = 1.0);
void set_zeros(Tensor& tensor);
void set_constant(Tensor& tensor, double value);
/// Copies exact values (any dtype, converted); the shape must match.
void set_values(Tensor& tensor, const Tensor& values);

}  // namespace xgrad::nn::init
