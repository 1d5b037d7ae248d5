#include "anomaly.hpp"

#include <cmath>
#include <sstream>

#include "node.hpp"

namespace xgrad {

// Note [Anomaly mode]
// Off, it costs one thread-local read per op. On, record_op checks every op's result (before
// anything is recorded, so a failing op records nothing) and the engine checks every gradient
// a backward rule returns, before it is accumulated; the ops inside a backward rule
// (BackwardScope) are not checked one by one, so the blame goes to the rule's own op. The first non-finite value throws: its
// op is the one that produced it, since all of that op's inputs passed the same check (unless
// a leaf itself holds a NaN, which the message then shows in that input's range).

namespace {

thread_local int backward_depth = 0;

struct Summary {
    double low = INFINITY, high = -INFINITY;
    std::size_t nan = 0, inf = 0;
};

Summary summarize(const Tensor& x) {
    Summary s;
    visit(x, [&](const auto& array) {
        for (const auto value : array) {
            if (std::isnan(value)) ++s.nan;
            else if (std::isinf(value)) ++s.inf;
            else {
                s.low = std::min(s.low, static_cast<double>(value));
                s.high = std::max(s.high, static_cast<double>(value));
            }
        }
    });
    return s;
}

bool finite(const Tensor& x) {
    const Summary s = summarize(x);
    return s.nan == 0 && s.inf == 0;
}

}  // namespace

AnomalyGuard::AnomalyGuard(bool enabled) : previous_(detail::anomaly_mode) {
    detail::anomaly_mode = enabled;
}

AnomalyGuard::~AnomalyGuard() { detail::anomaly_mode = previous_; }

namespace detail {

std::string describe_values(const Tensor& x) {
    std::ostringstream out;
    out << dtype_name(x.dtype()) << shape_str(x.shape());
    const Summary s = summarize(x);
    if (s.low <= s.high) out << " in [" << s.low << ", " << s.high << "]";
    if (s.nan > 0) out << " with " << s.nan << " NaN";
    if (s.inf > 0) out << (s.nan > 0 ? " and " : " with ") << s.inf << " Inf";
    return out.str();
}

BackwardScope::BackwardScope() { ++backward_depth; }

BackwardScope::~BackwardScope() { --backward_depth; }

void check_forward(const std::string& name, const Tensor& result, const TensorRef* inputs, std::size_t count) {
    if (backward_depth > 0 || finite(result)) return;
    std::string message = "anomaly: forward of '" + name + "' produced " + describe_values(result) +
                          " from ";
    for (std::size_t i = 0; i < count; ++i) {
        message += (i > 0 ? ", input " : "input ") + std::to_string(i) + " " + describe_values(inputs[i].get());
    }
    throw anomaly_error(message);
}

void check_backward(const Node& node, const Tensor& grad_out, const Grads& grads) {
    for (std::size_t i = 0; i < grads.size(); ++i) {
        if (!grads[i].defined() || finite(grads[i])) continue;
        std::string message = "anomaly: backward of '" + std::string(node.name()) + "' produced a gradient " +
                              describe_values(grads[i]) + " for input " + std::to_string(i);
        if (node.inputs()[i]) message += " of shape " + shape_str(node.inputs()[i]->shape());
        throw anomaly_error(message + " from grad_out " + describe_values(grad_out) +
                            " (output shape " + shape_str(node.shape()) + ")");
    }
}

}  // namespace detail

}  // namespace xgrad
