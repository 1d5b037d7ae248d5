// evaluate_classifier: the same loss and accuracy as one big forward pass, any batch size.

#include <doctest/doctest.h>

#include <xtensor/xview.hpp>

#include <nn/nn.hpp>

#include "support/check.hpp"

using namespace xgrad;
using namespace xgrad::nn;
using xgrad::testing::check_throws_with;

namespace {

struct Fixture {
    Generator generator{5};
    Tensor inputs = randn({37, 6}, generator, Dtype::float64);
    Labels labels = xt::cast<std::int64_t>(xt::view(inputs.value<double>(), xt::all(), 0) > 0.0) +
                    xt::cast<std::int64_t>(xt::view(inputs.value<double>(), xt::all(), 1) > 0.5);
    MLP model{{6, 8, 3}, {Activation::tanh, Activation::identity, 2, Dtype::float64}};
};

}  // namespace

TEST_CASE("evaluate_classifier matches a single full-batch pass, for any batch size") {
    Fixture f;
    const Tensor logits = f.model(f.inputs);
    const double loss = cross_entropy(logits, f.labels).item();
    const double acc = accuracy(logits, f.labels);
    const Dataset data(f.inputs, f.labels);
    for (std::size_t batch : {1, 5, 36, 37, 1000}) {
        CAPTURE(batch);
        const Evaluation e = evaluate_classifier(f.model, data, batch);
        CHECK(e.samples == 37);
        CHECK(e.loss == doctest::Approx(loss).epsilon(1e-12));
        CHECK(e.accuracy == doctest::Approx(acc).epsilon(1e-12));
    }
}

TEST_CASE("evaluate_classifier records nothing and restores the training mode") {
    Fixture f;
    const std::int64_t nodes = Node::live_count();
    f.model.train();
    evaluate_classifier(f.model, Dataset(f.inputs, f.labels), 10);
    CHECK(f.model.is_training());
    f.model.eval();
    evaluate_classifier(f.model, Dataset(f.inputs, f.labels));
    CHECK_FALSE(f.model.is_training());
    CHECK(Node::live_count() == nodes);
}

TEST_CASE("evaluate_classifier rejects empty and regression datasets, bad labels and batch 0") {
    Fixture f;
    const Dataset data(f.inputs, f.labels);
    check_throws_with([&] { evaluate_classifier(f.model, data, 0); }, {"evaluate_classifier", "batch_size", "0"});
    check_throws_with([&] { evaluate_classifier(f.model, Dataset(f.inputs, f.inputs)); }, {"regression"});
    check_throws_with([&] { evaluate_classifier(f.model, Dataset()); }, {"empty"});
    Labels bad = f.labels;
    bad(30) = 3;
    f.model.train();
    CHECK_THROWS_AS(evaluate_classifier(f.model, Dataset(f.inputs, bad), 8), value_error);
    CHECK(f.model.is_training());
    CHECK(evaluate_classifier(f.model, data).samples == 37);  // still usable
}
