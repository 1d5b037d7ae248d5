#include "linear.hpp"

#include <cmath>

#include "init.hpp"

namespace xgrad::nn {

Linear::Linear(std::size_t in, std::size_t out, Generator& generator, bool bias, Dtype dtype)
    : in_(in), out_(out) {
    if (in == 0 || out == 0) {
        throw value_error("Linear: sizes must be positive, got in = " + std::to_string(in) +
                          ", out = " + std::to_string(out));
    }
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    weight_ = register_parameter("weight", zeros({out, in}, dtype));
    init::uniform(weight_, generator, -bound, bound);
    if (bias) {
        bias_ = register_parameter("bias", zeros({out}, dtype));
        init::uniform(bias_, generator, -bound, bound);
    }
}

Linear::Linear(std::size_t in, std::size_t out, std::uint64_t seed, bool bias, Dtype dtype)
    : Linear(in, out, *std::make_unique<Generator>(seed), bias, dtype) {}  // lives for the call

void Linear::check_input(const Tensor& input) const {
    if (input.dim() < 1 || input.dim() > 2 || input.shape()[input.dim() - 1] != in_) {
        throw shape_error("Linear(" + std::to_string(in_) + ", " + std::to_string(out_) +
                          "): input must be (N, " + std::to_string(in_) + ") or (" +
                          std::to_string(in_) + ",), got " + shape_str(input.shape()));
    }
}

Tensor Linear::forward(const Tensor& input) {
    check_input(input);
    return bias_.defined() ? linear(input, weight_, bias_) : matmul(input, weight_, false, true);
}

Tensor Linear::forward(const Tensor& input, Nonlinearity activation) {
    check_input(input);
    if (bias_.defined()) return linear(input, weight_, bias_, activation);
    return activate(matmul(input, weight_, false, true), activation);
}

}  // namespace xgrad::nn
