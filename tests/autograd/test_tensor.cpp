#include <doctest/doctest.h>

#include <iostream>
#include <sstream>

#include <xtensor/xbuilder.hpp>

#include "support/check.hpp"

using namespace xgrad;

TEST_CASE("tensors are created from lists, xtensor expressions and factories") {
    const Tensor a({{1, 2, 3}, {4, 5, 6}});
    CHECK(a.dtype() == Dtype::float32);
    CHECK(a.shape() == Shape{2, 3});
    CHECK(a.size() == 6);
    CHECK(a.value<float>()(1, 2) == 6.0f);

    const Tensor b(xt::arange<double>(4.0));
    CHECK(b.dtype() == Dtype::float64);
    CHECK(b.shape() == Shape{4});

    CHECK(zeros({2, 2}, Dtype::float64).value<double>()(1, 1) == 0.0);
    CHECK(ones({3}).value<float>()(2) == 1.0f);
    CHECK(full({2}, 7.5).value<float>()(0) == 7.5f);
    CHECK(scalar(2.5, Dtype::float64).dim() == 0);
    CHECK(scalar(2.5, Dtype::float64).item() == 2.5);
    CHECK(zeros_like(a).shape() == a.shape());
    CHECK(full_like(b, 3.0).value<double>()(3) == 3.0);
}

TEST_CASE("seeded random tensors are reproducible and the same in both dtypes") {
    Generator first(42), second(42), third(43);
    const Tensor x = randn({100}, first, Dtype::float64);
    const Tensor y = randn({100}, second, Dtype::float32);
    const Tensor z = randn({100}, third, Dtype::float64);
    CHECK(x.value<double>()(17) == doctest::Approx(y.value<float>()(17)).epsilon(1e-6));
    CHECK(x.value<double>()(17) != z.value<double>()(17));
    Generator g(7);
    const Tensor u = rand({1000}, g, Dtype::float64, -2.0, 3.0);
    CHECK(xt::amin(u.value<double>())() >= -2.0);
    CHECK(xt::amax(u.value<double>())() < 3.0);
    CHECK_THROWS_AS(randn({2}, g, Dtype::float32, 0.0, -1.0), value_error);
    CHECK_THROWS_AS(rand({2}, g, Dtype::float32, 1.0, 1.0), value_error);
}

TEST_CASE("value access checks the dtype; item needs one element") {
    Tensor a({1.0, 2.0});
    CHECK_THROWS_AS(a.value<double>(), dtype_error);
    CHECK_THROWS_AS(a.item(), shape_error);
    CHECK(reshape(Tensor({4.0}, Dtype::float32), {1, 1}).item() == 4.0);
    const auto before = a.version();
    a.mutable_value<float>()(0) = 9.0f;
    CHECK(a.version() == before + 1);
    CHECK(a.value<float>()(0) == 9.0f);
    CHECK_THROWS_AS(Tensor().shape(), value_error);
}

TEST_CASE("clone copies, detach shares storage, to converts dtype") {
    Tensor a = Tensor({1.0, 2.0}, Dtype::float64).set_requires_grad();
    Tensor detached = a.detach();
    CHECK_FALSE(detached.requires_grad());
    CHECK(detached.storage() == a.storage());
    Tensor copy = a.clone();
    CHECK(copy.storage() != a.storage());
    CHECK_FALSE(copy.requires_grad());
    const Tensor single = a.to(Dtype::float32);
    CHECK(single.dtype() == Dtype::float32);
    CHECK(single.value<float>()(1) == 2.0f);
}

TEST_CASE("requires_grad can only change on leaves") {
    Tensor a = Tensor({1.0, 2.0}).set_requires_grad();
    CHECK(a.is_leaf());
    Tensor b = a * 2.0;
    CHECK(b.requires_grad());
    CHECK_FALSE(b.is_leaf());
    CHECK_THROWS_AS(b.set_requires_grad(false), graph_error);
    a.set_requires_grad(false);
    CHECK_FALSE((a * 2.0).requires_grad());
}

TEST_CASE("printing shows dtype, shape and values") {
    std::ostringstream out;
    out << Tensor({{1, 2}}, Dtype::float64).set_requires_grad();
    CHECK(out.str().find("float64, shape (1, 2), requires_grad") != std::string::npos);
    CHECK(out.str().find('2') != std::string::npos);
}

TEST_CASE("README tour") {
    // Keep in sync with the snippet in README.md.
    Tensor w = Tensor({{0.5, -1.0}, {2.0, 0.25}}, Dtype::float64).set_requires_grad();
    Tensor x = Tensor({1.0, 3.0}, Dtype::float64);

    Tensor y = tanh(matmul(w, x)) * 2.0 + 1.0;
    Tensor loss = sum(y * y);

    loss.backward();
    std::cout << w.grad() << "\n";

    Tensor t = Tensor({0.7}, Dtype::float64).set_requires_grad();
    Tensor dy = grad({sum(t * t * t)}, {t}, {}, false, /*create_graph=*/true)[0];
    Tensor d2y = grad({sum(dy)}, {t})[0];

    auto report = gradcheck([](const std::vector<Tensor>& in) { return sum(sigmoid(in[0]) * in[1]); },
                            {w, Tensor({{1.0, 2.0}, {3.0, 4.0}}, Dtype::float64).set_requires_grad()});
    std::cout << report;

    std::string dot = to_dot(loss, {{"w", w}}, {/*values=*/true, /*gradients=*/true});

    // d loss / d w[i][j] = 2 y_i * 2 (1 - tanh²(a_i)) * x_j with a = w x.
    const double a0 = 0.5 * 1.0 - 1.0 * 3.0, y0 = std::tanh(a0) * 2.0 + 1.0;
    const double expected = 2 * y0 * 2 * (1 - std::tanh(a0) * std::tanh(a0)) * 3.0;
    CHECK(w.grad().value<double>()(0, 1) == doctest::Approx(expected).epsilon(1e-12));
    CHECK(dy.item() == doctest::Approx(3 * 0.49).epsilon(1e-12));
    CHECK(d2y.item() == doctest::Approx(6 * 0.7).epsilon(1e-12));
    CHECK(report.passed);
    CHECK(dot.find("w = leaf\\n(2, 2) float64\\nvalue [0.5, -1, 2, 0.25]\\ngrad [") != std::string::npos);
}

TEST_CASE("grad() refers to the tensor's gradient slot; a copy holds the gradient of its moment") {
    const Tensor x = Tensor({1.0, 2.0}).set_requires_grad();
    const Tensor& slot = x.grad();
    CHECK_FALSE(slot.defined());
    sum(x * 3.0).backward();
    REQUIRE(slot.defined());
    CHECK(slot.value<float>() == xt::xarray<float>{3, 3});
    const Tensor kept = x.grad();
    sum(x * 2.0).backward();  // accumulates: the slot shows the sum, the copy what it was
    CHECK(slot.value<float>() == xt::xarray<float>{5, 5});
    CHECK(kept.value<float>() == xt::xarray<float>{3, 3});
    const Tensor current = x.grad();
    const Tensor snapshot = x.grad().clone();
    Tensor(x).zero_grad();  // in place: a copy shares the array, a clone does not
    CHECK(current.value<float>() == xt::xarray<float>{0, 0});
    CHECK(snapshot.value<float>() == xt::xarray<float>{5, 5});
    Tensor y = x;
    y.set_grad(Tensor());
    CHECK_FALSE(slot.defined());
    CHECK_THROWS_AS(Tensor().grad(), value_error);
}
