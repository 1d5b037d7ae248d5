// End-to-end training of the lecture notes' small networks.

#include <doctest/doctest.h>

#include <cmath>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <nn/nn.hpp>

#include "support/check.hpp"
#include "support/temp_dir.hpp"

using namespace xgrad;
using namespace xgrad::nn;
using xgrad::testing::at;

namespace {

// Full-batch training: returns the final loss.
template <class Loss>
double train(Module& model, Optimizer& optimizer, const Tensor& x, const Tensor& t, Loss loss,
             int steps) {
    double last = 0.0;
    for (int step = 0; step < steps; ++step) {
        optimizer.zero_grad();
        const Tensor value = loss(model(x), t);
        value.backward();
        optimizer.step();
        last = value.item();
    }
    return last;
}

}  // namespace

TEST_CASE("a 2-2-1 network learns XOR to 100% accuracy from a fixed seed") {
    const Tensor x({{0, 0}, {0, 1}, {1, 0}, {1, 1}}, Dtype::float64);
    const Tensor t = reshape(Tensor({0, 1, 1, 0}, Dtype::float64), {4, 1});
    // 2-2-1 XOR has a local minimum at loss ln(2)/2 that catches about half of all seeds
    // (seeds 1-3 do); seed 0 reaches the global one.
    MLP net({2, 2, 1}, {Activation::tanh, Activation::identity, 0, Dtype::float64});
    Adam optimizer(net.parameters(), 0.05);
    const double loss = train(net, optimizer, x, t, BCEWithLogitsLoss{}, 600);
    CHECK(loss < 0.05);
    const Tensor p = sigmoid(net(x));
    for (std::size_t i = 0; i < 4; ++i) CHECK((at(p, i) > 0.5) == (at(t, i) > 0.5));
}

TEST_CASE("a 1-3-1 tanh network fits smooth curves (the notes' Bishop figure)") {
    const xt::xarray<double> grid = xt::linspace<double>(-1.0, 1.0, 50);
    const Tensor x(xt::xarray<double>(xt::reshape_view(grid, {50, 1})));
    const auto fit = [&](const xt::xarray<double>& y) {
        const Tensor t(xt::xarray<double>(xt::reshape_view(y, {50, 1})));
        MLP net({1, 3, 1}, {Activation::tanh, Activation::identity, 7, Dtype::float64});
        Adam optimizer(net.parameters(), 0.05);
        return train(net, optimizer, x, t, SquaredErrorLoss{}, 3000);  // mean of (y - t)²
    };
    CHECK(fit(grid * grid) < 1e-3);
    CHECK(fit(xt::sin(M_PI * grid)) < 1e-3);
    CHECK(fit(xt::abs(grid)) < 5e-3);  // a kink: tanh units round it off
}

TEST_CASE("SGD with momentum trains the same network in float32") {
    const Tensor x({{0, 0}, {0, 1}, {1, 0}, {1, 1}});
    const Labels labels = {0, 1, 1, 0};
    MLP net({2, 8, 2}, {Activation::relu, Activation::identity, 1});
    SGD optimizer(net.parameters(), 0.1, 0.9);
    const auto loss = [&labels](const Tensor& logits, const Tensor&) { return cross_entropy(logits, labels); };
    CHECK(train(net, optimizer, x, x, loss, 300) < 0.05);
    CHECK(accuracy(net(x), labels) == 1.0);
}

TEST_CASE("README nn tour") {
    // Keep in sync with the "Training with nn" snippet in README.md.
    Generator generator(0);
    Tensor inputs = randn({256, 4}, generator);
    Labels labels = xt::cast<std::int64_t>(xt::view(inputs.value<float>(), xt::all(), 0) > 0.0f);
    nn::DataLoader loader(nn::Dataset(inputs, labels), /*batch_size=*/32, /*shuffle=*/true, /*seed=*/1);

    nn::MLP model({4, 16, 2}, {nn::Activation::relu, nn::Activation::identity, /*seed=*/0});
    nn::Adam optimizer(model.parameters(), /*lr=*/1e-2);
    for (int epoch = 0; epoch < 20; ++epoch) {
        for (const auto& batch : loader) {
            optimizer.zero_grad();
            Tensor loss = nn::cross_entropy(model(batch.inputs()), batch.labels());
            loss.backward();
            optimizer.step();
        }
    }
    double accuracy = nn::accuracy(model(inputs), labels);
    const xgrad::testing::TempDir dir;
    const auto path = dir.path() / "model.xgck";
    nn::save_checkpoint(path, model, optimizer.state());

    CHECK(accuracy > 0.95);  // the label is the sign of the first feature
    nn::MLP restored({4, 16, 2}, {nn::Activation::relu, nn::Activation::identity, /*seed=*/5});
    nn::load_checkpoint(path, restored);
    CHECK(nn::accuracy(restored(inputs), labels) == accuracy);
}
