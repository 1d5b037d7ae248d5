#pragma once
/// The catalogue: every differentiable operation, grouped by family. Each is defined, forward
/// and backward together, in ops/<family>.cpp; tests/autograd/test_ops.cpp holds a gradcheck
/// row for every name in `op_catalogue` and fails if one is missing.

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "tensor.hpp"

namespace xgrad {

/// Axes to reduce over; negative values count from the end; empty means all axes.
using Axes = std::vector<int>;
/// Class labels, one per row of a batch.
using Labels = xt::xtensor<std::int64_t, 1>;
/// Row indices into axis 0.
using Indices = std::vector<std::size_t>;

// ---- Elementwise, binary (NumPy broadcasting) ----------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);  ///< a - b, broadcast
/// The same on an operand given up (a temporary, or std::move): when nothing else sees it and
/// it has the result's shape, the result is written over its array instead of a new one
/// (x * w + b makes one array). A moved-from operand is left undefined or unchanged.
Tensor add(Tensor&& a, const Tensor& b);
Tensor add(const Tensor& a, Tensor&& b);
Tensor add(Tensor&& a, Tensor&& b);
Tensor sub(Tensor&& a, const Tensor& b);
Tensor sub(const Tensor& a, Tensor&& b);
Tensor sub(Tensor&& a, Tensor&& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& base, const Tensor& exponent);
Tensor maximum(const Tensor& a, const Tensor& b);  ///< ties split the gradient equally
Tensor minimum(const Tensor& a, const Tensor& b);  ///< ties split the gradient equally
/// Elementwise choice: a where mask is true, b elsewhere; the unused side gets zero gradient.
/// Call it as xgrad::where: the xtensor mask brings xt::where in by argument-dependent lookup.
Tensor where(const xt::xarray<bool>& mask, const Tensor& a, const Tensor& b);

// ---- Elementwise, unary ---------------------------------------------------------------------
Tensor neg(const Tensor& x);
Tensor pow(const Tensor& base, double exponent);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);  ///< gradient 0 at 0
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);  ///< gradient 0 at 0
/// The same on an operand given up (a temporary, or std::move): when nothing else sees it, the
/// result is written over its array (these ops' gradients need only their output, or nothing).
Tensor neg(Tensor&& x);
Tensor exp(Tensor&& x);
Tensor sqrt(Tensor&& x);
Tensor tanh(Tensor&& x);
Tensor sigmoid(Tensor&& x);
Tensor relu(Tensor&& x);
/// Limits to [low, high]; the gradient passes where low <= x <= high.
Tensor clamp(const Tensor& x, double low, double high);

// ---- Linear algebra -------------------------------------------------------------------------
/// Matrix product through BLAS gemm: (m,k)@(k,n), (m,k)@(k,) and (k,)@(k,n). The transpose
/// flags multiply by a 2-D operand's transpose without copying it.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false,
              bool transpose_b = false);
/// x Wᵀ + b for x (N, in) or (in,), W (out, in), b (out,): nn::Linear's affine map, fused
/// (the bias enters gemm as beta = 1; backward is two gemms and a column sum).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);
/// The activations linear can apply as part of its own node.
enum class Nonlinearity { identity, relu, tanh, sigmoid };
/// relu, tanh or sigmoid of x as `activation` says (written over x's array when nothing else
/// sees it), or x itself for identity: no node of its own.
Tensor activate(Tensor&& x, Nonlinearity activation);
/// h(x Wᵀ + b) as one node ("linear_relu", "linear_tanh", "linear_sigmoid"; identity is plain
/// linear): the same values and gradients as relu(linear(x, W, b)) and so on, bit for bit,
/// with one node, one output and one gradient fewer. Backward forms δ = grad_out ⊙ h'(x Wᵀ + b)
/// from the saved output (over grad_out's own array when nothing else sees it), then two
/// gemms and a column sum, as the lecture notes' delta recursion does.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Nonlinearity activation);
/// Reverses the axes (the matrix transpose for 2-D), or permutes them as `axes` says.
Tensor transpose(const Tensor& x, const Axes& axes = {});

// ---- Shape ----------------------------------------------------------------------------------
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// Sums a broadcast `x` down to `shape` (the adjoint of broadcast_to).
Tensor sum_to(const Tensor& x, const Shape& shape);
/// Rows `indices` of axis 0, in that order (repeats allowed): mini-batch selection.
Tensor take_rows(const Tensor& x, const Indices& indices);
/// Zeros with `rows` rows, to which row i of `x` is added at row indices[i] (adjoint of take_rows).
Tensor scatter_rows(const Tensor& x, const Indices& indices, std::size_t rows);
/// Rows [begin, end) of axis 0.
Tensor slice_rows(const Tensor& x, std::size_t begin, std::size_t end);

// ---- Reductions -----------------------------------------------------------------------------
Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
/// Sum / count: NaN over zero elements, as in NumPy.
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
/// Maximum; tied maxima share the gradient equally. An empty reduced axis is a shape_error.
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdims = false);

// ---- Softmax family (numerically stable) ---------------------------------------------------
/// log Σ exp along `axis`; -inf along an empty axis (the log of an empty sum), as in SciPy.
Tensor logsumexp(const Tensor& x, int axis, bool keepdims = false);
Tensor softmax(const Tensor& x, int axis);
Tensor log_softmax(const Tensor& x, int axis);

// ---- Losses (fused for stability; nn wraps them with reductions) ---------------------------
/// Per-row cross-entropy of softmax(logits) against integer labels: (N,C),(N,) -> (N,).
/// Gradient: softmax(logits) - one_hot(labels).
Tensor softmax_cross_entropy(const Tensor& logits, const Labels& labels);
/// The same against target distributions (N,C) (one-hot or probabilities): per row
/// Σ_c t_c (logsumexp(z) - z_c). Gradients: softmax(z) Σ_c t_c - t, and logsumexp(z) - z.
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& targets);
/// Elementwise binary cross-entropy of sigmoid(logits) against targets in [0, 1], stable for
/// any logit: max(x, 0) - x t + log(1 + exp(-|x|)). Shapes must match. Gradient: sigmoid(x) - t.
Tensor sigmoid_cross_entropy(const Tensor& logits, const Tensor& targets);
/// scale times the sum of squared differences, scale·Σ(prediction − target)²; shapes must match
/// exactly (no broadcasting): -> (). The scale (½, or 1/N for a mean) is part of the one node.
Tensor squared_error(const Tensor& prediction, const Tensor& target, double scale = 1.0);

// ---- Operators ------------------------------------------------------------------------------
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
/// On operands given up (temporaries), + and - write over one of them when they can (add, sub).
Tensor operator+(Tensor&& a, const Tensor& b);
Tensor operator+(const Tensor& a, Tensor&& b);
Tensor operator+(Tensor&& a, Tensor&& b);
Tensor operator-(Tensor&& a, const Tensor& b);
Tensor operator-(const Tensor& a, Tensor&& b);
Tensor operator-(Tensor&& a, Tensor&& b);
Tensor operator-(Tensor&& x);
Tensor operator+(Tensor&& a, double b);
Tensor operator-(Tensor&& a, double b);
Tensor operator+(double a, Tensor&& b);
Tensor operator-(double a, Tensor&& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

/// Every differentiable operation above, by name.
inline constexpr std::array<std::string_view, 41> op_catalogue = {
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "where",
    "neg", "pow_scalar", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "clamp",
    "matmul", "linear", "linear_relu", "linear_tanh", "linear_sigmoid", "transpose",
    "reshape", "broadcast_to", "sum_to", "take_rows", "scatter_rows", "slice_rows",
    "sum", "mean", "max",
    "logsumexp", "softmax", "log_softmax",
    "softmax_cross_entropy", "sigmoid_cross_entropy", "squared_error",
};

}  // namespace xgrad
