// Concurrency: independent graphs built and differentiated on several threads at once give
// bit-identical gradients to a sequential run, and grad mode and anomaly mode are per thread.

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "support/check.hpp"
#include "support/random_graph.hpp"

using namespace xgrad;
using xgrad::testing::RandomGraph;

namespace {

constexpr int thread_count = 4;
constexpr std::uint64_t graphs = 200;

/// Every leaf gradient of graph `seed`, flattened (the graph, leaves included, is built here).
std::vector<double> gradients(std::uint64_t seed) {
    const RandomGraph graph(seed, 16);
    graph(graph.inputs()).backward();
    std::vector<double> flat;
    for (const Tensor& leaf : graph.inputs()) {
        if (!leaf.grad().defined()) continue;
        const auto& g = leaf.grad().value<double>();
        flat.insert(flat.end(), g.begin(), g.end());
    }
    return flat;
}

/// Two threads take turns at the points each marks with `step(n)`: 0, 1, 2, ... in order.
class Turns {
public:
    void step(int n) {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return turn_ == n; });
        ++turn_;
        changed_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    int turn_ = 0;
};

}  // namespace

TEST_CASE("random graphs differentiated on four threads at once match the sequential run") {
    std::vector<std::vector<double>> sequential(graphs);
    for (std::uint64_t seed = 0; seed < graphs; ++seed) sequential[seed] = gradients(seed + 1);

    std::vector<std::vector<double>> parallel(graphs);
    const std::int64_t live = Node::live_count();
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([t, &parallel] {
            for (int round = 0; round < 3; ++round) {
                for (std::uint64_t seed = t; seed < graphs; seed += thread_count) {
                    parallel[seed] = gradients(seed + 1);
                }
            }
        });
    }
    for (std::thread& thread : threads) thread.join();
    CHECK(Node::live_count() == live);
    for (std::uint64_t seed = 0; seed < graphs; ++seed) {
        INFO("seed " << seed + 1);
        CHECK(parallel[seed] == sequential[seed]);  // bit-identical
    }
}

TEST_CASE("NoGradGuard on one thread does not stop another thread recording") {
    Turns turns;
    bool recorded_elsewhere = false, recorded_here = true;
    std::thread other([&] {
        turns.step(1);  // the main thread holds a NoGradGuard now
        Tensor x = testing::variable({2}, 1);
        recorded_elsewhere = (x * x).requires_grad();
        turns.step(2);
    });
    {
        NoGradGuard no_grad;
        turns.step(0);
        turns.step(3);
        recorded_here = (testing::variable({2}, 2) * 2.0).requires_grad();
    }
    other.join();
    CHECK(recorded_elsewhere);
    CHECK_FALSE(recorded_here);
}

TEST_CASE("anomaly mode on one thread does not check another thread's ops") {
    Turns turns;
    bool threw_elsewhere = true;
    std::thread other([&] {
        turns.step(1);  // the main thread has anomaly mode on now
        try {
            log(Tensor({-1.0}, Dtype::float64));
            threw_elsewhere = false;
        } catch (const anomaly_error&) {
        }
        turns.step(2);
    });
    {
        AnomalyGuard anomaly;
        turns.step(0);
        turns.step(3);
        CHECK_THROWS_AS(log(Tensor({-1.0}, Dtype::float64)), anomaly_error);
    }
    other.join();
    CHECK_FALSE(threw_elsewhere);
}

TEST_CASE("the live node count follows graphs made on one thread and freed on another") {
    const std::int64_t baseline = Node::live_count();
    Tensor kept;
    std::thread maker([&] {
        Tensor x = scalar(0.5, Dtype::float64).set_requires_grad();
        kept = tanh(x * x + 1.0);  // leaf, mul, add (and its scalar), tanh: the thread exits
    });
    maker.join();
    const std::int64_t made = Node::live_count() - baseline;
    CHECK(made >= 4);  // counted after the thread that made them has exited

    std::thread freer([&] { kept = Tensor(); });  // the last handle goes on another thread
    freer.join();
    CHECK(Node::live_count() == baseline);

    // Counting while another thread builds and frees graphs: never below the baseline.
    std::atomic<bool> done{false};
    std::thread churn([&] {
        for (int i = 0; i < 2000; ++i) {
            Tensor x = scalar(0.1 * i, Dtype::float64).set_requires_grad();
            sum(exp(x) * x).backward();
        }
        done = true;
    });
    bool never_below = true;
    while (!done) never_below &= Node::live_count() >= baseline;
    churn.join();
    CHECK(never_below);
    CHECK(Node::live_count() == baseline);
}

TEST_CASE("backward orders nodes by depth, whichever thread recorded them") {
    // A graph built on two threads: each node is numbered above its inputs, not by a clock.
    Tensor x = scalar(0.3, Dtype::float64).set_requires_grad();
    Tensor deep;
    std::thread first([&] {
        deep = x;
        for (int i = 0; i < 50; ++i) deep = tanh(deep) * 1.5;
    });
    first.join();
    Tensor shallow = x * 2.0;  // recorded later, but shallower than `deep`
    Tensor y;
    std::thread second([&] { y = deep * shallow + exp(shallow); });
    second.join();
    y.backward();
    // The same function, recorded on one thread, gives the same gradient.
    Tensor x2 = scalar(0.3, Dtype::float64).set_requires_grad();
    Tensor d2 = x2;
    for (int i = 0; i < 50; ++i) d2 = tanh(d2) * 1.5;
    const Tensor s2 = x2 * 2.0;
    (d2 * s2 + exp(s2)).backward();
    CHECK(x.grad().item() == doctest::Approx(x2.grad().item()).epsilon(1e-14));
}
