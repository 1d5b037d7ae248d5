#pragma once
/// MlpTwin: a hand-written MLP training step (forward, loss, backward, SGD) on raw cblas, the
/// reference the benchmarks hold autograd against. It follows the lecture notes' recursion
///   a(l) = W(l) z(l-1) + b(l),  z(l) = h(a(l)),
///   δ(L) = h'(a(L)) ⊙ ∂E/∂z(L),  δ(l) = h'(a(l)) ⊙ (W(l+1)ᵀ δ(l+1)),
///   ∂E/∂W(l) = δ(l) z(l-1)ᵀ,  ∂E/∂b(l) = δ(l),
/// batched over rows (samples), so every product is one gemm with transpose flags into a
/// buffer allocated once. Parameters are laid out as nn::Linear's: W (out, in) row-major, b (out).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace xgrad::twin {

enum class Activation { identity, relu, tanh, sigmoid };

/// cross_entropy: softmax cross-entropy of the last layer's output against class labels.
/// squared_error: Σ‖z(L) − t‖² over samples and outputs.
enum class Loss { cross_entropy, squared_error };

/// How per-sample losses are combined, as nn::Reduction: mean (over samples), sum, half_sum.
enum class Reduction { mean, sum, half_sum };

template <class T>
struct Layer {
    std::size_t in, out;
    std::vector<T> weight, bias;            ///< (out, in), (out)
    std::vector<T> grad_weight, grad_bias;  ///< same shapes; overwritten by each backward
};

/// A training step's workspace for a fixed batch size; T is float or double.
template <class T>
class MlpTwin {
public:
    /// `sizes` = {in, hidden..., out}; `hidden` after every layer but the last, `output` after
    /// the last. Parameters start at zero: copy them in with set_parameters.
    MlpTwin(const std::vector<std::size_t>& sizes, Activation hidden, Activation output,
            Loss loss, Reduction reduction, std::size_t batch);

    /// Layer l's weight (out·in values, row-major) and bias (out values).
    void set_parameters(std::size_t l, const T* weight, const T* bias);
    Layer<T>& layer(std::size_t l) { return layers_[l]; }
    const Layer<T>& layer(std::size_t l) const { return layers_[l]; }
    std::size_t depth() const { return layers_.size(); }

    /// Forward and loss; `inputs` (batch, in) row-major; `labels` (batch) for cross_entropy,
    /// `targets` (batch, out) for squared_error (the other may be null). Returns E.
    T forward(const T* inputs, const std::int64_t* labels, const T* targets);
    /// Backward after forward: fills every layer's grad_weight and grad_bias.
    void backward(const T* inputs);
    /// W -= lr ∂E/∂W, b -= lr ∂E/∂b.
    void sgd_update(T lr);
    /// forward + backward + sgd_update; returns E before the update.
    T train_step(const T* inputs, const std::int64_t* labels, const T* targets, T lr);

    /// Multiply-adds ×2 of one train_step: forward, ∂E/∂W, and δ for every layer but the first.
    double flops_per_step() const;
    /// Bytes of parameters, gradients and workspace this object holds.
    std::size_t bytes() const;

private:
    std::vector<Layer<T>> layers_;
    std::vector<Activation> activations_;
    Loss loss_;
    Reduction reduction_;
    std::size_t batch_;
    std::vector<std::vector<T>> outputs_;  ///< z(l), (batch, out(l)); a(l) is overwritten by h
    std::vector<std::vector<T>> deltas_;   ///< δ(l), (batch, out(l))
};

extern template class MlpTwin<float>;
extern template class MlpTwin<double>;

}  // namespace xgrad::twin
