// BLAS threads: settable, and matmul gives the same products with one thread or two.

#include <doctest/doctest.h>

#include <autograd/autograd.hpp>

#include "support/check.hpp"

using namespace xgrad;
using xgrad::testing::check_throws_with;

TEST_CASE("set_num_threads changes BLAS's threads; matmul agrees across thread counts") {
    const int before = num_threads();
    Generator generator(3);
    const Tensor a = randn({300, 200}, generator, Dtype::float64);
    const Tensor b = randn({200, 250}, generator, Dtype::float64);

    set_num_threads(1);
    CHECK(num_threads() == 1);
    const Tensor one = matmul(a, b);
    set_num_threads(2);
    CHECK(num_threads() == 2);
    const Tensor two = matmul(a, b);
    CHECK(xt::allclose(one.value<double>(), two.value<double>(), 1e-12, 1e-12));
    set_num_threads(before);
}

TEST_CASE("set_num_threads rejects fewer than one thread and keeps the setting") {
    const int before = num_threads();
    check_throws_with([] { set_num_threads(0); }, {"set_num_threads", ">= 1", "got 0"});
    check_throws_with([] { set_num_threads(-3); }, {"got -3"});
    CHECK(num_threads() == before);
}
