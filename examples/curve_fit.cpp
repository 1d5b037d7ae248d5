// Bishop's figure 5.3, from the lecture notes: a 1-3-1 network (tanh hidden units, linear
// output) fitted by least squares to 50 points of x², sin(πx), |x| and the step function on
// [-1, 1]. Prints each fit's final mean squared error; writes, per function, a CSV of x, the
// target, the fit and the three hidden units' outputs, and with gnuplot a PNG of all four.

#include <cmath>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xvectorize.hpp>
#include <xtensor/xview.hpp>

#include <nn/nn.hpp>

#include "support/tools.hpp"

using namespace xgrad;
namespace fs = std::filesystem;

namespace {

struct Target {
    const char* name;
    double (*f)(double);
};

const Target targets[] = {
    {"square", [](double x) { return x * x; }},
    {"sine", [](double x) { return std::sin(M_PI * x); }},
    {"abs", [](double x) { return std::abs(x); }},
    {"step", [](double x) { return x > 0 ? 1.0 : 0.0; }},
};

std::string gnuplot_script(const fs::path& dir) {
    std::string script = fmt::format(
        "set terminal pngcairo size 1000,800\nset output '{}'\nset datafile separator ','\nset key below horizontal font ',9'\n"
        "set multiplot layout 2,2 title '1-3-1 tanh network fits (Bishop fig. 5.3)'\n",
        (dir / "curve_fit.png").string());
    for (const Target& target : targets) {
        const std::string csv = (dir / fmt::format("curve_fit_{}.csv", target.name)).string();
        script += fmt::format(
            "set title '{0}'\nplot '{1}' skip 1 using 1:2 with points pt 7 ps 0.6 title 'data', "
            "'' skip 1 using 1:3 with lines lw 2 title 'fit', "
            "for [i=4:6] '' skip 1 using 1:i with lines dt 2 title sprintf('hidden %d', i-3)\n",
            target.name, csv);
    }
    return script + "unset multiplot\n";
}

}  // namespace

int main(int argc, char** argv) {
    int steps = 3000, points = 50;
    double lr = 0.05;
    std::uint64_t seed = 0;
    std::string output_dir = ".";
    CLI::App app("A 1-3-1 tanh network fitted to x^2, sin(pi x), |x| and a step (Bishop fig. 5.3)");
    app.add_option("--steps", steps, "full-batch Adam steps")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--points", points, "training points, evenly spaced on [-1, 1]")->capture_default_str()->check(CLI::Range(2, 100000));
    app.add_option("--lr", lr, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--seed", seed, "initialisation seed")->capture_default_str();
    app.add_option("--output-dir", output_dir, "where the CSV files and the PNG go")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    fs::create_directories(output_dir);

    const auto n = static_cast<std::size_t>(points);
    const xt::xarray<double> x_values = xt::linspace<double>(-1.0, 1.0, n);
    const Tensor x = reshape(Tensor(x_values), {n, 1});
    for (const Target& target : targets) {
        const Tensor t = reshape(Tensor(xt::xarray<double>(xt::vectorize(target.f)(x_values))), {n, 1});
        nn::MLP model({1, 3, 1}, {nn::Activation::tanh, nn::Activation::identity, seed, Dtype::float64});
        nn::Adam optimizer(model.parameters(), lr);
        for (int step = 0; step < steps; ++step) {
            optimizer.zero_grad();
            const Tensor loss = nn::squared_error_loss(model(x), t);  // mean over the points
            loss.backward();
            optimizer.step();
        }
        NoGradGuard no_grad;
        const Tensor fit = model(x), hidden = tanh(model.linear(0)(x));
        fmt::print("{:<7} final mean squared error {:.6f}\n", target.name, nn::squared_error_loss(fit, t).item());
        const auto table = xt::concatenate(xt::xtuple(x.value<double>(), t.value<double>(), fit.value<double>(),
                                                      hidden.value<double>()), 1);
        nn::write_csv(fs::path(output_dir) / fmt::format("curve_fit_{}.csv", target.name), Tensor(table),
                      {"x", "target", "fit", "hidden1", "hidden2", "hidden3"});
    }
    if (examples::run_gnuplot(gnuplot_script(output_dir))) {
        fmt::print("wrote {}\n", (fs::path(output_dir) / "curve_fit.png").string());
    } else {
        fmt::print("gnuplot not found: CSV files only (apt-get install gnuplot-nox for the PNG)\n");
    }
}
