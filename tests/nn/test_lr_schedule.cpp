// Learning-rate schedules: lr sequences against their closed forms, and argument checks.

#include <doctest/doctest.h>

#include <cmath>
#include <initializer_list>
#include <string>

#include <nn/lr_schedule.hpp>

#include "support/check.hpp"

using namespace xgrad;
using namespace xgrad::nn;
using xgrad::testing::check_throws_with;
using xgrad::testing::at;

namespace {

Tensor parameter() { return Tensor({1.0}, Dtype::float64).set_requires_grad(true); }

doctest::Approx exact(double value) { return doctest::Approx(value).epsilon(1e-14); }

/// Steps `schedule` through epochs 1..epochs; after each, the schedule and the optimizer must
/// both report closed_form(epoch).
template <class ClosedForm>
void check_sequence(LRSchedule& schedule, const Optimizer& optimizer, int epochs,
                    ClosedForm closed_form) {
    CHECK(schedule.epoch() == 0);
    CHECK(schedule.learning_rate() == exact(closed_form(0)));
    for (int epoch = 1; epoch <= epochs; ++epoch) {
        schedule.step();
        INFO("epoch " << epoch);
        CHECK(schedule.epoch() == static_cast<std::size_t>(epoch));
        CHECK(schedule.learning_rate() == exact(closed_form(epoch)));
        CHECK(optimizer.learning_rate() == schedule.learning_rate());
    }
}

}  // namespace

TEST_CASE("StepLR multiplies by gamma every step_size epochs") {
    SGD sgd({parameter()}, 0.1);
    StepLR schedule(sgd, 3, 0.5);
    // 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, ...
    check_sequence(schedule, sgd, 10, [](int e) { return 0.1 * std::pow(0.5, e / 3); });
    CHECK(sgd.learning_rate() == exact(0.0125));  // epoch 10: 0.1 * 0.5^3
    CHECK(schedule.base_learning_rate() == 0.1);
}

TEST_CASE("ExponentialLR multiplies by gamma every epoch") {
    Adam adam({parameter()}, 0.01);
    ExponentialLR schedule(adam, 0.9);
    check_sequence(schedule, adam, 8, [](int e) { return 0.01 * std::pow(0.9, e); });
    CHECK(adam.learning_rate() == exact(0.01 * 0.43046721));  // 0.9^8
}

TEST_CASE("CosineAnnealingLR follows half a cosine from base lr down to eta_min") {
    SGD sgd({parameter()}, 0.1);
    CosineAnnealingLR schedule(sgd, 10, 0.001);
    const double pi = std::acos(-1.0);
    // eta_min + (0.1 - eta_min) * (1 + cos(pi e / 10)) / 2; past t_max it rises again.
    check_sequence(schedule, sgd, 15, [pi](int e) {
        return 0.001 + (0.1 - 0.001) * (1 + std::cos(pi * e / 10)) / 2;
    });

    SGD other({parameter()}, 0.1);
    CosineAnnealingLR to_zero(other, 4);
    const double expected[] = {0.1, 0.1 * (1 + std::sqrt(0.5)) / 2, 0.05,
                               0.1 * (1 - std::sqrt(0.5)) / 2, 0.0};
    CHECK(to_zero.learning_rate() == 0.1);
    for (int e = 1; e <= 4; ++e) {
        to_zero.step();
        CHECK(to_zero.learning_rate() == doctest::Approx(expected[e]).epsilon(1e-14));
    }
    CHECK(other.learning_rate() == 0.0);  // cos(pi) = -1 exactly
}

TEST_CASE("the scheduled lr is the one the optimiser's next step uses") {
    Tensor p = parameter();
    SGD sgd({p}, 0.1);
    StepLR schedule(sgd, 1, 0.5);
    p.set_grad(Tensor({1.0}, Dtype::float64));
    sgd.step();      // p = 1 - 0.1 = 0.9
    schedule.step();  // lr = 0.05
    sgd.step();      // p = 0.9 - 0.05 = 0.85
    CHECK(at(p, 0) == exact(0.85));
}

TEST_CASE("schedule arguments are validated and named") {
    SGD sgd({parameter()}, 0.1);
    check_throws_with([&] { StepLR(sgd, 0, 0.5); }, {"StepLR", "step_size", "got 0"});
    check_throws_with([&] { StepLR(sgd, -2, 0.5); }, {"step_size", "-2"});
    check_throws_with([&] { StepLR(sgd, 2, -0.5); }, {"StepLR", "gamma", "-0.5"});
    check_throws_with([&] { ExponentialLR(sgd, 0.0); }, {"ExponentialLR", "gamma", "got 0"});
    check_throws_with([&] { ExponentialLR(sgd, std::nan("")); }, {"gamma", "nan"});
    check_throws_with([&] { CosineAnnealingLR(sgd, 0); }, {"CosineAnnealingLR", "t_max", "got 0"});
    check_throws_with([&] { CosineAnnealingLR(sgd, 5, -0.1); }, {"eta_min", "-0.1"});
    CHECK(sgd.learning_rate() == 0.1);
}
