#include "lr_schedule.hpp"

#include <cmath>
#include <sstream>
#include <string>

namespace xgrad::nn {

namespace {

/// Throws "<op>: <what> must be <rule>, got <value>" unless `ok`.
void require(bool ok, const char* op, const char* what, const char* rule, double value) {
    if (ok) return;
    std::ostringstream message;
    message << op << ": " << what << " must be " << rule << ", got " << value;
    throw value_error(message.str());
}

bool positive_finite(double value) { return std::isfinite(value) && value > 0.0; }

}  // namespace

LRSchedule::LRSchedule(Optimizer& optimizer)
    : optimizer_(optimizer), base_lr_(optimizer.learning_rate()) {}

void LRSchedule::step() {
    ++epoch_;
    optimizer_.set_learning_rate(learning_rate());
}

StepLR::StepLR(Optimizer& optimizer, int step_size, double gamma)
    : LRSchedule(optimizer), step_size_(static_cast<std::size_t>(step_size)), gamma_(gamma) {
    require(step_size > 0, "StepLR", "step_size", "> 0", step_size);
    require(positive_finite(gamma), "StepLR", "gamma", "finite and > 0", gamma);
}

double StepLR::lr_at(std::size_t epoch) const {
    return base_learning_rate() * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma)
    : LRSchedule(optimizer), gamma_(gamma) {
    require(positive_finite(gamma), "ExponentialLR", "gamma", "finite and > 0", gamma);
}

double ExponentialLR::lr_at(std::size_t epoch) const {
    return base_learning_rate() * std::pow(gamma_, static_cast<double>(epoch));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int t_max, double eta_min)
    : LRSchedule(optimizer), t_max_(static_cast<std::size_t>(t_max)), eta_min_(eta_min) {
    require(t_max > 0, "CosineAnnealingLR", "t_max", "> 0", t_max);
    require(std::isfinite(eta_min) && eta_min >= 0.0, "CosineAnnealingLR", "eta_min",
            "finite and >= 0", eta_min);
}

double CosineAnnealingLR::lr_at(std::size_t epoch) const {
    const double pi = std::acos(-1.0);
    const double phase = pi * static_cast<double>(epoch) / static_cast<double>(t_max_);
    return eta_min_ + (base_learning_rate() - eta_min_) * (1.0 + std::cos(phase)) / 2.0;
}

}  // namespace xgrad::nn
