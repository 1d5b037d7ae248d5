// Fused losses: one node each, stable forward, gradient in differentiable operations.

#include <algorithm>
#include <cmath>

#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "../grad_mode.hpp"
#include "../node.hpp"
#include "../ops.hpp"
#include "kernel.hpp"

namespace xgrad {

namespace detail {
template <class T>
xt::xarray<T> logsumexp_kept(const xt::xarray<T>& x, std::size_t axis, const Shape& kept);
}


namespace {
void check_labels(const Tensor& logits, const Labels& labels) {
    const char* op = "softmax_cross_entropy";
    detail::check_defined(op, logits);
    if (logits.dim() != 2) {
        throw shape_error(std::string(op) + ": logits must be 2-D (batch, classes), got shape " +
                          shape_str(logits.shape()));
    }
    const std::size_t batch = logits.shape()[0], classes = logits.shape()[1];
    if (labels.size() != batch) {
        throw shape_error(std::string(op) + ": " + std::to_string(labels.size()) +
                          " labels for a batch of " + std::to_string(batch) + " (logits shape " +
                          shape_str(logits.shape()) + ")");
    }
    for (std::size_t i = 0; i < batch; ++i) {
        if (labels(i) < 0 || static_cast<std::size_t>(labels(i)) >= classes) {
            throw value_error(std::string(op) + ": label " + std::to_string(labels(i)) +
                              " at row " + std::to_string(i) + " is outside [0, " +
                              std::to_string(classes) + ")");
        }
    }
}
}  // namespace

// softmax_cross_entropy: loss_i = logsumexp(logits_i) - logits_i[label_i]
// grad_logits = reshape(grad_out, (N, 1)) * (softmax(logits, 1) - one_hot(labels))
// Forward computes each row's softmax in the same pass as its logsumexp and saves it as a
// constant; an unrecorded backward is then one pass over it. A recorded backward
// (create_graph) recomputes softmax(logits) in differentiable operations.
Tensor softmax_cross_entropy(const Tensor& logits, const Labels& labels) {
    check_labels(logits, labels);
    const std::size_t batch = logits.shape()[0], classes = logits.shape()[1];
    Tensor probabilities;
    Tensor out = visit(logits, [&](const auto& z) {
        using T = detail::value_type_of<decltype(z)>;
        xt::xarray<T> loss = xt::xarray<T>::from_shape({batch});
        xt::xarray<T> p = xt::xarray<T>::from_shape({batch, classes});
        for (std::size_t i = 0; i < batch; ++i) {
            const T* row = z.data() + i * classes;
            T* p_row = p.data() + i * classes;
            T peak = *std::max_element(row, row + classes);
            if (!std::isfinite(peak)) peak = T(0);  // as logsumexp: -inf rows give -inf
            T total = 0;
            for (std::size_t j = 0; j < classes; ++j) total += (p_row[j] = std::exp(row[j] - peak));
            for (std::size_t j = 0; j < classes; ++j) p_row[j] /= total;
            loss(i) = peak + std::log(total) - row[labels(i)];
        }
        probabilities = Tensor(std::move(p));
        return Tensor(std::move(loss));
    });
    return record_op("softmax_cross_entropy", std::move(out), {logits}, {logits, probabilities},
                     [labels](const BackwardContext& ctx) {
        const std::size_t batch = ctx.grad_out.shape()[0];
        if (!grad_enabled()) {
            return Grads{visit(ctx.saved(1), [&](const auto& p) {
                using T = detail::value_type_of<decltype(p)>;
                const std::size_t classes = p.shape()[1];
                const T* g = ctx.grad_out.template value<T>().data();
                xt::xarray<T> grad = xt::xarray<T>::from_shape(p.shape());
                for (std::size_t i = 0; i < batch; ++i) {
                    for (std::size_t j = 0; j < classes; ++j) {
                        const T hot = static_cast<std::size_t>(labels(i)) == j ? T(1) : T(0);
                        grad.data()[i * classes + j] = g[i] * (p.data()[i * classes + j] - hot);
                    }
                }
                return Tensor(std::move(grad));
            })};
        }
        const Tensor z = ctx.saved(0);
        const Tensor one_hot = visit(z, [&](const auto& array) {
            using T = detail::value_type_of<decltype(array)>;
            xt::xarray<T> hot = xt::zeros<T>(array.shape());
            for (std::size_t i = 0; i < labels.size(); ++i) hot(i, labels(i)) = T(1);
            return Tensor(std::move(hot));
        });
        return Grads{reshape(ctx.grad_out, {batch, 1}) * (softmax(z, 1) - one_hot)};
    });
}

namespace {
void check_same_shape(const char* op, const Tensor& a, const char* a_name, const Tensor& b,
                      const char* b_name) {
    detail::check_defined(op, a);
    detail::check_defined(op, b);
    detail::check_same_dtype(op, a, b);
    if (!detail::same_shape(a.shape(), b.shape())) {
        throw shape_error(std::string(op) + ": " + a_name + " " + shape_str(a.shape()) + " and " +
                          b_name + " " + shape_str(b.shape()) +
                          " differ in shape (losses do not broadcast)");
    }
}
}  // namespace

// softmax_cross_entropy (targets): loss_i = Σ_c t_ic (lse_i - z_ic)
// grad_z = g_i (softmax(z)_ic Σ_c t_ic - t_ic), grad_t = g_i (lse_i - z_ic) = -g_i log_softmax(z)_ic
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& targets) {
    check_same_shape("softmax_cross_entropy", logits, "logits", targets, "targets");
    if (logits.dim() != 2) {
        throw shape_error("softmax_cross_entropy: logits must be 2-D (batch, classes), got shape " +
                          shape_str(logits.shape()));
    }
    const std::size_t batch = logits.shape()[0];
    Tensor out = visit(logits, [&](const auto& z) {
        using T = detail::value_type_of<decltype(z)>;
        const auto& t = targets.value<T>();
        xt::xarray<T> lse = detail::logsumexp_kept(z, 1, {batch, 1});
        return Tensor(xt::xarray<T>(detail::sum_now(t * (lse - z), {1})));
    });
    return record_op("softmax_cross_entropy", std::move(out), {logits, targets}, {logits, targets},
                     [batch](const BackwardContext& ctx) {
        const Tensor z = ctx.saved(0), t = ctx.saved(1);
        const Tensor g = reshape(ctx.grad_out, {batch, 1});
        Grads grads(2);
        if (ctx.needs_grad(0)) grads[0] = g * (softmax(z, 1) * sum(t, {1}, true) - t);
        if (ctx.needs_grad(1)) grads[1] = -g * log_softmax(z, 1);
        return grads;
    });
}

// sigmoid_cross_entropy: out = max(x, 0) - x t + log(1 + exp(-|x|))
// grad_x = grad_out * (sigmoid(x) - t), grad_t = -grad_out * x
Tensor sigmoid_cross_entropy(const Tensor& logits, const Tensor& targets) {
    check_same_shape("sigmoid_cross_entropy", logits, "logits", targets, "targets");
    Tensor out = visit(logits, [&](const auto& x) {
        using T = detail::value_type_of<decltype(x)>;
        const auto& t = targets.value<T>();
        return Tensor(xt::xarray<T>(xt::maximum(x, T(0)) - x * t + xt::log1p(xt::exp(-xt::abs(x)))));
    });
    return record_op("sigmoid_cross_entropy", std::move(out), {logits, targets}, {logits, targets},
                     [](const BackwardContext& ctx) {
        const Tensor x = ctx.saved(0);
        return Grads{ctx.needs_grad(0) ? ctx.grad_out * (sigmoid(x) - ctx.saved(1)) : Tensor(),
                     ctx.needs_grad(1) ? -ctx.grad_out * x : Tensor()};
    });
}

namespace {
// squared_error's gradients from grad_p: grad_p itself (moved, not copied: a handle copy is a
// locked increment and decrement) and -grad_p, each where needed.
Grads prediction_and_target_grads(const BackwardContext& ctx, Tensor&& grad_p) {
    Grads grads(2);
    if (ctx.needs_grad(1)) grads[1] = -grad_p;
    if (ctx.needs_grad(0)) grads[0] = std::move(grad_p);
    return grads;
}
}  // namespace

// squared_error: out = c sum((p - t)^2); grad_p = 2 c grad_out (p - t), grad_t = -grad_p
Tensor squared_error(const Tensor& prediction, const Tensor& target, double scale) {
    check_same_shape("squared_error", prediction, "prediction", target, "target");
    if (!std::isfinite(scale)) {
        throw value_error("squared_error: scale must be finite, got " + std::to_string(scale));
    }
    Tensor out = visit(prediction, [&](const auto& p) {  // one pass, no expression temporaries
        using T = detail::value_type_of<decltype(p)>;
        const T* __restrict x = p.data();
        const T* __restrict y = target.value<T>().data();
        double total = 0;
        for (std::size_t i = 0, n = p.size(); i < n; ++i) total += double(x[i] - y[i]) * double(x[i] - y[i]);
        return scalar(scale * total, prediction.dtype());
    });
    return record_op("squared_error", std::move(out), {prediction, target}, {prediction, target},
                     [scale](const BackwardContext& ctx) {
        if (!grad_enabled()) {  // unrecorded: 2 c g (p - t) in one pass
            const double factor = 2.0 * scale * ctx.grad_out.item();
            const auto scaled_difference = [factor](auto x, auto y) { return decltype(x)(factor) * (x - y); };
            return prediction_and_target_grads(ctx, visit(ctx.grad_out, [&](const auto& g) {
                using T = detail::value_type_of<decltype(g)>;
                return detail::zip_arrays(ctx.saved_value<T>(0), ctx.saved_value<T>(1), scaled_difference);
            }));
        }
        return prediction_and_target_grads(ctx, (2.0 * scale) * ctx.grad_out * (ctx.saved(0) - ctx.saved(1)));
    });
}

}  // namespace xgrad
