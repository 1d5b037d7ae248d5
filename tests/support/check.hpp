#pragma once
// Test helpers shared by the suite.

#include <doctest/doctest.h>

#include <initializer_list>
#include <set>
#include <string>
#include <string_view>

#include <autograd/autograd.hpp>

namespace xgrad::testing {

/// Fails the current test for every catalogue op missing from `covered` (the op names a
/// table of test cases holds); `what` names the table in the message.
inline void check_covers_catalogue(const std::set<std::string_view>& covered, const char* what) {
    for (std::string_view op : op_catalogue) {
        INFO("catalogue op without " << what << ": " << op);
        CHECK(covered.count(op) == 1);
    }
}

/// A float64 leaf that requires grad, with seeded N(0,1) values (offset by `shift`).
inline Tensor variable(const Shape& shape, std::uint64_t seed, double shift = 0.0) {
    Generator generator(seed);
    return (randn(shape, generator, Dtype::float64) + shift).detach().set_requires_grad(true);
}

/// Gradchecks `f` at `inputs` and fails the current test with the full report if it fails.
inline void check_gradients(const GradcheckFunction& f, const std::vector<Tensor>& inputs,
                            const GradcheckOptions& options = {}) {
    const GradcheckReport report = gradcheck(f, inputs, options);
    INFO(to_string(report));
    CHECK(report.passed);
}

/// Runs `f`, which must throw an `Error` (or a type derived from it) with every one of `parts`
/// in its message. No exception, another type, or a missing part each fails the current test.
template <class Error = value_error, class F>
void check_throws_with(F&& f, std::initializer_list<std::string> parts) {
    std::string message;
    CHECK_THROWS_AS(([&] {
                        try {
                            f();
                        } catch (const Error& e) {
                            message = e.what();
                            throw;
                        }
                    })(),
                    Error);
    for (const std::string& part : parts) {
        CHECK_MESSAGE(message.find(part) != std::string::npos,
                      "'" << part << "' is missing from: " << message);
    }
}

/// Element i (flat, row-major) of a tensor, as double.
inline double at(const Tensor& t, std::size_t flat) {
    return visit(t, [flat](const auto& array) { return static_cast<double>(array.data()[flat]); });
}

}  // namespace xgrad::testing
