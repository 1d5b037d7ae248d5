// The curve_fit example: the 1-3-1 network fits all four of Bishop's functions, and the CSV
// it writes holds the data, the fit and the hidden units consistently.

#include <doctest/doctest.h>

#include <xtensor/xview.hpp>

#include <nn/nn.hpp>

#include "support/run.hpp"
#include "support/temp_dir.hpp"

using namespace xgrad;
using namespace xgrad::testing;

TEST_CASE("curve_fit reaches small errors and writes consistent CSV files") {
    TempDir dir;
    const RunResult result = run(std::string(EXAMPLE_PATH) + " --output-dir " + dir.path().string());
    REQUIRE(result.exit_code == 0);
    const struct { const char* name; double bound; } fits[] = {
        {"square", 1e-3}, {"sine", 1e-3}, {"abs", 2e-3}, {"step", 2e-2}};
    for (const auto& fit : fits) {
        CAPTURE(fit.name);
        const double error = number_after(result.output, std::string(fit.name) + R"( +final mean squared error ([0-9.]+))");
        CHECK(error < fit.bound);
        const Tensor table = nn::read_csv(dir.file(std::string("curve_fit_") + fit.name + ".csv"), 1);
        REQUIRE(table.shape() == Shape{50, 6});
        const auto& t = table.value<double>();
        CHECK(t(0, 0) == -1.0);
        CHECK(t(49, 0) == 1.0);
        const double mse = xt::mean(xt::square(xt::view(t, xt::all(), 2) - xt::view(t, xt::all(), 1)))();
        CHECK(mse == doctest::Approx(error).epsilon(1e-3));
        CHECK(xt::amax(xt::abs(xt::view(t, xt::all(), xt::range(3, 6))))() <= 1.0);  // tanh outputs
    }
}
