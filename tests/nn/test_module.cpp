#include <doctest/doctest.h>

#include <nn/nn.hpp>

#include "support/check.hpp"

using namespace xgrad;
using namespace xgrad::nn;
using xgrad::testing::at;

TEST_CASE("MLP names its parameters layers.<i>.weight / bias in order") {
    MLP net({4, 8, 3});
    std::vector<std::string> names;
    for (const auto& [name, tensor] : net.named_parameters()) names.push_back(name);
    CHECK(names == std::vector<std::string>{"layers.0.weight", "layers.0.bias", "layers.2.weight",
                                            "layers.2.bias"});
    CHECK(net.parameters().size() == 4);
    CHECK(net.linear(0).weight().shape() == Shape{8, 4});
    CHECK(net.linear(1).bias().shape() == Shape{3});
    for (const Tensor& p : net.parameters()) CHECK(p.requires_grad());
}

TEST_CASE("MLP forward in float32 and float64, batch and single sample") {
    for (Dtype dtype : {Dtype::float32, Dtype::float64}) {
        MLP net({3, 5, 2}, {Activation::tanh, Activation::sigmoid, 1, dtype});
        Generator generator(3);
        const Tensor batch = randn({7, 3}, generator, dtype);
        const Tensor out = net(batch);
        CHECK(out.dtype() == dtype);
        CHECK(out.shape() == Shape{7, 2});
        const Tensor single = net(slice_rows(batch, 2, 3));
        CHECK(at(single, 1) == doctest::Approx(at(out, 5)));
        const Tensor vector = net.linear(0)(reshape(slice_rows(batch, 0, 1), {3}));
        CHECK(vector.shape() == Shape{5});
    }
}

TEST_CASE("MLP fuses each Linear with its activation: the values and gradients of the layers") {
    for (Activation hidden : {Activation::relu, Activation::tanh, Activation::sigmoid,
                              Activation::leaky_relu, Activation::identity}) {
        for (bool bias : {true, false}) {
            INFO(activation_name(hidden) << (bias ? " with" : " without") << " bias");
            MLP net({3, 4, 2}, {hidden, Activation::sigmoid, 5, Dtype::float64, bias});
            Generator generator(6);
            const Tensor batch = randn({5, 3}, generator, Dtype::float64);
            const Tensor out = net(batch);
            const bool fused = bias && hidden != Activation::leaky_relu;
            CHECK(std::string(out.node()->name()) == (bias ? "linear_sigmoid" : "sigmoid"));
            if (fused && hidden != Activation::identity) {
                CHECK(std::string(out.node()->inputs()[0]->name()) == "linear_" + activation_name(hidden));
            }
            sum(out * out).backward();
            std::vector<xt::xarray<double>> grads;
            for (Tensor& p : net.parameters()) {
                grads.push_back(p.grad().value<double>());
                p.set_grad(Tensor());
            }
            // The same layers one module at a time (Linear::forward alone is never fused).
            const Tensor h = make_activation(hidden)->forward(net.linear(0).forward(batch));
            const Tensor reference = make_activation(Activation::sigmoid)->forward(net.linear(1).forward(h));
            CHECK(out.value<double>() == reference.value<double>());
            sum(reference * reference).backward();
            const auto params = net.parameters();
            for (std::size_t i = 0; i < params.size(); ++i) CHECK(params[i].grad().value<double>() == grads[i]);
        }
    }
}

TEST_CASE("the same seed gives bit-identical parameters; another seed does not") {
    MLP a({5, 6, 2}, {Activation::relu, Activation::identity, 42});
    MLP b({5, 6, 2}, {Activation::relu, Activation::identity, 42});
    MLP c({5, 6, 2}, {Activation::relu, Activation::identity, 43});
    const auto pa = a.parameters(), pb = b.parameters(), pc = c.parameters();
    for (std::size_t i = 0; i < pa.size(); ++i) {
        CHECK(pa[i].value<float>() == pb[i].value<float>());
        CHECK(pa[i].value<float>() != pc[i].value<float>());
    }
}

TEST_CASE("Linear computes x Wᵀ + b and its gradients reach the parameters") {
    Linear layer(2, 2, 0, true, Dtype::float64);
    init::set_values(layer.weight(), Tensor({{0.25, 0.30}, {0.15, 0.20}}, Dtype::float64));
    init::set_values(layer.bias(), Tensor({0.35, 0.35}, Dtype::float64));
    const Tensor x({{0.05, 0.10}, {1.0, -1.0}}, Dtype::float64);
    const Tensor y = layer(x);
    CHECK(at(y, 0) == doctest::Approx(0.25 * 0.05 + 0.30 * 0.10 + 0.35));
    CHECK(at(y, 3) == doctest::Approx(0.15 - 0.20 + 0.35));
    sum(y).backward();
    CHECK(at(layer.weight().grad(), 0) == doctest::Approx(1.05));  // column sums of x
    CHECK(at(layer.bias().grad(), 1) == doctest::Approx(2.0));
    layer.zero_grad();
    CHECK_FALSE(layer.weight().grad().defined());

    Linear no_bias(3, 2, 0, false);
    CHECK(no_bias.parameters().size() == 1);
    CHECK_FALSE(no_bias.bias().defined());
}

TEST_CASE("Linear and MLP reject bad sizes and inputs, naming them") {
    CHECK_THROWS_AS(Linear(0, 3), value_error);
    CHECK_THROWS_AS(MLP({4}), value_error);
    Linear layer(4, 2);
    Generator generator(1);
    try {
        layer(randn({3, 5}, generator));
        FAIL("expected shape_error");
    } catch (const shape_error& e) {
        CHECK(std::string(e.what()).find("Linear(4, 2)") != std::string::npos);
        CHECK(std::string(e.what()).find("(3, 5)") != std::string::npos);
    }
    CHECK(layer(randn({3, 4}, generator)).shape() == Shape{3, 2});  // still usable
}

TEST_CASE("activations: values, LeakyReLU slope, names") {
    const Tensor x = Tensor({-2.0, 0.5}, Dtype::float64).set_requires_grad();
    CHECK(at(ReLU()(x), 0) == 0.0);
    CHECK(at(Identity()(x), 0) == -2.0);
    CHECK(at(Tanh()(x), 1) == doctest::Approx(std::tanh(0.5)));
    CHECK(at(Sigmoid()(x), 1) == doctest::Approx(1 / (1 + std::exp(-0.5))));
    const Tensor leaky = LeakyReLU(0.1)(x);
    CHECK(at(leaky, 0) == doctest::Approx(-0.2));
    sum(leaky).backward();
    CHECK(at(x.grad(), 0) == doctest::Approx(0.1));
    CHECK(at(x.grad(), 1) == doctest::Approx(1.0));
    for (Activation a : {Activation::identity, Activation::relu, Activation::tanh,
                         Activation::sigmoid, Activation::leaky_relu}) {
        CHECK(parse_activation(activation_name(a)) == a);
        CHECK(make_activation(a) != nullptr);
    }
    CHECK_THROWS_WITH_AS(parse_activation("gelu"),
                         "parse_activation: unknown activation 'gelu' (valid: identity, relu, "
                         "tanh, sigmoid, leaky_relu)",
                         value_error);
}

TEST_CASE("train and eval propagate to children; Sequential chains modules") {
    Sequential model({std::make_shared<Linear>(2, 3), std::make_shared<ReLU>(),
                      std::make_shared<Linear>(3, 1)});
    CHECK(model.size() == 3);
    CHECK(model.is_training());
    model.eval();
    CHECK_FALSE(model.is_training());
    CHECK_FALSE(model[0].is_training());
    model.train();
    CHECK(model[2].is_training());
    CHECK(model.named_parameters()[2].first == "2.weight");
    CHECK(model(ones({4, 2})).shape() == Shape{4, 1});
}

TEST_CASE("parameters are shared handles: changing one in place changes the module") {
    MLP net({2, 2});
    Tensor w = net.parameters()[0];
    init::set_constant(w, 0.5);
    CHECK(at(net.linear(0).weight(), 3) == 0.5);
}

TEST_CASE("an activation given up its input writes over it; the values and gradients agree") {
    for (const auto activation : {Activation::relu, Activation::tanh, Activation::sigmoid}) {
        CAPTURE(activation_name(activation));
        const auto module = make_activation(activation);
        Linear layer(3, 2);
        const Tensor x = Tensor({{0.5, -1.0, 2.0}, {1.5, 0.25, -0.75}});

        const Tensor first = layer(x);  // a named input: forward(const Tensor&), a new array
        const Tensor kept = module->forward(first);
        CHECK(kept.value<float>().data() != first.value<float>().data());
        sum(kept).backward();
        const Tensor weight_grad = layer.weight().grad().clone();
        layer.zero_grad();

        Tensor hidden = layer(x);
        const float* array = hidden.value<float>().data();
        const Tensor consumed = (*module)(std::move(hidden));
        CHECK(consumed.value<float>().data() == array);  // no second array
        CHECK(consumed.value<float>() == kept.value<float>());
        sum(consumed).backward();
        CHECK(layer.weight().grad().value<float>() == weight_grad.value<float>());
    }
}

TEST_CASE("a module never writes over an input someone still holds") {
    Sigmoid sigmoid;
    const Tensor x = Tensor({0.5, -1.0});
    Tensor copy = x;  // a second handle: not the module's to overwrite
    const Tensor y = sigmoid(std::move(copy));
    CHECK(x.value<float>() == xt::xarray<float>{0.5f, -1.0f});
    CHECK(y.value<float>().data() != x.value<float>().data());

    Sequential model({std::make_shared<Sigmoid>(), std::make_shared<Tanh>()});
    const Tensor out = model(x);  // the first module gets the caller's input as it is
    CHECK(x.value<float>() == xt::xarray<float>{0.5f, -1.0f});
    CHECK(at(out, 0) == doctest::Approx(std::tanh(1 / (1 + std::exp(-0.5)))));
    Tensor leaf = Tensor({0.5, -1.0}).set_requires_grad();  // its only handle, given up
    const Tensor z = model(std::move(leaf));  // a leaf that requires grad is never overwritten
    REQUIRE(leaf.defined());  // and one not written over is left as it was
    CHECK(leaf.value<float>() == xt::xarray<float>{0.5f, -1.0f});
    CHECK(z.value<float>().data() != leaf.value<float>().data());
    sum(z).backward();
    CHECK(leaf.grad().defined());

    Tensor data = Tensor({0.5, -1.0});  // plain data given up: the first activation reuses it
    const float* array = data.value<float>().data();
    const Tensor w = model(std::move(data));
    CHECK(w.value<float>().data() == array);
    CHECK(w.value<float>() == out.value<float>());
}

namespace {
// Passes its input through, noting which forward Sequential called.
struct Probe final : Module {
    int by_reference = 0, consuming = 0;
    Tensor forward(const Tensor& input) override {
        ++by_reference;
        return input;
    }
    Tensor forward_consuming(Tensor&& input) override {
        ++consuming;
        return std::move(input);
    }
};
}  // namespace

TEST_CASE("Sequential hands each output on to the next module as a temporary") {
    const auto first = std::make_shared<Probe>(), second = std::make_shared<Probe>();
    Sequential model({first, std::make_shared<Linear>(2, 2), second, std::make_shared<Sigmoid>()});
    const Tensor x = Tensor({{1.0, -2.0}});
    const Tensor out = model(x);
    CHECK(first->by_reference == 1);  // the caller's input, which it still holds
    CHECK(first->consuming == 0);
    CHECK(second->consuming == 1);  // the Linear's output, which nobody else holds
    CHECK(second->by_reference == 0);
    model(Tensor({{1.0, -2.0}}));  // a temporary is given up from the first module on
    CHECK(first->consuming == 1);

    auto& linear = dynamic_cast<Linear&>(model[1]);
    const Tensor hidden = linear(x);
    const Tensor expected = sigmoid(hidden);  // the const path, for reference
    CHECK(out.value<float>() == expected.value<float>());
    sum(out).backward();
    const Tensor sequential_grad = linear.weight().grad().clone();
    linear.zero_grad();
    sum(expected).backward();
    CHECK(linear.weight().grad().value<float>() == sequential_grad.value<float>());
}
