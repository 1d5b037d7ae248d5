#include "gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "engine.hpp"
#include "grad_mode.hpp"

namespace xgrad {

namespace {

std::vector<double> flat_values(const Tensor& t) {
    return visit(t, [](const auto& array) { return std::vector<double>(array.begin(), array.end()); });
}

Shape unravel(std::size_t flat, const Shape& shape) {
    Shape index(shape.size());
    for (std::size_t axis = shape.size(); axis-- > 0;) {
        index[axis] = flat % shape[axis];
        flat /= shape[axis];
    }
    return index;
}

// f at `inputs` in float64 without recording, flattened.
std::vector<double> evaluate(const GradcheckFunction& f, const std::vector<Tensor>& inputs) {
    NoGradGuard no_grad;
    return flat_values(f(inputs).to(Dtype::float64));
}

// Fresh leaves for the analytic pass (own dtype) and float64 copies for the numeric pass.
struct Inputs {
    std::vector<Tensor> analytic, numeric;
    std::vector<std::size_t> compared;  // positions of inputs that require grad
};

Inputs prepare(const std::vector<Tensor>& inputs) {
    Inputs prepared;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined()) throw value_error("gradcheck: input " + std::to_string(i) + " is undefined");
        Tensor leaf = inputs[i].clone();
        if (inputs[i].requires_grad()) {
            leaf.set_requires_grad(true);
            prepared.compared.push_back(i);
        }
        prepared.analytic.push_back(leaf);
        prepared.numeric.push_back(inputs[i].to(Dtype::float64));
    }
    if (prepared.compared.empty()) {
        throw value_error("gradcheck: no input requires grad; call set_requires_grad(true) on "
                          "the inputs to check");
    }
    return prepared;
}

std::vector<Tensor> analytic_grads(const Tensor& output, const Inputs& in, const Tensor& seed) {
    std::vector<Tensor> targets;
    for (std::size_t i : in.compared) targets.push_back(in.analytic[i]);
    std::vector<Tensor> grads(targets.size());
    if (output.requires_grad()) grads = grad({output}, targets, {seed}, true, false, true);
    for (std::size_t k = 0; k < grads.size(); ++k) {
        if (!grads[k].defined()) grads[k] = zeros_like(targets[k]);  // output does not use it
    }
    return grads;
}

double step_for(double x, double eps) { return eps * std::max(1.0, std::abs(x)); }

// Central difference of `directional(t)` = f(x + t·dir) projected, at t = ±h.
template <class Evaluate>
double central_difference(Evaluate&& at, double h) {
    return (at(h) - at(-h)) / (2.0 * h);
}

void score(GradcheckReport& report, GradcheckEntry entry) {
    entry.abs_error = std::abs(entry.analytic - entry.numeric);
    const double scale = std::max(std::abs(entry.analytic), std::abs(entry.numeric));
    entry.rel_error = scale > 0.0 ? entry.abs_error / scale : 0.0;
    const bool finite = std::isfinite(entry.analytic) && std::isfinite(entry.numeric);
    const bool ok = finite && entry.abs_error <= report.atol + report.rtol * std::abs(entry.numeric);
    ++report.compared;
    if (!ok) ++report.failed;
    if (entry.analytic != 0.0 || std::abs(entry.numeric) > report.atol) report.vacuous = false;
    if (finite) {
        report.max_abs_error = std::max(report.max_abs_error, entry.abs_error);
        report.max_rel_error = std::max(report.max_rel_error, entry.rel_error);
    } else {
        report.max_abs_error = report.max_rel_error = std::numeric_limits<double>::infinity();
    }
    report.worst.push_back(entry);
}

// Keeps the `keep` entries furthest outside tolerance (NaN first).
void keep_worst(GradcheckReport& report, std::size_t keep) {
    auto badness = [&report](const GradcheckEntry& e) {
        if (!std::isfinite(e.analytic) || !std::isfinite(e.numeric)) return std::numeric_limits<double>::infinity();
        return e.abs_error / (report.atol + report.rtol * std::abs(e.numeric));
    };
    std::stable_sort(report.worst.begin(), report.worst.end(),
                     [&](const auto& a, const auto& b) { return badness(a) > badness(b); });
    if (report.worst.size() > keep) report.worst.resize(keep);
}

void full_jacobian(GradcheckReport& report, const GradcheckFunction& f, Inputs& in, double eps) {
    const Tensor output = f(in.analytic);
    const std::size_t outputs = output.size();
    // Analytic Jacobian, one backward per output element: jacobian[j][k] = d out_j / d input_k.
    std::vector<std::vector<std::vector<double>>> jacobian(outputs);
    for (std::size_t j = 0; j < outputs; ++j) {
        Tensor seed = zeros_like(output);
        std::visit([j](auto& array) { array.data()[j] = 1; }, seed.storage()->array);
        for (const Tensor& g : analytic_grads(output, in, seed)) jacobian[j].push_back(flat_values(g));
    }
    // Numeric Jacobian, one column per input element.
    for (std::size_t k = 0; k < in.compared.size(); ++k) {
        const std::size_t i = in.compared[k];
        auto& x = in.numeric[i].mutable_value<double>();
        for (std::size_t e = 0; e < x.size(); ++e) {
            const double original = x.data()[e];
            const double h = step_for(original, eps);
            x.data()[e] = original + h;
            const auto plus = evaluate(f, in.numeric);
            x.data()[e] = original - h;
            const auto minus = evaluate(f, in.numeric);
            x.data()[e] = original;
            for (std::size_t j = 0; j < outputs; ++j) {
                GradcheckEntry entry;
                entry.input = i;
                entry.output = j;
                entry.index = unravel(e, x.shape());
                entry.analytic = jacobian[j][k][e];
                entry.numeric = (plus[j] - minus[j]) / (2.0 * h);
                score(report, entry);
            }
        }
    }
}

void random_directions(GradcheckReport& report, const GradcheckFunction& f, Inputs& in,
                       const GradcheckOptions& options, double eps) {
    Generator generator(options.seed);
    const Tensor output = f(in.analytic);
    for (std::size_t d = 0; d < options.directions; ++d) {
        const Tensor v = randn(output.shape(), generator, Dtype::float64);
        std::vector<Tensor> u;
        double largest = 0.0;
        for (std::size_t i : in.compared) {
            u.push_back(randn(in.numeric[i].shape(), generator, Dtype::float64));
            for (double x : flat_values(in.numeric[i])) largest = std::max(largest, std::abs(x));
        }
        // Analytic: vᵀ J u = sum_k <grad_k(v), u_k>.
        double analytic = 0.0;
        const auto grads = analytic_grads(output, in, v.to(output.dtype()));
        for (std::size_t k = 0; k < grads.size(); ++k) {
            const auto g = flat_values(grads[k]), uk = flat_values(u[k]);
            for (std::size_t e = 0; e < g.size(); ++e) analytic += g[e] * uk[e];
        }
        // Numeric: d/dt vᵀ f(x + t u) at t = 0.
        const auto vv = flat_values(v);
        auto projected = [&](double t) {
            std::vector<Tensor> moved = in.numeric;
            for (std::size_t k = 0; k < in.compared.size(); ++k) {
                const std::size_t i = in.compared[k];
                moved[i] = Tensor(xt::xarray<double>(in.numeric[i].value<double>() + t * u[k].value<double>()));
            }
            const auto y = evaluate(f, moved);
            double total = 0.0;
            for (std::size_t j = 0; j < y.size(); ++j) total += vv[j] * y[j];
            return total;
        };
        GradcheckEntry entry;
        entry.index = {d};
        entry.analytic = analytic;
        entry.numeric = central_difference(projected, step_for(largest, eps));
        score(report, entry);
    }
}

}  // namespace

GradcheckReport gradcheck(const GradcheckFunction& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
    Inputs in = prepare(inputs);
    GradcheckReport report;
    report.dtype = inputs[in.compared.front()].dtype();
    const bool single = report.dtype == Dtype::float32;
    report.atol = options.atol >= 0 ? options.atol : (single ? 1e-4 : 1e-6);
    report.rtol = options.rtol >= 0 ? options.rtol : (single ? 1e-3 : 1e-5);
    report.random_directions = options.random_directions;
    report.vacuous = true;
    const double eps = options.eps > 0 ? options.eps : std::cbrt(std::numeric_limits<double>::epsilon());
    GradModeGuard grad_mode(true);
    if (options.random_directions) random_directions(report, f, in, options, eps);
    else full_jacobian(report, f, in, eps);
    keep_worst(report, options.worst);
    if (report.compared == 0) report.vacuous = true;
    report.passed = report.failed == 0 && (!report.vacuous || options.allow_vacuous);
    return report;
}

std::ostream& operator<<(std::ostream& out, const GradcheckReport& report) {
    std::ostringstream text;
    text << "gradcheck " << (report.passed ? "PASSED" : "FAILED") << " ("
         << (report.random_directions ? "random directions" : "full Jacobian") << ", "
         << dtype_name(report.dtype) << ", " << report.compared << " entries, atol "
         << report.atol << ", rtol " << report.rtol << ")\n";
    if (report.vacuous) {
        text << "  vacuous: every compared entry is zero on both sides"
             << (report.passed ? " (allowed)\n" : " (pass allow_vacuous if that is expected)\n");
    }
    text << "  " << report.failed << " outside tolerance; max abs error " << report.max_abs_error
         << ", max rel error " << report.max_rel_error << "\n";
    if (!report.worst.empty()) text << "  worst entries:\n";
    text << std::setprecision(10);
    for (const auto& e : report.worst) {
        if (report.random_directions) text << "    direction " << e.index[0];
        else text << "    input " << e.input << " index " << shape_str(e.index) << " output " << e.output;
        text << ": analytic " << e.analytic << ", numeric " << e.numeric << std::setprecision(3)
             << ", abs " << e.abs_error << ", rel " << e.rel_error << std::setprecision(10) << "\n";
    }
    return out << text.str();
}

std::string to_string(const GradcheckReport& report) {
    std::ostringstream out;
    out << report;
    return out.str();
}

}  // namespace xgrad
