// Memory: 10,000 training steps of a small MLP leave the live-node count and the resident
// memory flat, with a tolerance that a leak of one node per step would exceed (checked).

#include <doctest/doctest.h>

#include <fstream>
#include <memory>
#include <unistd.h>

#include <nn/nn.hpp>

#include "support/check.hpp"

using namespace xgrad;
using namespace xgrad::nn;

namespace {

// ASan's quarantine holds freed memory back on purpose: resident memory is not flat there,
// and LeakSanitizer checks for leaks instead. (GCC and clang announce ASan differently.)
#if defined(__SANITIZE_ADDRESS__)
constexpr bool rss_meaningful = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool rss_meaningful = false;
#else
constexpr bool rss_meaningful = true;
#endif
#else
constexpr bool rss_meaningful = true;
#endif

constexpr int warmup_steps = 1'000;
constexpr int measured_steps = 9'000;
/// Below the ~250 bytes a Node alone takes, times measured_steps (about 2.2 MB).
constexpr long rss_tolerance = 1L << 20;

long resident_bytes() {
    long pages = 0, resident = 0;
    std::ifstream("/proc/self/statm") >> pages >> resident;
    return resident * sysconf(_SC_PAGESIZE);
}

struct Growth {
    std::int64_t nodes = 0;  ///< live nodes after the run minus after the warm-up
    long rss = 0;            ///< resident bytes likewise
};

/// Trains a 4-16-16-3 MLP with Adam on one fixed batch; `leak` keeps one extra node per step.
Growth train(bool leak) {
    Generator generator(3);
    const Tensor inputs = randn({32, 4}, generator);
    Labels labels = Labels::from_shape({32});
    for (std::size_t i = 0; i < 32; ++i) labels(i) = static_cast<std::int64_t>(i % 3);
    MLP model({4, 16, 16, 3}, MLP::Options{Activation::tanh, Activation::identity, 1});
    Adam optimizer(model.parameters(), 1e-3);
    std::vector<std::shared_ptr<Node>> leaked;
    leaked.reserve(measured_steps);  // the vector itself does not grow while measuring

    Growth start;
    for (int step = 0; step < warmup_steps + measured_steps; ++step) {
        if (step == warmup_steps) start = {Node::live_count(), resident_bytes()};
        optimizer.zero_grad();
        Tensor loss = cross_entropy(model(inputs), labels);
        loss.backward();
        optimizer.step();
        if (leak && step >= warmup_steps) leaked.push_back(std::make_shared<Node>("leak", Shape{}, Dtype::float32));
    }
    return {Node::live_count() - start.nodes, resident_bytes() - start.rss};
}

}  // namespace

TEST_CASE("10,000 training steps leave live nodes and resident memory flat") {
    const Growth growth = train(false);
    CHECK(growth.nodes == 0);
    if (rss_meaningful) {
        INFO("resident memory grew by " << growth.rss << " bytes");
        CHECK(growth.rss < rss_tolerance);
    }
}

TEST_CASE("the same measurement catches a leak of one node per step") {
    const Growth growth = train(true);
    CHECK(growth.nodes == measured_steps);
    if (rss_meaningful) {
        INFO("resident memory grew by " << growth.rss << " bytes");
        CHECK(growth.rss > rss_tolerance);
    }
}
