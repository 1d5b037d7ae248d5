// Gradient checking by finite differences, on your own functions.
//
// 1. A composite function written with ordinary operators: gradcheck compares every entry of
//    autograd's Jacobian with central differences and passes.
// 2. A custom operation, softplus(x) = log(1 + eˣ), written with record_op and a backward
//    rule by hand. Its derivative is sigmoid(x); the "buggy" version returns eˣ / (1 + eˣ)²
//    (a classic slip: the derivative of sigmoid, not of softplus). gradcheck catches it.

#include <CLI/CLI.hpp>
#include <fmt/ostream.h>

#include <autograd/autograd.hpp>

using namespace xgrad;

namespace {

// A small model-like function of a weight matrix and a bias: mean(tanh(x W + b)²) / ‖W‖.
Tensor composite(const std::vector<Tensor>& in) {
    const Tensor& w = in[0];
    const Tensor& b = in[1];
    const Tensor x = Tensor({{0.5, -1.0, 2.0}, {1.5, 0.25, -0.75}}, Dtype::float64).to(w.dtype());
    return mean(pow(tanh(matmul(x, w) + b), 2.0)) / sqrt(sum(w * w));
}

/// softplus with a hand-written backward; `buggy` selects the wrong derivative.
Tensor softplus(const Tensor& x, bool buggy) {
    // Stable for any x: log(1 + eˣ) = max(x, 0) + log(1 + e^-|x|).
    const Tensor result = visit(x, [](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        return Tensor(xt::maximum(a, T(0)) + xt::log1p(xt::exp(-xt::abs(a))));
    });
    // softplus: grad_x = grad_out * sigmoid(x)   (buggy: grad_out * sigmoid(x)(1 - sigmoid(x)))
    return record_op(buggy ? "softplus_buggy" : "softplus", result, {x}, {x},
                     [buggy](const BackwardContext& ctx) {
                         const Tensor s = sigmoid(ctx.saved(0));
                         return std::vector<Tensor>{ctx.grad_out * (buggy ? s * (1.0 - s) : s)};
                     });
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t seed = 0;
    CLI::App app("gradcheck on a composite function and on a custom op with a wrong backward");
    app.add_option("--seed", seed, "seed of the random inputs")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    Generator generator(seed);

    const Tensor w = randn({3, 4}, generator, Dtype::float64).set_requires_grad();
    const Tensor b = randn({4}, generator, Dtype::float64).set_requires_grad();
    const GradcheckReport composite_report = gradcheck(composite, {w, b});
    fmt::print("1. mean(tanh(x W + b)^2) / |W|, W (3, 4), b (4,):\n{}\n", fmt::streamed(composite_report));

    const Tensor x = randn({5}, generator, Dtype::float64).set_requires_grad();
    const auto check = [&](bool buggy) {
        return gradcheck([buggy](const std::vector<Tensor>& in) { return sum(softplus(in[0], buggy)); }, {x});
    };
    const GradcheckReport right = check(false), wrong = check(true);
    fmt::print("2. custom softplus, backward sigmoid(x):\n{}\n", fmt::streamed(right));
    fmt::print("3. custom softplus, backward sigmoid(x)(1 - sigmoid(x)) (wrong):\n{}\n", fmt::streamed(wrong));

    const bool as_expected = composite_report.passed && right.passed && !wrong.passed;
    fmt::print("{}\n", as_expected ? "gradcheck passed the correct gradients and caught the wrong one"
                                   : "UNEXPECTED: see the reports above");
    return as_expected ? 0 : 1;
}
