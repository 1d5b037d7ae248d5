// The lecture notes' worked example: a 2-2-2 network with sigmoid hidden and output units,
// one sample, E = ½‖h − y‖². Prints the forward pass, every gradient beside its central
// finite difference, the local errors δ, and one SGD step, with the correct figures (the
// notes' printed numbers contain slips: their δ2 = h − y drops σ'(a2), for one).
//
//   a1 = W1 x + b1,  z1 = σ(a1),  a2 = W2 z1 + b2,  h = σ(a2)

#include <algorithm>
#include <tuple>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <nn/nn.hpp>

using namespace xgrad;

namespace {

/// "[0.1, 0.2]" for a vector, "[[0.1, 0.2], [0.3, 0.4]]" for a matrix.
std::string values(const Tensor& t) {
    const std::size_t columns = t.dim() == 2 ? t.shape()[1] : t.size();
    std::string text;
    visit(t, [&](const auto& array) {
        for (std::size_t i = 0; i < array.size(); ++i) {
            text += fmt::format("{}{}{:.10f}", i == 0 ? "" : i % columns ? ", " : "], [", "", array.data()[i]);
        }
    });
    return t.dim() == 2 ? "[[" + text + "]]" : "[" + text + "]";
}

struct Forward {
    Tensor a1, z1, a2, h, e;
};

// p = {W1, b1, W2, b2}.
Forward forward(const std::vector<Tensor>& p, const Tensor& x, const Tensor& y) {
    Forward f;
    f.a1 = matmul(p[0], x) + p[1];
    f.z1 = sigmoid(f.a1);
    f.a2 = matmul(p[2], f.z1) + p[3];
    f.h = sigmoid(f.a2);
    f.e = 0.5 * squared_error(f.h, y);
    return f;
}

}  // namespace

int main(int argc, char** argv) {
    double lr = 0.5;
    CLI::App app("The lecture notes' 2-2-2 sigmoid network: forward, gradients, one SGD step");
    app.add_option("--lr", lr, "SGD learning rate η")->capture_default_str()->check(CLI::NonNegativeNumber);
    CLI11_PARSE(app, argc, argv);

    const Tensor x({0.05, 0.10}, Dtype::float64), y({0.01, 0.99}, Dtype::float64);
    std::vector<Tensor> params = {
        Tensor({{0.25, 0.30}, {0.15, 0.20}}, Dtype::float64).set_requires_grad(),  // W1
        Tensor({0.35, 0.35}, Dtype::float64).set_requires_grad(),                  // b1
        Tensor({{0.45, 0.40}, {0.50, 0.55}}, Dtype::float64).set_requires_grad(),  // W2
        Tensor({0.60, 0.60}, Dtype::float64).set_requires_grad(),                  // b2
    };
    const char* names[] = {"W1", "b1", "W2", "b2"};

    const Forward f = forward(params, x, y);
    fmt::print("Forward pass (x = {}, y = {})\n", values(x), values(y));
    fmt::print("  a1 = W1 x + b1    = {}\n  z1 = sigmoid(a1)  = {}\n", values(f.a1), values(f.z1));
    fmt::print("  a2 = W2 z1 + b2   = {}\n  h  = sigmoid(a2)  = {}\n", values(f.a2), values(f.h));
    fmt::print("  E  = 1/2 |h - y|^2 = {:.12f}\n\n", f.e.item());

    // δ = ∂E/∂a, read from the graph (retained, so backward can still run).
    const auto deltas = grad({f.e}, {f.a2, f.a1}, {}, /*retain_graph=*/true);
    fmt::print("Local errors\n  delta2 = (h - y) * h(1 - h)        = {}\n", values(deltas[0]));
    fmt::print("  delta1 = z1(1 - z1) * (W2^T delta2) = {}\n\n", values(deltas[1]));

    f.e.backward();
    // Every gradient entry beside its central difference: gradcheck keeps all of them.
    GradcheckOptions options;
    options.worst = 12;
    GradcheckReport report = gradcheck([&](const std::vector<Tensor>& p) { return forward(p, x, y).e; }, params, options);
    std::sort(report.worst.begin(), report.worst.end(), [](const auto& a, const auto& b) {
        return std::tie(a.input, a.index) < std::tie(b.input, b.index);
    });
    fmt::print("Gradients            autograd          finite difference   |difference|\n");
    for (const GradcheckEntry& entry : report.worst) {
        const std::string index = entry.index.size() == 2 ? fmt::format("[{},{}]", entry.index[0], entry.index[1])
                                                          : fmt::format("[{}]", entry.index[0]);
        fmt::print("  dE/d{}{:<7} {:>17.12f} {:>19.12f}   {:.1e}\n", names[entry.input], index,
                   entry.analytic, entry.numeric, entry.abs_error);
    }
    fmt::print("  gradcheck {} ({} entries, max abs error {:.1e})\n\n", report.passed ? "PASSED" : "FAILED",
               report.compared, report.max_abs_error);

    nn::SGD sgd(params, lr);
    sgd.step();
    fmt::print("One SGD step, eta = {}: p <- p - eta dE/dp\n", lr);
    for (std::size_t i = 0; i < params.size(); ++i) fmt::print("  {} = {}\n", names[i], values(params[i]));
    NoGradGuard no_grad;
    fmt::print("  E after the step = {:.12f} (was {:.12f})\n", forward(params, x, y).e.item(), f.e.item());
    return report.passed ? 0 : 1;
}
