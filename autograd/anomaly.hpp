#pragma once
/// Anomaly mode: an opt-in, thread-local check of every forward result and every gradient for
/// NaN and Inf, throwing at the first op that produced one (Note [Anomaly mode]).

#include <stdexcept>
#include <string>
#include <vector>

#include "node.hpp"

namespace xgrad {


/// A NaN or Inf found by anomaly mode; the message names the op, its inputs' shapes and ranges.
struct anomaly_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {
// Read by every op: inline, one load inside the library (as grad mode, grad_mode.hpp).
inline thread_local bool anomaly_mode = false;
}  // namespace detail

/// True if anomaly mode is on for this thread (off by default).
inline bool anomaly_enabled() { return detail::anomaly_mode; }

/// Turns anomaly mode on (or off) for its lifetime on this thread, then restores it (RAII).
class AnomalyGuard {
public:
    explicit AnomalyGuard(bool enabled = true);
    ~AnomalyGuard();
    AnomalyGuard(const AnomalyGuard&) = delete;
    AnomalyGuard& operator=(const AnomalyGuard&) = delete;

private:
    bool previous_;
};

namespace detail {
/// Marks this thread as inside a backward rule while alive: its internal ops are not checked
/// one by one; the engine checks the gradients the rule returns instead. Only anomaly mode
/// reads the mark, so the engine sets it only while anomaly mode is on.
class BackwardScope {
public:
    BackwardScope();
    ~BackwardScope();
    BackwardScope(const BackwardScope&) = delete;
    BackwardScope& operator=(const BackwardScope&) = delete;
};
/// "float64(2, 3) in [-1, 4]", with the count of NaN and Inf elements if there are any.
std::string describe_values(const Tensor& x);
/// Throws anomaly_error if `result` of op `name` (inputs[0..count)) holds a NaN or Inf.
void check_forward(const std::string& name, const Tensor& result, const TensorRef* inputs, std::size_t count);
/// Throws anomaly_error if a gradient the backward of `node` returned holds a NaN or Inf.
void check_backward(const Node& node, const Tensor& grad_out, const Grads& grads);
}  // namespace detail

}  // namespace xgrad
