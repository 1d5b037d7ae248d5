#include <doctest/doctest.h>

#include <cmath>

#include <nn/nn.hpp>

#include "support/check.hpp"

using namespace xgrad;
using namespace xgrad::nn;
using xgrad::testing::at;
using xgrad::testing::check_gradients;
using xgrad::testing::check_throws_with;
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
    check_throws_with<value_error>([&] { cross_entropy(logits, Labels{0, 3, 1}); },
                                   {"softmax_cross_entropy", "label 3", "row 1", "[0, 3)"});
    check_throws_with<value_error>([&] { cross_entropy(logits, Labels{0, -1, 1}); },
                                   {"softmax_cross_entropy", "label -1", "row 1"});
    check_throws_with<shape_error>([&] { cross_entropy(logits, Labels{0, 1}); },
                                   {"softmax_cross_entropy", "2 labels", "batch of 3", "(3, 3)"});
    check_throws_with<shape_error>([&] { cross_entropy(logits, variable({3, 2}, 12)); },
                                   {"cross_entropy", "(3, 3)", "(3, 2)"});
    check_throws_with<shape_error>([&] { squared_error_loss(variable({4, 1}, 13), variable({4}, 14)); },
                                   {"squared_error_loss: prediction (4, 1) and target (4,) differ in shape"});
    check_throws_with<shape_error>(
        [&] { binary_cross_entropy_with_logits(variable({2}, 15), variable({2, 1}, 16)); },
        {"binary_cross_entropy_with_logits", "(2,)", "(2, 1)"});
    check_throws_with<shape_error>([&] { l1_loss(variable({2}, 15), variable({3}, 16)); },
                                   {"l1_loss", "(2,)", "(3,)"});
    cross_entropy(logits, labels).backward();  // still works after the errors
    CHECK(logits.grad().shape() == Shape{3, 3});
}

TEST_CASE("an empty batch: sum is 0, none is (0,), mean throws naming the loss") {
    const Tensor logits = zeros({0, 3}, Dtype::float64).set_requires_grad();
    check_throws_with<value_error>([&] { cross_entropy(logits, Labels{}); },
                                   {"cross_entropy", "empty batch", "(0, 3)", "Reduction::sum"});
    check_throws_with<value_error>([&] { cross_entropy(logits, zeros({0, 3}, Dtype::float64)); },
                                   {"cross_entropy", "(0, 3)"});
    check_throws_with<value_error>([&] { squared_error_loss(logits, zeros({0, 3}, Dtype::float64)); },
                                   {"squared_error_loss", "(0, 3)"});
    check_throws_with<value_error>([&] { l1_loss(logits, zeros({0, 3}, Dtype::float64)); }, {"l1_loss"});
    check_throws_with<value_error>(
        [&] { binary_cross_entropy_with_logits(logits, zeros({0, 3}, Dtype::float64)); },
        {"binary_cross_entropy_with_logits"});

    const Tensor total = cross_entropy(logits, Labels{}, Reduction::sum);
    CHECK(total.item() == 0.0);
    total.backward();
    CHECK(logits.grad().shape() == Shape{0, 3});
    CHECK(cross_entropy(logits, Labels{}, Reduction::none).shape() == Shape{0});
    CHECK(squared_error_loss(logits, zeros({0, 3}, Dtype::float64), Reduction::half_sum).item() == 0.0);
}
