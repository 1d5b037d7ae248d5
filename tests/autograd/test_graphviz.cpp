// DOT pictures of the graph: every recorded op and leaf appears once, edges follow the data.

#include <doctest/doctest.h>

#include <algorithm>
#include <regex>
#include <string>

#include <autograd/autograd.hpp>

#include "support/check.hpp"

using namespace xgrad;
using xgrad::testing::check_throws_with;

namespace {

std::size_t count(const std::string& text, const std::string& pattern) {
    const std::regex re(pattern);
    return static_cast<std::size_t>(std::distance(std::sregex_iterator(text.begin(), text.end(), re),
                                                  std::sregex_iterator()));
}

}  // namespace

TEST_CASE("to_dot draws each op and leaf once, with edges from inputs to consumers") {
    Tensor w = Tensor({{1.0, 2.0}, {3.0, 4.0}}, Dtype::float64).set_requires_grad();
    Tensor b = Tensor({0.5, -0.5}, Dtype::float64).set_requires_grad();
    const Tensor x = Tensor({1.0, -1.0}, Dtype::float64);  // needs no grad: not drawn
    const Tensor a = matmul(w, x) + b;
    const Tensor loss = sum(tanh(a) * tanh(a));  // two tanh nodes, fan-out from a
    const std::string dot = to_dot(loss);

    CHECK(dot.rfind("digraph xgrad {", 0) == 0);
    CHECK(dot.back() == '\n');
    CHECK(count(dot, R"(label="leaf\\n)") == 2);
    CHECK(count(dot, R"(label="tanh\\n\(2,\) float64")") == 2);
    CHECK(count(dot, R"(label="matmul\\n)") == 1);
    CHECK(count(dot, R"(label="sum\\n\(\) float64", shape=box, style=bold)") == 1);
    // matmul of a matrix and a vector is (2, 2) @ (2, 1) reshaped to (2,). Edges: w->matmul,
    // matmul->reshape, reshape->add, b->add, add->tanh (twice), tanh->mul (twice), mul->sum.
    CHECK(count(dot, R"(label="reshape\\n\(2,\) float64")") == 1);
    CHECK(count(dot, R"(n\d+ -> n\d+;)") == 9);
    CHECK(count(dot, R"(n\d+ \[label=)") == 9);
}

TEST_CASE("labelled tensors show their names, values and gradients") {
    Tensor w = Tensor({0.25, -2.0, 3.0}, Dtype::float64).set_requires_grad();
    const Tensor y = sum(w * w);
    y.backward();
    DotOptions options;
    options.values = true;
    options.gradients = true;
    options.max_elements = 2;
    const std::string dot = to_dot(y, {{"w", w}, {"loss", y}}, options);
    CHECK(dot.find(R"(w = leaf\n(3,) float64\nvalue [0.25, -2, ...] (3 values)\ngrad [0.5, -4, ...] (3 values))") != std::string::npos);
    CHECK(dot.find(R"(loss = sum\n() float64\nvalue [13.06])") != std::string::npos);
    // Without the options, only names.
    const std::string plain = to_dot(y, {{"w", w}});
    CHECK(plain.find("w = leaf") != std::string::npos);
    CHECK(plain.find("value") == std::string::npos);
}

TEST_CASE("custom op names are escaped; a tensor without a graph is a graph_error") {
    Tensor x = scalar(2.0, Dtype::float64).set_requires_grad();
    const Tensor y = record_op("my \"op\"", x.detach().clone(), {x}, {},
                               [](const BackwardContext& ctx) { return std::vector<Tensor>{ctx.grad_out}; });
    CHECK(to_dot(y).find(R"(label="my \"op\"\n() float64")") != std::string::npos);
    check_throws_with<graph_error>([] { to_dot(ones({2, 3})); }, {"to_dot", "(2, 3)", "does not require grad"});
}

TEST_CASE("a long chain is drawn without recursion") {
    Tensor x = scalar(0.1).set_requires_grad();
    Tensor y = x;
    for (int i = 0; i < 200000; ++i) y = y * 1.0;
    const std::string dot = to_dot(y);
    CHECK(count(dot, R"(label="mul)") == 200000);
}
