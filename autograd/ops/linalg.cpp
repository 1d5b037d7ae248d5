// Matrix product through BLAS gemm, and transpose.

#include <algorithm>
#include <numeric>

#include <xtensor-blas/xblas.hpp>
#include <xtensor/xmanipulation.hpp>

#include "../grad_mode.hpp"
#include "../node.hpp"
#include "../ops.hpp"
#include "activation_kernels.hpp"
#include "kernel.hpp"

namespace xgrad {


namespace {

std::string operand_str(const Tensor& x, bool transposed) {
    return shape_str(x.shape()) + (transposed ? "ᵀ" : "");
}

// C = op(A) op(B) + beta C on row-major matrices (xarrays are contiguous), called through
// xtensor-blas's BLAS binding with the extents and leading dimensions read once here:
// xt::blas::gemm reads them through its expression interface, ~50 instructions a call, which
// on a graph of 2x2 layers is a tenth of what the product itself costs.
template <class T>
void blas_gemm(const xt::xarray<T>& a, const xt::xarray<T>& b, xt::xarray<T>& c, bool transpose_a,
               bool transpose_b, T beta) {
    using xt::blas_index_t;
    const auto transpose = [](bool t) { return t ? cxxblas::Transpose::Trans : cxxblas::Transpose::NoTrans; };
    cxxblas::gemm<blas_index_t>(cxxblas::StorageOrder::RowMajor, transpose(transpose_a), transpose(transpose_b),
                                blas_index_t(c.shape()[0]), blas_index_t(c.shape()[1]),
                                blas_index_t(a.shape()[transpose_a ? 0 : 1]), T(1), a.data(),
                                blas_index_t(a.shape()[1]), b.data(), blas_index_t(b.shape()[1]), beta,
                                c.data(), blas_index_t(c.shape()[1]));
}

// C = op(A) op(B) into a fresh (m, n) array: gemm with transpose flags, no transposed copies.
template <class T>
Tensor gemm_arrays(const xt::xarray<T>& a, const xt::xarray<T>& b, bool transpose_a, bool transpose_b) {
    const std::size_t m = a.shape()[transpose_a ? 1 : 0];
    const std::size_t k = a.shape()[transpose_a ? 0 : 1];
    const std::size_t n = b.shape()[transpose_b ? 0 : 1];
    xt::xarray<T>* c = nullptr;
    Tensor result = detail::uninitialized<T>({m, n}, c);
    if (k == 0) {
        c->fill(T(0));  // an empty sum; BLAS rejects the zero leading dimensions
    } else if (m > 0 && n > 0) {
        blas_gemm(a, b, *c, transpose_a, transpose_b, T(0));
    }
    return result;
}

Tensor gemm(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
    return visit(a, [&](const auto& array_a) {
        using T = detail::value_type_of<decltype(array_a)>;
        return gemm_arrays(array_a, b.value<T>(), transpose_a, transpose_b);
    });
}

// matmul's input gradients for grad_out `g` (the table below), each product computed by
// `product(x, y, transpose_x, transpose_y)` on what `saved(i)` gives: gemm on saved arrays when
// the backward is not recorded, matmul on saved tensors when it is.
template <class G, class Saved, class Product>
void matmul_grads(const BackwardContext& ctx, bool ta, bool tb, const G& g, Grads& grads,
                  Saved saved, Product product) {
    if (ctx.needs_grad(0)) {
        const auto& b = saved(1);
        grads[0] = !ta ? product(g, b, false, !tb) : product(b, g, tb, true);
    }
    if (ctx.needs_grad(1)) {
        const auto& a = saved(0);
        grads[1] = !tb ? product(a, g, !ta, false) : product(g, a, true, ta);
    }
}

// matmul (2-D), C = op(A) op(B), with op(X) = X or Xᵀ:
//   C = A B:    grad_A = grad_C Bᵀ,     grad_B = Aᵀ grad_C
//   C = A Bᵀ:   grad_A = grad_C B,      grad_B = grad_Cᵀ A
//   C = Aᵀ B:   grad_A = B grad_Cᵀ,     grad_B = A grad_C
//   C = Aᵀ Bᵀ:  grad_A = Bᵀ grad_Cᵀ,    grad_B = grad_Cᵀ Aᵀ
// Every case is again a product with transpose flags, so backward never copies a transpose.
Tensor matmul_2d(const Tensor& a, const Tensor& b, bool ta, bool tb) {
    Tensor out = gemm(a, b, ta, tb);
    return record_op("matmul", std::move(out), {a, b}, {a, b}, [ta, tb](const BackwardContext& ctx) {
        const Tensor& g = ctx.grad_out;
        Grads grads(2);
        if (!grad_enabled()) {  // unrecorded: the same products on the saved arrays, no handles
            visit(g, [&](const auto& array_g) {
                using T = detail::value_type_of<decltype(array_g)>;
                matmul_grads(ctx, ta, tb, array_g, grads,
                             [&ctx](std::size_t i) -> const xt::xarray<T>& { return ctx.saved_value<T>(i); },
                             [](const auto& x, const auto& y, bool tx, bool ty) { return gemm_arrays(x, y, tx, ty); });
            });
            return grads;
        }
        matmul_grads(ctx, ta, tb, g, grads, [&ctx](std::size_t i) { return ctx.saved(i); },
                     [](const Tensor& x, const Tensor& y, bool tx, bool ty) { return matmul(x, y, tx, ty); });
        return grads;
    });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
    detail::check_defined("matmul", a);
    detail::check_defined("matmul", b);
    detail::check_same_dtype("matmul", a, b);
    const auto mismatch = [&](const std::string& what) {
        return shape_error("matmul: " + what + ": " + operand_str(a, transpose_a) + " @ " +
                           operand_str(b, transpose_b));
    };
    const std::size_t rank_a = a.dim(), rank_b = b.dim();
    if (rank_a < 1 || rank_a > 2 || rank_b < 1 || rank_b > 2) {
        throw mismatch("operands must be 1-D or 2-D");
    }
    if ((rank_a == 1 && transpose_a) || (rank_b == 1 && transpose_b)) {
        throw mismatch("a transpose flag was given for a 1-D operand");
    }
    const std::size_t k_a = rank_a == 1 ? a.shape()[0] : a.shape()[transpose_a ? 0 : 1];
    const std::size_t k_b = rank_b == 1 ? b.shape()[0] : b.shape()[transpose_b ? 1 : 0];
    if (k_a != k_b) throw mismatch("inner dimensions differ (" + std::to_string(k_a) + " vs " +
                                   std::to_string(k_b) + ")");

    if (rank_a == 2 && rank_b == 2) return matmul_2d(a, b, transpose_a, transpose_b);
    // Vectors become a row (left) or a column (right) matrix, and the result loses that axis.
    const Tensor a2 = rank_a == 1 ? reshape(a, {1, k_a}) : a;
    const Tensor b2 = rank_b == 1 ? reshape(b, {k_b, 1}) : b;
    const Tensor c = matmul_2d(a2, b2, transpose_a, transpose_b);
    Shape shape;
    if (rank_a == 2) shape.push_back(c.shape()[0]);
    if (rank_b == 2) shape.push_back(c.shape()[1]);
    return reshape(c, shape);
}

// linear, y = x Wᵀ + b (fused for measured speed: the bias is gemm's C with beta = 1, so no
// broadcast add node, no output-sized temporary, and no sum_to in backward):
//   grad_x = grad_y W,   grad_W = grad_yᵀ x,   grad_b = sum(grad_y, axis 0)
// With an activation, y = h(x Wᵀ + b), the same with δ = grad_y ⊙ h'(x Wᵀ + b) for grad_y.
namespace {

// Throws unless x (N, in) or (in,), W (out, in) and b (out,) fit; `op` names the caller.
void check_linear(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias) {
    detail::check_defined(op, x);
    detail::check_defined(op, weight);
    detail::check_defined(op, bias);
    detail::check_same_dtype(op, x, weight);
    detail::check_same_dtype(op, x, bias);
    const bool ok = (x.dim() == 1 || x.dim() == 2) && weight.dim() == 2 && bias.dim() == 1 &&
                    x.shape()[x.dim() - 1] == weight.shape()[1] &&
                    bias.shape()[0] == weight.shape()[0];
    if (!ok) {
        throw shape_error(std::string(op) + ": input " + shape_str(x.shape()) + ", weight " +
                          shape_str(weight.shape()) + " and bias " + shape_str(bias.shape()) +
                          " do not fit (N, in) or (in,), (out, in), (out,)");
    }
}

// x Wᵀ + b for a 2-D x into a fresh array, then `h` applied to each element in place.
template <class H>
Tensor affine(const Tensor& x, const Tensor& weight, const Tensor& bias, H&& h) {
    return visit(x, [&](const auto& array_x) {
        using T = detail::value_type_of<decltype(array_x)>;
        const auto& array_w = weight.value<T>();
        const auto& array_b = bias.value<T>();
        const std::size_t rows = array_x.shape()[0], in = array_x.shape()[1], outs = array_w.shape()[0];
        xt::xarray<T>* y = nullptr;
        Tensor result = detail::uninitialized<T>({rows, outs}, y);
        for (std::size_t r = 0; r < rows; ++r) {
            std::copy(array_b.data(), array_b.data() + outs, y->data() + r * outs);
        }
        if (rows > 0 && in > 0 && outs > 0) blas_gemm(array_x, array_w, *y, false, true, T(1));
        T* __restrict values = y->data();
        for (std::size_t i = 0, size = y->size(); i < size; ++i) values[i] = h(values[i]);
        return result;
    });
}

// What linear saves of x or W: the other's gradient is their product with δ, so x is kept
// only if W requires grad and W only if x does (the first layer of an MLP keeps no W: no
// handle copied and released a step).
const Tensor& kept_for(const Tensor& value, const Tensor& other) {
    return other.requires_grad() ? value : detail::no_tensor;
}

// linear's input gradients from δ (grad_y itself without an activation); x and W are saved
// values 0 and 1, each kept only where the other input's gradient needs it.
Grads affine_grads(const BackwardContext& ctx, const Tensor& delta) {
    Grads grads(3);
    if (!grad_enabled()) {  // unrecorded: gemm and a column sum on the saved arrays
        visit(delta, [&](const auto& array_d) {
            using T = detail::value_type_of<decltype(array_d)>;
            if (ctx.needs_grad(0)) grads[0] = gemm_arrays(array_d, ctx.saved_value<T>(1), false, false);
            if (ctx.needs_grad(1)) grads[1] = gemm_arrays(array_d, ctx.saved_value<T>(0), true, false);
            if (ctx.needs_grad(2)) grads[2] = detail::sum_leading_axes(array_d, {array_d.shape()[1]});
        });
        return grads;
    }
    if (ctx.needs_grad(0)) grads[0] = matmul(delta, ctx.saved(1));
    if (ctx.needs_grad(1)) grads[1] = matmul(delta, ctx.saved(0), true, false);
    if (ctx.needs_grad(2)) grads[2] = sum(delta, {0});
    return grads;
}

// h(x Wᵀ + b) as one node named `name`; the output is saved (value 2) for h'.
template <class Activation, std::size_t N>
Tensor linear_activated(const char (&name)[N], const Tensor& x, const Tensor& weight, const Tensor& bias) {
    check_linear(name, x, weight, bias);
    if (x.dim() == 1) {
        return reshape(linear_activated<Activation>(name, reshape(x, {1, x.shape()[0]}), weight, bias),
                       {bias.shape()[0]});
    }
    Tensor out = affine(x, weight, bias, detail::forward_of<Activation>);
    return record_op(name, std::move(out), {x, weight, bias}, {kept_for(x, weight), kept_for(weight, x), out},
                     [](const BackwardContext& ctx) {
        if (!grad_enabled()) {  // δ over grad_out's own array when nothing else sees it
            return affine_grads(ctx, detail::zip_saved_last_use(ctx, 2, detail::backward_of<Activation>));
        }
        return affine_grads(ctx, Activation::recorded_backward(ctx.grad_out, ctx.saved(2)));
    });
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    check_linear("linear", x, weight, bias);
    if (x.dim() == 1) return reshape(linear(reshape(x, {1, x.shape()[0]}), weight, bias), {bias.shape()[0]});
    Tensor out = affine(x, weight, bias, [](auto v) { return v; });
    return record_op("linear", std::move(out), {x, weight, bias}, {kept_for(x, weight), kept_for(weight, x)},
                     [](const BackwardContext& ctx) {
        return affine_grads(ctx, ctx.grad_out);
    });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Nonlinearity activation) {
    // Anomaly mode checks each op's result: unfused, a NaN or Inf in x Wᵀ + b is caught at
    // linear, before relu turns NaN into 0 or tanh and sigmoid saturate an Inf.
    if (anomaly_enabled()) return activate(linear(x, weight, bias), activation);
    switch (activation) {
        case Nonlinearity::identity: return linear(x, weight, bias);
        case Nonlinearity::relu: return linear_activated<detail::ReluActivation>("linear_relu", x, weight, bias);
        case Nonlinearity::tanh: return linear_activated<detail::TanhActivation>("linear_tanh", x, weight, bias);
        case Nonlinearity::sigmoid:
            return linear_activated<detail::SigmoidActivation>("linear_sigmoid", x, weight, bias);
    }
    throw value_error("linear: unknown activation " + std::to_string(static_cast<int>(activation)));
}

// transpose: grad_x = transpose(grad_out, inverse permutation)
Tensor transpose(const Tensor& x, const Axes& axes) {
    detail::check_defined("transpose", x);
    const std::size_t rank = x.dim();
    std::vector<std::size_t> perm(rank);
    if (axes.empty()) {
        std::iota(perm.rbegin(), perm.rend(), std::size_t{0});
    } else {
        if (axes.size() != rank) {
            throw value_error("transpose: " + std::to_string(axes.size()) +
                              " axes given for a tensor of shape " + shape_str(x.shape()));
        }
        std::vector<bool> seen(rank, false);
        for (std::size_t i = 0; i < rank; ++i) {
            perm[i] = detail::normalize_axis("transpose", axes[i], rank);
            if (seen[perm[i]]) throw value_error("transpose: axes are not a permutation");
            seen[perm[i]] = true;
        }
    }
    Axes inverse(rank);
    for (std::size_t i = 0; i < rank; ++i) inverse[perm[i]] = static_cast<int>(i);
    Tensor out = detail::map_unary("transpose", x, [&perm](const auto& array) {
        return xt::transpose(array, perm);
    });
    return record_op("transpose", std::move(out), {x}, {}, [inverse](const BackwardContext& ctx) {
        return Grads{transpose(ctx.grad_out, inverse)};
    });
}

}  // namespace xgrad
