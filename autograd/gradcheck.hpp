#pragma once
/// Gradient checking by central finite differences, for any function of tensors.

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "tensor.hpp"

namespace xgrad {

/// A function under test. It must work for float64 inputs (the differences are taken in
/// float64) as well as for the inputs' own dtype.
using GradcheckFunction = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradcheckOptions {
    /// Relative step: each element moves by eps * max(1, |x|). 0 picks cbrt(float64 epsilon).
    double eps = 0.0;
    /// Tolerances: an entry fails if |analytic - numeric| > atol + rtol * |numeric|.
    /// Negative picks the dtype's default (float64: 1e-6, 1e-5; float32: 1e-4, 1e-3).
    double atol = -1.0;
    double rtol = -1.0;
    /// Pass even if every compared entry is zero on both sides.
    bool allow_vacuous = false;
    /// Compare vᵀJu for random u, v instead of the full Jacobian: one backward and two
    /// forward passes per direction, for functions too large for the full check.
    bool random_directions = false;
    std::size_t directions = 4;
    std::uint64_t seed = 0;
    /// How many of the worst entries the report keeps.
    std::size_t worst = 5;
};

/// One compared number: a Jacobian entry, or one direction in random-direction mode.
struct GradcheckEntry {
    std::size_t input = 0;      ///< which input (full mode); 0 in random-direction mode
    std::size_t output = 0;     ///< flat index into the output (full mode)
    Shape index;                ///< element of the input (full mode) or {direction}
    double analytic = 0.0;
    double numeric = 0.0;
    double abs_error = 0.0;
    double rel_error = 0.0;     ///< abs_error / max(|analytic|, |numeric|), 0 if both are 0
};

struct GradcheckReport {
    bool passed = false;
    bool vacuous = false;          ///< every compared entry was zero on both sides
    bool random_directions = false;
    Dtype dtype = Dtype::float64;  ///< dtype of the analytic gradients
    double atol = 0.0, rtol = 0.0;
    std::size_t compared = 0;      ///< entries compared
    std::size_t failed = 0;        ///< entries outside tolerance (NaN counts as outside)
    double max_abs_error = 0.0, max_rel_error = 0.0;
    std::vector<GradcheckEntry> worst;  ///< worst entries first
    explicit operator bool() const { return passed; }
};

/// Compares the gradients autograd computes for `f` at `inputs` with central differences,
/// for every input that requires grad. Never throws for a wrong gradient: read the report.
GradcheckReport gradcheck(const GradcheckFunction& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

/// A readable multi-line account: verdict, tolerances, worst entries.
std::ostream& operator<<(std::ostream& out, const GradcheckReport& report);
std::string to_string(const GradcheckReport& report);

}  // namespace xgrad
