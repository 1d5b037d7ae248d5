#include <doctest/doctest.h>

#include <autograd/autograd.hpp>

using namespace xgrad;

TEST_CASE("smoke") {
    Tensor x = Tensor({1.0, 2.0, 3.0}, Dtype::float64).set_requires_grad();
    Tensor y = sum(x * x);
    y.backward();
    CHECK(x.grad().value<double>()(1) == doctest::Approx(4.0));
}
