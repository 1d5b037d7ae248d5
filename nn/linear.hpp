#pragma once
/// Linear: y = x Wᵀ + b, with W of shape (out, in) as in the lecture notes (a = W x + b).

#include "module.hpp"

namespace xgrad::nn {

class Linear : public Module {
public:
    /// Weight and bias drawn from U(±1/sqrt(in)) (PyTorch's default), from `generator`.
    Linear(std::size_t in, std::size_t out, Generator& generator, bool bias = true,
           Dtype dtype = Dtype::float32);
    /// The same with a generator seeded by `seed`.
    Linear(std::size_t in, std::size_t out, std::uint64_t seed = 0, bool bias = true,
           Dtype dtype = Dtype::float32);

    /// (N, in) -> (N, out), or (in,) -> (out,).
    Tensor forward(const Tensor& input) override;
    /// activation(forward(input)) as one graph node (autograd's fused linear) when there is a
    /// bias; else forward, then the activation. Same values and gradients either way.
    Tensor forward(const Tensor& input, Nonlinearity activation);

    /// (out, in)
    Tensor& weight() { return weight_; }
    /// (out,); undefined without bias.
    Tensor& bias() { return bias_; }
    std::size_t in_features() const { return in_; }
    std::size_t out_features() const { return out_; }

private:
    /// Throws shape_error naming the layer unless `input` is (N, in) or (in,).
    void check_input(const Tensor& input) const;
    std::size_t in_, out_;
    Tensor weight_, bias_;
};

}  // namespace xgrad::nn
