// record_op's saved values (node.hpp): what a node keeps, and how many handles that takes.

#include <doctest/doctest.h>

#include "support/check.hpp"

using namespace xgrad;
using testing::variable;

namespace {

/// x * y whose node saves y only (x's gradient), and an undefined tensor in x's place.
Tensor product_keeping_y(const Tensor& x, const Tensor& y, bool read_x_anyway) {
    Tensor out(xt::xarray<double>(x.value<double>() * y.value<double>()));
    return record_op("product_keeping_y", std::move(out), {x, y}, {Tensor(), y},
                     [read_x_anyway](const BackwardContext& ctx) {
        if (read_x_anyway) (void)ctx.saved(0);
        return Grads{ctx.grad_out * ctx.saved(1), Tensor()};
    });
}

}  // namespace

TEST_CASE("an undefined saved value keeps nothing, and reading it names the op and the index") {
    const Tensor x = variable({3}, 1), y = variable({3}, 2).detach();
    sum(product_keeping_y(x, y, false)).backward();
    CHECK(testing::at(x.grad(), 1) == doctest::Approx(testing::at(y, 1)));

    testing::check_throws_with<graph_error>([&] { sum(product_keeping_y(x, y, true)).backward(); },
                                            {"product_keeping_y", "saved value 0 was not kept"});
    sum(product_keeping_y(x, y, false)).backward();  // the failed backward left x usable
    CHECK(testing::at(x.grad(), 1) == doctest::Approx(2 * testing::at(y, 1)));
}

TEST_CASE("a saved result has two handles on its storage, and one once the backward frees it") {
    const Tensor x = variable({4}, 3);
    Tensor y = tanh(x);  // tanh keeps its output
    CHECK(y.storage().use_count() == 2);
    const Tensor z = y;  // a second handle on the tensor, not on the storage
    CHECK(y.storage().use_count() == 2);
    sum(y).backward();
    CHECK(y.storage().use_count() == 1);

    // A result another tensor shares when it is recorded: its saved handle is counted too.
    Tensor shared(xt::xarray<double>{1.0, 2.0, 3.0, 4.0});
    const Tensor alias = shared.detach();
    Tensor recorded = record_op("keep_output", std::move(shared), {x}, {shared},
                                [](const BackwardContext& ctx) { return Grads{ctx.grad_out * ctx.saved(0)}; });
    CHECK(recorded.storage().use_count() == 3);  // recorded, alias, the node's saved value
    sum(recorded).backward();
    CHECK(recorded.storage().use_count() == 2);
}
