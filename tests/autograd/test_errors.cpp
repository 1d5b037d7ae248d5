// Misuse throws a typed error whose message names the op and the shapes or values involved;
// a failed call leaves no half-built graph, and the same tensors work in the next call.

#include <doctest/doctest.h>

#include <cmath>
#include <initializer_list>
#include <string>
#include <utility>

#include "support/check.hpp"

using namespace xgrad;
using xgrad::testing::at;
using xgrad::testing::check_throws_with;
using xgrad::testing::variable;

namespace {

/// check_throws_with<Error>(f, parts), and `f` must also leave the number of live nodes as it
/// found it.
template <class Error, class F>
void check_error(F&& f, std::initializer_list<std::string> parts) {
    const std::int64_t live_before = Node::live_count();
    check_throws_with<Error>(std::forward<F>(f), parts);
    CHECK(Node::live_count() == live_before);
}

/// A user op whose backward returns a gradient of the wrong shape.
Tensor bad_shape(const Tensor& x) {
    return record_op("bad_shape", x.detach().clone(), {x}, {}, [](const BackwardContext& ctx) {
        return std::vector<Tensor>{zeros({5}, ctx.grad_out.dtype())};
    });
}

/// A user op whose backward returns two gradients for its one input.
Tensor bad_count(const Tensor& x) {
    return record_op("bad_count", x.detach().clone(), {x}, {}, [](const BackwardContext& ctx) {
        return std::vector<Tensor>{ctx.grad_out, ctx.grad_out};
    });
}

}  // namespace

TEST_CASE("matmul with different inner dimensions names both shapes") {
    Tensor a = variable({2, 3}, 1);
    Tensor b = variable({4, 5}, 2);
    check_error<shape_error>([&] { matmul(a, b); }, {"matmul", "(2, 3)", "(4, 5)"});
    check_error<shape_error>([&] { matmul(a, b, false, true); }, {"matmul", "(4, 5)ᵀ"});
    check_error<shape_error>([&] { matmul(b, variable({4}, 3)); }, {"matmul", "(4, 5)", "(4,)"});

    Tensor c = variable({3, 4}, 4);
    sum(matmul(matmul(a, c), b)).backward();
    CHECK(a.grad().shape() == Shape{2, 3});
    CHECK(b.grad().shape() == Shape{4, 5});
}

TEST_CASE("shapes that do not broadcast") {
    Tensor a = variable({2, 3}, 1);
    Tensor b = variable({4}, 2);
    check_error<shape_error>([&] { a + b; }, {"add", "(2, 3)", "(4,)"});
    check_error<shape_error>([&] { a * b; }, {"mul", "(2, 3)", "(4,)"});
    check_error<shape_error>([&] { a - b; }, {"sub", "(2, 3)", "(4,)"});

    Tensor row = variable({3}, 3);
    sum(a - row).backward();
    CHECK(at(row.grad(), 0) == doctest::Approx(-2.0));
}

TEST_CASE("backward of a non-scalar without a gradient") {
    Tensor x = variable({2, 3}, 1);
    Tensor y = x * 2.0;
    check_error<graph_error>([&] { y.backward(); }, {"backward", "(2, 3)", "explicit gradient"});
    check_error<graph_error>([&] { grad({y}, {x}); }, {"grad", "(2, 3)"});

    y.backward(ones({2, 3}, Dtype::float64));
    CHECK(at(x.grad(), 5) == doctest::Approx(2.0));
}

TEST_CASE("backward with a gradient of the wrong shape or dtype") {
    Tensor x = variable({2, 3}, 1);
    Tensor y = x * 2.0;
    check_error<shape_error>([&] { y.backward(ones({3, 2}, Dtype::float64)); },
                             {"backward", "(3, 2)", "(2, 3)"});
    check_error<dtype_error>([&] { y.backward(ones({2, 3}, Dtype::float32)); },
                             {"backward", "float32", "float64"});
    check_error<value_error>([&] { grad({y}, {x}, {ones({2, 3}), ones({2, 3})}); },
                             {"grad", "1 outputs but 2 gradients"});

    y.backward(full({2, 3}, 0.5, Dtype::float64));
    CHECK(at(x.grad(), 0) == doctest::Approx(1.0));
}

TEST_CASE("backward twice through a freed graph") {
    Tensor x = variable({3}, 1);
    Tensor y = sum(x * x);
    y.backward();
    check_error<graph_error>([&] { y.backward(); }, {"backward", "'sum'", "retain_graph"});

    sum(x * x).backward();  // a new graph over the same leaf works
    CHECK(at(x.grad(), 0) == doctest::Approx(4 * at(x, 0)));
}

TEST_CASE("backward or grad of something that does not require grad") {
    Tensor plain = ones({2}, Dtype::float64);
    check_error<graph_error>([&] { sum(plain).backward(); }, {"backward", "does not require grad"});

    Tensor x = variable({2}, 1);
    check_error<graph_error>([&] { grad({sum(x * plain)}, {x, plain}); },
                             {"grad", "input 1", "does not require grad"});
    check_error<graph_error>([&] { grad({sum(x * x)}, {x, variable({2}, 2)}); },
                             {"grad", "input 1", "(2,)", "not reachable", "allow_unused"});

    plain.set_requires_grad();
    sum(plain * x).backward();
    CHECK(at(plain.grad(), 1) == doctest::Approx(at(x, 1)));
}

TEST_CASE("float32 and float64 mixed") {
    Tensor a = variable({2, 2}, 1);
    Tensor b = variable({2, 2}, 2).to(Dtype::float32).set_requires_grad();
    check_error<dtype_error>([&] { a + b; }, {"add", "float64(2, 2)", "float32(2, 2)"});
    check_error<dtype_error>([&] { matmul(a, b); }, {"matmul", "float32", "float64"});
    check_error<dtype_error>([&] { squared_error(a, b); }, {"squared_error", "float32"});
    check_error<dtype_error>([&] { a.value<float>(); }, {"value<float>", "float64"});

    sum(a.to(Dtype::float32) * b).backward();
    CHECK(b.grad().dtype() == Dtype::float32);
}

TEST_CASE("reshape to a different number of elements") {
    Tensor x = variable({2, 3}, 1);
    check_error<shape_error>([&] { reshape(x, {4}); }, {"reshape", "(2, 3)", "(4,)", "6 elements"});

    sum(reshape(x, {3, 2}) * 3.0).backward();
    CHECK(x.grad().shape() == Shape{2, 3});
    CHECK(at(x.grad(), 4) == doctest::Approx(3.0));
}

TEST_CASE("softmax_cross_entropy with bad labels") {
    Tensor logits = variable({3, 4}, 1);
    check_error<value_error>([&] { softmax_cross_entropy(logits, Labels{0, 4, 1}); },
                             {"softmax_cross_entropy", "label 4", "row 1", "[0, 4)"});
    check_error<value_error>([&] { softmax_cross_entropy(logits, Labels{0, 1, -1}); },
                             {"softmax_cross_entropy", "label -1", "row 2"});
    check_error<shape_error>([&] { softmax_cross_entropy(logits, Labels{0, 1}); },
                             {"softmax_cross_entropy", "2 labels", "batch of 3", "(3, 4)"});
    check_error<shape_error>([&] { softmax_cross_entropy(variable({4}, 2), Labels{0}); },
                             {"softmax_cross_entropy", "2-D", "(4,)"});

    sum(softmax_cross_entropy(logits, Labels{0, 3, 1})).backward();
    double row_sum = 0.0;  // softmax - one_hot sums to 0 in each row
    for (std::size_t j = 0; j < 4; ++j) row_sum += at(logits.grad(), 4 + j);
    CHECK(row_sum == doctest::Approx(0.0));
}

TEST_CASE("squared_error with different shapes") {
    Tensor prediction = variable({2, 3}, 1);
    Tensor target = variable({3, 2}, 2);
    check_error<shape_error>([&] { squared_error(prediction, target); },
                             {"squared_error", "(2, 3)", "(3, 2)"});
    check_error<shape_error>([&] { squared_error(prediction, variable({3}, 3)); },
                             {"squared_error", "(2, 3)", "(3,)"});

    squared_error(prediction, prediction.detach() + 1.0).backward();
    CHECK(at(prediction.grad(), 0) == doctest::Approx(-2.0));
}

TEST_CASE("squared_error's scale multiplies the value and the gradient, and must be finite") {
    Tensor prediction = variable({2, 3}, 1);
    const Tensor target = prediction.detach() + 1.0;  // every difference is -1
    const Tensor half = squared_error(prediction, target, 0.5);
    CHECK(half.item() == doctest::Approx(3.0));
    half.backward();
    CHECK(at(prediction.grad(), 0) == doctest::Approx(-1.0));
    check_error<value_error>([&] { squared_error(prediction, target, INFINITY); },
                             {"squared_error", "scale", "inf"});
    check_error<value_error>([&] { squared_error(prediction, target, NAN); },
                             {"squared_error", "scale", "nan"});
}

TEST_CASE("an axis out of range") {
    Tensor x = variable({2, 3}, 1);
    check_error<value_error>([&] { sum(x, {2}); }, {"sum", "axis 2", "rank 2"});
    check_error<value_error>([&] { mean(x, {-3}); }, {"mean", "axis -3", "rank 2"});
    check_error<value_error>([&] { max(x, {0, 5}); }, {"max", "axis 5"});
    check_error<value_error>([&] { logsumexp(x, 2); }, {"logsumexp", "axis 2"});
    check_error<value_error>([&] { softmax(x, -3); }, {"softmax", "axis -3", "rank 2"});
    check_error<value_error>([&] { log_softmax(x, 2); }, {"log_softmax", "axis 2", "rank 2"});
    check_error<value_error>([&] { sum(x, {1, -1}); }, {"sum", "repeated"});

    sum(mean(x, {-1})).backward();
    CHECK(at(x.grad(), 2) == doctest::Approx(1.0 / 3.0));
}

TEST_CASE("take_rows with an index out of range") {
    Tensor x = variable({2, 3}, 1);
    check_error<value_error>([&] { take_rows(x, {0, 5}); },
                             {"take_rows", "index 5", "position 1", "(2, 3)"});
    check_error<value_error>([&] { slice_rows(x, 1, 3); }, {"slice_rows", "[1, 3)", "(2, 3)"});

    sum(take_rows(x, {1, 1})).backward();
    CHECK(at(x.grad(), 0) == doctest::Approx(0.0));
    CHECK(at(x.grad(), 3) == doctest::Approx(2.0));
}

TEST_CASE("item of a tensor with more than one element") {
    Tensor x = variable({2, 3}, 1);
    check_error<shape_error>([&] { x.item(); }, {"item", "(2, 3)"});
    CHECK(sum(x).item() == doctest::Approx(xt::sum(x.value<double>())()));
}

TEST_CASE("a custom backward that returns a bad gradient") {
    Tensor x = variable({3}, 1);
    check_error<shape_error>([&] { sum(bad_shape(x)).backward(); },
                             {"backward of 'bad_shape'", "(5,)", "(3,)"});
    check_error<graph_error>([&] { sum(bad_count(x)).backward(); },
                             {"backward of 'bad_count'", "2 gradients for 1 inputs"});
    check_error<shape_error>([&] { sum(bad_shape(tanh(x))).backward(Tensor(), false, true); },
                             {"backward of 'bad_shape'"});  // the recorded backward is freed too
    CHECK_FALSE(x.grad().defined());

    sum(x * x).backward();
    CHECK(at(x.grad(), 1) == doctest::Approx(2 * at(x, 1)));
}

TEST_CASE("a saved value changed in place") {
    Tensor x = variable({2}, 1);
    Tensor y = sum(x * x);  // mul saves x
    x.mutable_value<double>()(0) = 5.0;
    check_error<graph_error>([&] { y.backward(); }, {"'mul'", "modified in place"});

    Tensor w = sum(x * x);
    x.detach().mutable_value<double>()(1) = 0.0;  // an alias shares storage and version
    check_error<graph_error>([&] { w.backward(); }, {"'mul'", "modified in place"});

    Tensor z = tanh(x);  // tanh saves its output
    z.mutable_value<double>()(0) = 0.0;
    check_error<graph_error>([&] { sum(z).backward(); }, {"'tanh'", "modified in place"});

    sum(x * x).backward();
    CHECK(at(x.grad(), 0) == doctest::Approx(10.0));
    CHECK(at(x.grad(), 1) == doctest::Approx(0.0));
}

TEST_CASE("set_requires_grad and set_grad misuse") {
    Tensor x = variable({2}, 1);
    Tensor y = x * 2.0;
    check_error<graph_error>([&] { y.set_requires_grad(false); }, {"set_requires_grad", "'mul'"});
    check_error<shape_error>([&] { x.set_grad(zeros({3}, Dtype::float64)); },
                             {"set_grad", "(3,)", "(2,)"});

    x.set_grad(ones({2}, Dtype::float64));
    sum(y).backward();
    CHECK(at(x.grad(), 0) == doctest::Approx(3.0));
}
