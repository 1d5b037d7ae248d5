// The lecture notes' XOR problem: not linearly separable, so a single layer cannot learn it,
// but a 2-2-1 network can. The hidden layer learns a representation (h1, h2) in which the
// four points are linearly separable, as the notes' hand-built threshold units do.
// Prints the learned decision table: inputs, target, hidden outputs, output probability.
//
// With only two hidden units, gradient descent sometimes ends in a local minimum (typically
// loss ln(2)/2: two points right, two stuck at probability 0.5). The example then starts
// again from the next seed and says so.

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <nn/nn.hpp>

using namespace xgrad;

namespace {

/// Trains `model` full-batch; returns the final loss.
double train(nn::MLP& model, const Tensor& inputs, const Tensor& targets, int steps, double lr) {
    nn::SGD optimizer(model.parameters(), lr, /*momentum=*/0.9);
    double loss_value = 0.0;
    for (int step = 1; step <= steps; ++step) {
        optimizer.zero_grad();
        // The model outputs logits; the loss applies the sigmoid (stable binary cross-entropy).
        const Tensor loss = nn::binary_cross_entropy_with_logits(model(inputs), targets);
        loss.backward();
        optimizer.step();
        loss_value = loss.item();
        if (step == 1 || step % (steps / 4) == 0) fmt::print("  step {:>5}  loss {:.6f}\n", step, loss_value);
    }
    return loss_value;
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t seed = 0;
    int steps = 3000, restarts = 5;
    double lr = 0.5;
    std::string activation = "sigmoid";
    CLI::App app("XOR learned by a 2-2-1 network (sigmoid output)");
    app.add_option("--seed", seed, "initialisation seed of the first attempt")->capture_default_str();
    app.add_option("--steps", steps, "full-batch SGD steps (momentum 0.9)")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--lr", lr, "SGD learning rate")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--activation", activation, "hidden activation")
        ->capture_default_str()->check(CLI::IsMember({"sigmoid", "tanh", "relu", "leaky_relu"}));
    app.add_option("--restarts", restarts, "new seeds to try after a local minimum")->capture_default_str()->check(CLI::NonNegativeNumber);
    CLI11_PARSE(app, argc, argv);
    const nn::Activation hidden_activation = nn::parse_activation(activation);

    const Tensor inputs({{0, 0}, {1, 0}, {0, 1}, {1, 1}}, Dtype::float64);
    const Labels labels = {0, 1, 1, 0};
    const Tensor targets = reshape(Tensor({0, 1, 1, 0}, Dtype::float64), {4, 1});

    for (int attempt = 0; attempt <= restarts; ++attempt) {
        const std::uint64_t attempt_seed = seed + static_cast<std::uint64_t>(attempt);
        fmt::print("Training with seed {}\n", attempt_seed);
        nn::MLP model({2, 2, 1}, {hidden_activation, nn::Activation::identity, attempt_seed, Dtype::float64});
        train(model, inputs, targets, steps, lr);

        NoGradGuard no_grad;
        const auto hidden = nn::make_activation(hidden_activation)->forward(model.linear(0)(inputs)).value<double>();
        const auto output = sigmoid(model(inputs)).value<double>();
        const auto& x = inputs.value<double>();
        fmt::print("\nx1  x2  XOR    h1       h2      output  class\n");
        int correct = 0;
        for (std::size_t n = 0; n < 4; ++n) {
            const int predicted = output(n, 0) > 0.5 ? 1 : 0;
            correct += predicted == labels(n);
            fmt::print("{:>2.0f}  {:>2.0f}  {:>3}  {:>7.4f}  {:>7.4f}  {:>6.4f}  {:>5}\n", x(n, 0), x(n, 1),
                       labels(n), hidden(n, 0), hidden(n, 1), output(n, 0), predicted);
        }
        if (correct == 4) {
            fmt::print("\n4 of 4 correct: XOR learned\n");
            return 0;
        }
        fmt::print("\n{} of 4 correct: a local minimum{}\n\n", correct, attempt < restarts ? "; restarting" : "");
    }
    fmt::print("XOR not learned after {} attempts\n", restarts + 1);
    return 1;
}
