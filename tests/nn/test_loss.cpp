#include <doctest/doctest.h>

#include <cmath>

#include <nn/nn.hpp>

#include "support/check.hpp"

using namespace xgrad;
using namespace xgrad::nn;
using xgrad::testing::at;
using xgrad::testing::check_gradients;
using xgrad::testing::variable;
using In = std::vector<Tensor>;

namespace {
const Labels labels = {2, 0, 1};
Tensor one_hot_targets() { return Tensor({{0, 0, 1}, {1, 0, 0}, {0, 1, 0}}, Dtype::float64); }
}  // namespace

TEST_CASE("every loss and reduction gradchecks in float64") {
    for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::half_sum, Reduction::none}) {
        check_gradients([r](const In& x) { return cross_entropy(x[0], labels, r); }, {variable({3, 3}, 1)});
        check_gradients([r](const In& x) { return cross_entropy(x[0], x[1], r); },
                        {variable({3, 3}, 2), softmax(variable({3, 3}, 3), 1).detach().set_requires_grad()});
        check_gradients([r](const In& x) { return squared_error_loss(x[0], x[1], r); },
                        {variable({3, 2}, 4), variable({3, 2}, 5)});
        check_gradients([r](const In& x) { return binary_cross_entropy_with_logits(x[0], x[1], r); },
                        {variable({3, 2}, 6), sigmoid(variable({3, 2}, 7)).detach().set_requires_grad()});
        check_gradients([r](const In& x) { return l1_loss(x[0], x[1], r); },
                        {variable({3, 2}, 8), variable({3, 2}, 9, 5.0)});  // differences far from 0
    }
}

TEST_CASE("cross-entropy gradient is softmax minus one-hot (the notes' result), / N for mean") {
    const Tensor logits = variable({3, 3}, 10);
    cross_entropy(logits, labels).backward();
    const Tensor expected = (softmax(logits.detach(), 1) - one_hot_targets()) * (1.0 / 3.0);
    for (std::size_t i = 0; i < 9; ++i) CHECK(at(logits.grad(), i) == doctest::Approx(at(expected, i)).epsilon(1e-12));
}

TEST_CASE("labels and one-hot targets give the same loss; stable at logits of +-1e4") {
    const Tensor logits({{1e4, -1e4, 0.0}, {-1e4, 1e4, 1e4}, {0.0, 0.0, 0.0}}, Dtype::float64);
    const Tensor from_labels = cross_entropy(logits, labels, Reduction::none);
    const Tensor from_targets = cross_entropy(logits, one_hot_targets(), Reduction::none);
    CHECK(at(from_labels, 0) == doctest::Approx(1e4));
    CHECK(at(from_labels, 1) == doctest::Approx(2e4 + std::log(2.0)));
    CHECK(at(from_labels, 2) == doctest::Approx(std::log(3.0)));
    for (std::size_t i = 0; i < 3; ++i) CHECK(at(from_targets, i) == doctest::Approx(at(from_labels, i)));
    const Tensor bce = binary_cross_entropy_with_logits(Tensor({1e4, -1e4}, Dtype::float64),
                                                        Tensor({0.0, 1.0}, Dtype::float64), Reduction::sum);
    CHECK(bce.item() == doctest::Approx(2e4));
}

TEST_CASE("squared error in the notes' three forms") {
    const Tensor y({{0.75, 0.77}, {0.5, 0.5}}, Dtype::float64);
    const Tensor t({{0.01, 0.99}, {0.0, 1.0}}, Dtype::float64);
    const double e0 = 0.74 * 0.74 + 0.22 * 0.22, e1 = 0.5;
    CHECK(squared_error_loss(y, t, Reduction::sum).item() == doctest::Approx(e0 + e1));
    CHECK(squared_error_loss(y, t, Reduction::half_sum).item() == doctest::Approx((e0 + e1) / 2));
    CHECK(squared_error_loss(y, t, Reduction::mean).item() == doctest::Approx((e0 + e1) / 2));
    const Tensor per = squared_error_loss(y, t, Reduction::none);
    CHECK(per.shape() == Shape{2});
    CHECK(at(per, 0) == doctest::Approx(e0));
    CHECK(SquaredErrorLoss{Reduction::sum}(y, t).item() == doctest::Approx(e0 + e1));
    CHECK(L1Loss{Reduction::sum}(y, t).item() == doctest::Approx(0.74 + 0.22 + 1.0));
}

TEST_CASE("bad labels, batch mismatches and target shapes throw, naming the values") {
    const Tensor logits = variable({3, 3}, 11);
    CHECK_THROWS_AS(cross_entropy(logits, Labels{0, 3, 1}), value_error);
    CHECK_THROWS_AS(cross_entropy(logits, Labels{0, -1, 1}), value_error);
    CHECK_THROWS_AS(cross_entropy(logits, Labels{0, 1}), shape_error);
    CHECK_THROWS_AS(cross_entropy(logits, variable({3, 2}, 12)), shape_error);
    try {
        squared_error_loss(variable({4, 1}, 13), variable({4}, 14));
        FAIL("expected shape_error");
    } catch (const shape_error& e) {
        CHECK(std::string(e.what()) ==
              "squared_error_loss: prediction (4, 1) and target (4,) differ in shape (losses do not broadcast)");
    }
    CHECK_THROWS_AS(binary_cross_entropy_with_logits(variable({2}, 15), variable({2, 1}, 16)), shape_error);
    CHECK_THROWS_AS(l1_loss(variable({2}, 15), variable({3}, 16)), shape_error);
    CHECK(cross_entropy(logits, labels).dim() == 0);  // still works after the errors
}
