// Optimisers against hand-computed steps of the published update rules, state save/restore,
// hyper-parameter checks and gradient clipping.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>

#include <nn/nn.hpp>

#include "support/check.hpp"

using namespace xgrad;
using namespace xgrad::nn;
using xgrad::testing::check_throws_with;
using xgrad::testing::at;

namespace {

/// A leaf parameter holding `values`.
Tensor parameter(std::initializer_list<double> values, Dtype dtype = Dtype::float64) {
    return Tensor(values, dtype).set_requires_grad(true);
}

void set_grad(Tensor& p, std::initializer_list<double> grad) {
    p.set_grad(Tensor(grad, p.dtype()));
}

doctest::Approx exact(double value) { return doctest::Approx(value).epsilon(1e-12); }

/// True if both tensors hold the same dtype, shape and bits.
bool identical(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    return visit(a, [&](const auto& x) {
        using T = typename std::decay_t<decltype(x)>::value_type;
        return std::equal(x.begin(), x.end(), b.value<T>().begin());
    });
}

bool identical(const NamedTensors& a, const NamedTensors& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].first != b[i].first || !identical(a[i].second, b[i].second)) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("SGD steps by -lr * grad; weight decay adds weight_decay * param to the grad") {
    Tensor p = parameter({1.0, -2.0});
    SGD sgd({p}, 0.1);
    set_grad(p, {0.5, 1.0});
    sgd.step();  // p = (1 - 0.1*0.5, -2 - 0.1*1) = (0.95, -2.1)
    CHECK(at(p, 0) == exact(0.95));
    CHECK(at(p, 1) == exact(-2.1));
    sgd.step();  // (0.9, -2.2)
    CHECK(at(p, 0) == exact(0.9));
    CHECK(at(p, 1) == exact(-2.2));
    CHECK(sgd.step_count() == 2);

    Tensor q = parameter({1.0});
    SGD decayed({q}, 0.1, 0.0, 0.0, 0.1);
    set_grad(q, {0.5});
    decayed.step();  // g = 0.5 + 0.1*1 = 0.6;     p = 1 - 0.06 = 0.94
    CHECK(at(q, 0) == exact(0.94));
    decayed.step();  // g = 0.5 + 0.1*0.94 = 0.594; p = 0.94 - 0.0594 = 0.8806
    CHECK(at(q, 0) == exact(0.8806));
}

TEST_CASE("SGD momentum: buf = grad first, then momentum * buf + (1 - dampening) * grad") {
    Tensor p = parameter({1.0});
    SGD sgd({p}, 0.1, 0.9);
    set_grad(p, {0.5});
    sgd.step();  // buf = 0.5;                 p = 1 - 0.05 = 0.95
    CHECK(at(p, 0) == exact(0.95));
    sgd.step();  // buf = 0.9*0.5 + 0.5 = 0.95;  p = 0.95 - 0.095 = 0.855
    CHECK(at(p, 0) == exact(0.855));
    sgd.step();  // buf = 0.9*0.95 + 0.5 = 1.355; p = 0.855 - 0.1355 = 0.7195
    CHECK(at(p, 0) == exact(0.7195));

    Tensor q = parameter({1.0});
    SGDOptions options;
    options.lr = 0.1;
    options.momentum = 0.9;
    options.dampening = 0.5;
    SGD damped({q}, options);
    set_grad(q, {0.5});
    damped.step();  // buf = 0.5 (no dampening on the first step); p = 0.95
    CHECK(at(q, 0) == exact(0.95));
    damped.step();  // buf = 0.9*0.5 + 0.5*0.5 = 0.7; p = 0.95 - 0.07 = 0.88
    CHECK(at(q, 0) == exact(0.88));
}

TEST_CASE("SGD Nesterov steps along grad + momentum * buf") {
    Tensor p = parameter({1.0});
    SGD sgd({p}, 0.1, 0.9, 0.0, 0.0, true);
    set_grad(p, {0.5});
    sgd.step();  // buf = 0.5;  g = 0.5 + 0.9*0.5 = 0.95;   p = 1 - 0.095 = 0.905
    CHECK(at(p, 0) == exact(0.905));
    sgd.step();  // buf = 0.95; g = 0.5 + 0.9*0.95 = 1.355; p = 0.905 - 0.1355 = 0.7695
    CHECK(at(p, 0) == exact(0.7695));
}

TEST_CASE("Adam follows the published rule with bias correction") {
    Tensor p = parameter({1.0});
    Adam adam({p}, 0.1);  // beta1 0.9, beta2 0.999, eps 1e-8
    set_grad(p, {0.5});
    // m = 0.1*0.5 = 0.05, v = 0.001*0.25 = 0.00025; m^ = 0.05/0.1 = 0.5, v^ = 0.00025/0.001 = 0.25
    // p = 1 - 0.1 * 0.5 / (sqrt(0.25) + 1e-8) = 0.90000000199999996
    adam.step();
    CHECK(at(p, 0) == exact(0.90000000199999996));
    set_grad(p, {-1.0});
    // m = 0.9*0.05 - 0.1 = -0.055, v = 0.999*0.00025 + 0.001 = 0.00124975
    // m^ = -0.055/(1 - 0.81) = -0.28947368, v^ = 0.00124975/(1 - 0.998001) = 0.62518759,
    // sqrt(v^) = 0.79068805; p = 0.900000002 + 0.1 * 0.28947368 / 0.79068806 = 0.93661035424
    adam.step();
    CHECK(at(p, 0) == exact(0.93661035424056560));
    set_grad(p, {0.25});
    // m = 0.9*-0.055 + 0.025 = -0.0245, v = 0.999*0.00124975 + 0.001*0.0625 = 0.00131100025
    // m^ = -0.0245/0.271, v^ = 0.00131100025/0.002997001, sqrt(v^) = 0.66139049
    // p = 0.93661035424 + 0.1 * 0.09040590 / 0.66139050 = 0.95027942034
    adam.step();
    CHECK(at(p, 0) == exact(0.95027942033897642));
}

TEST_CASE("Adam's bias correction makes the first step lr-sized whatever the grad's scale") {
    // Step 1: m^ = g, v^ = g², so p moves by lr * |g| / (|g| + eps) ~ lr. Without the correction
    // it would move by lr * 0.1 g / (sqrt(0.001) |g|) = 3.16 lr.
    for (const double grad : {1e-3, 1.0, 1e3}) {
        Tensor p = parameter({0.0});
        Adam adam({p}, 0.01);
        set_grad(p, {grad});
        adam.step();
        CHECK(at(p, 0) == doctest::Approx(-0.01).epsilon(1e-5));
    }
}

TEST_CASE("AdamW's decoupled decay and Adam's L2 decay give different steps") {
    Tensor a = parameter({1.0});
    Tensor w = parameter({1.0});
    Adam adam({a}, 0.1, 0.9, 0.999, 1e-8, 0.1);
    AdamW adamw({w}, 0.1, 0.9, 0.999, 1e-8, 0.1);
    set_grad(a, {0.5});
    set_grad(w, {0.5});
    adam.step();   // L2: g = 0.5 + 0.1*1 = 0.6; m^ = 0.6, v^ = 0.36; p = 1 - 0.1*0.6/(0.6 + 1e-8)
    adamw.step();  // decoupled: p = 1*(1 - 0.1*0.1) = 0.99; then p = 0.99 - 0.1*0.5/(0.5 + 1e-8)
    CHECK(at(a, 0) == exact(0.90000000166666664));
    CHECK(at(w, 0) == exact(0.89000000199999996));
    adam.step();   // g = 0.5 + 0.1*0.9000000017 = 0.5900000002; m = 0.113, v = 0.00070774
                   // p = 0.9000000017 - 0.1 * (0.113/0.19) / sqrt(0.00070774/0.001999) = 0.80004734
    adamw.step();  // p = 0.8900000020*0.99 = 0.8811000020; m^ = 0.5, v^ = 0.25 (constant grad)
                   // p = 0.8811000020 - 0.1*0.5/(0.5 + 1e-8) = 0.78110000398
    CHECK(at(a, 0) == exact(0.80004734048833085));
    CHECK(at(w, 0) == exact(0.78110000397999992));

    AdamWOptions defaults;
    CHECK(defaults.weight_decay == 1e-2);
}

TEST_CASE("float32 parameters are updated in float32, alongside float64 ones") {
    Tensor single = parameter({1.0}, Dtype::float32);
    Tensor twin = parameter({1.0});
    SGD sgd({single, twin}, 0.1, 0.9, 0.0, 0.0, true);
    set_grad(single, {0.5});
    set_grad(twin, {0.5});
    sgd.step();
    sgd.step();  // as in the Nesterov case: 0.7695
    CHECK(single.dtype() == Dtype::float32);
    CHECK(single.value<float>()(0) == doctest::Approx(0.7695f).epsilon(1e-6));
    CHECK(at(twin, 0) == exact(0.7695));

    Tensor p = parameter({1.0, 1.0}, Dtype::float32);
    AdamW adamw({p}, 0.1);
    set_grad(p, {0.5, -0.5});
    adamw.step();  // p = 1*(1 - 0.1*0.01) -/+ 0.1 = (0.899, 1.099)
    CHECK(p.value<float>()(0) == doctest::Approx(0.899f).epsilon(1e-6));
    CHECK(p.value<float>()(1) == doctest::Approx(1.099f).epsilon(1e-6));
    CHECK(adamw.state()[3].second.dtype() == Dtype::float32);  // "param.0.exp_avg"
}

TEST_CASE("parameters without a grad are skipped; zero_grad clears grads; lr can change") {
    Tensor with = parameter({1.0});
    Tensor without = parameter({2.0});
    SGD sgd({with, without}, 0.1, 0.9);
    set_grad(with, {1.0});
    const auto version = without.version();
    sgd.step();  // with = 1 - 0.1 = 0.9
    CHECK(at(with, 0) == exact(0.9));
    CHECK(at(without, 0) == 2.0);
    CHECK(without.version() == version);
    const NamedTensors state = sgd.state();
    CHECK(state[2].first == "param.0.step");
    CHECK(state[2].second.item() == 1.0);
    CHECK(state[4].first == "param.1.step");
    CHECK(state[4].second.item() == 0.0);

    sgd.set_learning_rate(0.2);
    CHECK(sgd.learning_rate() == 0.2);
    sgd.step();  // buf = 0.9*1 + 1 = 1.9; p = 0.9 - 0.2*1.9 = 0.52
    CHECK(at(with, 0) == exact(0.52));
    sgd.zero_grad();
    CHECK_FALSE(with.grad().defined());
    sgd.step();
    CHECK(at(with, 0) == exact(0.52));
}

TEST_CASE("bad hyper-parameters throw value_error naming the value") {
    Tensor p = parameter({1.0});
    check_throws_with([&] { SGD({p}, -0.1); }, {"SGD", "lr", "-0.1"});
    check_throws_with([&] { SGD({p}, 0.1, -0.5); }, {"momentum", "-0.5"});
    check_throws_with([&] { SGD({p}, 0.1, 0.9, 1.5); }, {"dampening", "1.5"});
    check_throws_with([&] { SGD({p}, 0.1, 0.9, 0.0, -1e-4); }, {"weight_decay", "-0.0001"});
    check_throws_with([&] { SGD({p}, 0.1, 0.0, 0.0, 0.0, true); }, {"nesterov", "momentum 0"});
    check_throws_with([&] { SGD({p}, 0.1, 0.9, 0.1, 0.0, true); }, {"nesterov", "dampening 0.1"});
    check_throws_with([&] { SGD({}, 0.1); }, {"SGD", "empty"});
    check_throws_with([&] { SGD({p, p}, 0.1); }, {"parameter 1", "shares its storage"});
    check_throws_with([&] { Adam({p}, std::nan("")); }, {"Adam", "lr", "nan"});
    check_throws_with([&] { Adam({p}, 1e-3, 1.0); }, {"beta1", "[0, 1)", "got 1"});
    check_throws_with([&] { Adam({p}, 1e-3, 0.9, -0.1); }, {"beta2", "-0.1"});
    check_throws_with([&] { Adam({p}, 1e-3, 0.9, 0.999, 0.0); }, {"eps", "got 0"});
    check_throws_with([&] { Adam({p}, 1e-3, 0.9, 0.999, 1e-8, -0.01); }, {"weight_decay", "-0.01"});
    check_throws_with([&] { AdamW({p}, -1.0); }, {"AdamW", "lr", "-1"});
    check_throws_with([&] { AdamW({}); }, {"AdamW", "empty"});
    SGD sgd({p}, 0.1);
    check_throws_with([&] { sgd.set_learning_rate(-2.0); }, {"set_learning_rate", "-2"});
    CHECK(sgd.learning_rate() == 0.1);
    set_grad(p, {1.0});
    sgd.step();  // the parameter and the optimiser still work
    CHECK(at(p, 0) == exact(0.9));
}

TEST_CASE("an optimiser step between forward and backward makes backward throw, naming the versions") {
    MLP model({2, 3, 1}, MLP::Options{Activation::tanh, Activation::identity, 0, Dtype::float64});
    Adam adam(model.parameters(), 0.1);
    const Tensor x({{0.5, -1.0}}, Dtype::float64);
    sum(model(x)).backward();
    Tensor loss = sum(model(x));  // the output layer's linear saves its weight
    const std::uint64_t saved = model.linear(1).weight().version();
    adam.step();
    const std::uint64_t now = model.linear(1).weight().version();
    REQUIRE(now > saved);
    check_throws_with<graph_error>([&] { loss.backward(); },
                                   {"backward of 'linear'", "modified in place",
                                    "version " + std::to_string(saved) + " saved, now " + std::to_string(now)});

    adam.zero_grad();  // a forward after the step differentiates normally
    sum(model(x)).backward();
    for (const Tensor& p : model.parameters()) CHECK(p.grad().defined());
}

namespace {

using MakeOptimizer = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;

std::vector<Tensor> fresh_parameters() {
    return {parameter({1.0, -2.0}), parameter({0.5, 0.25, -1.0}, Dtype::float32), parameter({3.0})};
}

/// Grads for step k; parameter 2 gets none before step 3, so per-parameter counts differ.
void set_step_grads(std::vector<Tensor>& parameters, int k) {
    for (std::size_t i = 0; i < parameters.size(); ++i) {
        const double n = static_cast<double>(parameters[i].size());
        const xt::xarray<double> grad = xt::cos(0.7 * k + xt::arange<double>(n) + double(i));
        parameters[i].set_grad(i == 2 && k < 3 ? Tensor() : Tensor(grad).to(parameters[i].dtype()));
    }
}

void run_steps(Optimizer& optimizer, std::vector<Tensor>& parameters, int begin, int end) {
    for (int k = begin; k < end; ++k) {
        set_step_grads(parameters, k);
        if (k == 1) optimizer.set_learning_rate(optimizer.learning_rate() * 0.5);
        optimizer.step();
    }
}

/// Five steps straight through, against two steps, state(), new parameters and optimiser,
/// load_state(), three more steps: the results must be bit-identical.
void check_resume(const MakeOptimizer& make) {
    std::vector<Tensor> straight = fresh_parameters();
    auto uninterrupted = make(straight);
    run_steps(*uninterrupted, straight, 0, 5);

    std::vector<Tensor> first = fresh_parameters();
    auto original = make(first);
    run_steps(*original, first, 0, 2);
    const NamedTensors saved = original->state();
    const NamedTensors saved_copy = original->state();
    std::vector<Tensor> resumed;
    for (const Tensor& p : first) resumed.push_back(p.clone().set_requires_grad(true));
    run_steps(*original, first, 2, 5);  // the saved state is a copy: this must not change it

    auto restored = make(resumed);
    restored->load_state(saved);
    CHECK(identical(restored->state(), saved));
    run_steps(*restored, resumed, 2, 5);
    for (std::size_t i = 0; i < straight.size(); ++i) {
        CHECK(identical(resumed[i], straight[i]));
        CHECK(identical(first[i], straight[i]));
    }
    CHECK(identical(restored->state(), uninterrupted->state()));
    CHECK(identical(saved, saved_copy));  // neither optimiser aliases the saved tensors
}

}  // namespace

TEST_CASE("state and load_state resume bit-identically") {
    using Ps = std::vector<Tensor>;
    check_resume([](Ps ps) { return std::make_unique<SGD>(ps, 0.1, 0.9, 0.0, 0.01, true); });
    check_resume([](Ps ps) { return std::make_unique<SGD>(ps, 0.1, 0.9, 0.3); });
    check_resume([](Ps ps) { return std::make_unique<Adam>(ps, 0.05, 0.8, 0.99, 1e-8, 0.01); });
    check_resume([](Ps ps) { return std::make_unique<AdamW>(ps, 0.05); });

    std::vector<Tensor> ps = fresh_parameters();
    Adam adam(ps);
    std::vector<std::string> keys;
    for (const auto& [key, tensor] : adam.state()) keys.push_back(key);
    CHECK(keys == std::vector<std::string>{"step", "lr", "param.0.step", "param.0.exp_avg",
                                           "param.0.exp_avg_sq", "param.1.step", "param.1.exp_avg",
                                           "param.1.exp_avg_sq", "param.2.step", "param.2.exp_avg",
                                           "param.2.exp_avg_sq"});
    CHECK(adam.state()[0].second.dim() == 0);
}

TEST_CASE("a bad state throws, lists every problem and leaves the optimiser unchanged") {
    std::vector<Tensor> ps = fresh_parameters();
    Adam adam(ps, 0.1);
    run_steps(adam, ps, 0, 2);
    const NamedTensors before = adam.state();

    NamedTensors bad;
    for (const auto& [key, tensor] : before) {
        if (key == "param.0.exp_avg") continue;                   // missing
        if (key == "param.1.exp_avg_sq") {
            bad.emplace_back(key, zeros({2}, Dtype::float32));  // wrong shape
        } else if (key == "step") {
            bad.emplace_back(key, scalar(-1.0, Dtype::float64));  // not a count
        } else {
            bad.emplace_back(key, tensor);
        }
    }
    bad.emplace_back("param.3.exp_avg", zeros({1}, Dtype::float64));  // unexpected
    check_throws_with([&] { adam.load_state(bad); },
                      {"Adam.load_state", "4 problem(s)", "'step' must be a count", "got -1",
                       "missing 'param.0.exp_avg'",
                       "'param.1.exp_avg_sq' is float32(2,), expected float32(3,)",
                       "unexpected key 'param.3.exp_avg'"});
    CHECK(identical(adam.state(), before));

    SGD sgd(ps, 0.1, 0.9);
    check_throws_with([&] { sgd.load_state(before); },
                      {"SGD.load_state", "missing 'param.0.momentum_buffer'",
                       "unexpected key 'param.0.exp_avg'"});
    NamedTensors wrong_dtype = sgd.state();
    wrong_dtype[3].second = zeros({2}, Dtype::float32);  // "param.0.momentum_buffer"
    check_throws_with([&] { sgd.load_state(wrong_dtype); },
                      {"'param.0.momentum_buffer' is float32(2,), expected float64(2,)"});
}

TEST_CASE("clip_grad_norm scales the global norm to exactly max_norm") {
    Tensor a = parameter({3.0, 4.0});
    Tensor b = parameter({12.0}, Dtype::float32);
    Tensor none = parameter({100.0});
    set_grad(a, {3.0, 4.0});
    set_grad(b, {12.0});
    // norm = sqrt(9 + 16 + 144) = 13; 6.5/13 = 0.5 scales every grad exactly.
    CHECK(clip_grad_norm({a, b, none}, 6.5) == 13.0);
    CHECK(at(a.grad(), 0) == 1.5);
    CHECK(at(a.grad(), 1) == 2.0);
    CHECK(at(b.grad(), 0) == 6.0);
    CHECK(clip_grad_norm({a, b}, 100.0) == 6.5);  // below max_norm: untouched
    CHECK(at(b.grad(), 0) == 6.0);

    set_grad(a, {1.0, 1.0});
    set_grad(b, {1.0});
    CHECK(clip_grad_norm({a, b}, 1.0) == exact(std::sqrt(3.0)));
    const double clipped = std::hypot(at(a.grad(), 0), at(a.grad(), 1), at(b.grad(), 0));
    CHECK(clipped == doctest::Approx(1.0).epsilon(1e-7));  // b is float32
    check_throws_with([&] { clip_grad_norm({a}, -1.0); }, {"clip_grad_norm", "max_norm", "-1"});
}

TEST_CASE("clip_grad_norm throws on a non-finite norm and leaves the grads unchanged") {
    Tensor a = parameter({1.0, 2.0});
    Tensor b = parameter({1.0});
    set_grad(a, {1e3, std::nan("")});
    set_grad(b, {1e3});
    const auto versions = std::make_pair(a.grad().version(), b.grad().version());
    check_throws_with([&] { clip_grad_norm({a, b}, 1.0); }, {"clip_grad_norm", "nan", "unchanged"});
    CHECK(std::make_pair(a.grad().version(), b.grad().version()) == versions);
    CHECK(at(a.grad(), 0) == 1e3);
    CHECK(std::isnan(at(a.grad(), 1)));
    CHECK(at(b.grad(), 0) == 1e3);
    set_grad(a, {std::numeric_limits<double>::infinity(), 0.0});
    check_throws_with([&] { clip_grad_norm({a, b}, 1.0); }, {"inf"});
    CHECK(at(b.grad(), 0) == 1e3);
    set_grad(a, {3.0, 4.0});  // finite grads clip as usual afterwards
    CHECK(clip_grad_norm({a}, 1.0) == exact(5.0));
    CHECK(at(a.grad(), 1) == exact(0.8));
}
