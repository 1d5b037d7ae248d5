#pragma once
/// Grad mode: whether operations are recorded. Thread-local; on by default.

namespace xgrad {

/// True if operations on tensors that require grad are being recorded on this thread.
bool grad_enabled();

/// Sets grad mode for its lifetime, then restores the previous mode (RAII).
class GradModeGuard {
public:
    explicit GradModeGuard(bool enabled);
    ~GradModeGuard();
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
