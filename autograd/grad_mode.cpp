#include "grad_mode.hpp"

namespace xgrad {

namespace {
thread_local bool grad_mode_enabled = true;
}

bool grad_enabled() { return grad_mode_enabled; }

GradModeGuard::GradModeGuard(bool enabled) : previous_(grad_mode_enabled) {
    grad_mode_enabled = enabled;
}

GradModeGuard::~GradModeGuard() { grad_mode_enabled = previous_; }

}  // namespace xgrad
