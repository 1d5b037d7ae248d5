// Concurrency: independent graphs built and differentiated on several threads at once give
// bit-identical gradients to a sequential run, and grad mode and anomaly mode are per thread.

#include <doctest/doctest.h>

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
