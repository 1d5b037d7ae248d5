#pragma once
/// Grad mode: whether operations are recorded. Thread-local; on by default.

namespace xgrad {

namespace detail {
// Read by every op and set around every backward rule: inline, so that inside the library
// (initial-exec TLS model, meson.build) a read is one load and not a call.
inline thread_local bool grad_mode_enabled = true;
}  // namespace detail

/// True if operations on tensors that require grad are being recorded on this thread.
inline bool grad_enabled() { return detail::grad_mode_enabled; }

/// Sets grad mode for its lifetime, then restores the previous mode (RAII).
class GradModeGuard {
public:
    explicit GradModeGuard(bool enabled) : previous_(detail::grad_mode_enabled) {
        detail::grad_mode_enabled = enabled;
    }
    ~GradModeGuard() { detail::grad_mode_enabled = previous_; }
    GradModeGuard(const GradModeGuard&) = delete;
    GradModeGuard& operator=(const GradModeGuard&) = delete;

private:
    bool previous_;
};

/// Records nothing while alive: for optimiser updates and evaluation.
class NoGradGuard : public GradModeGuard {
public:
    NoGradGuard() : GradModeGuard(false) {}
};

}  // namespace xgrad
