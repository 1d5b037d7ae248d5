#include "random_graph.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include <autograd/broadcast.hpp>
#include <xtensor/xmath.hpp>

namespace xgrad::testing {

namespace {

using Operands = std::vector<Tensor>;
using Apply = std::function<Tensor(const Operands&)>;

constexpr std::size_t max_size = 24;  // elements per value: keeps the full Jacobian cheap
constexpr double kink_margin = 1e-2;  // distance from a kink, far beyond the difference step
// Operands beyond this go through tanh first: products of large values (cos(x * 1e3), say)
// curve too fast for finite differences to be accurate.
constexpr double operand_limit = 6.0;
constexpr int op_count = 41;          // the switch in try_step, one case per catalogue op

const xt::xarray<double>& values_of(const Tensor& x) { return x.value<double>(); }

std::size_t size_of(const Shape& shape) {
    return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
}

bool broadcastable(const Shape& a, const Shape& b) {
    for (std::size_t i = 1; i <= std::min(a.size(), b.size()); ++i) {
        const std::size_t x = a[a.size() - i], y = b[b.size() - i];
        if (x != y && x != 1 && y != 1) return false;
    }
    return true;
}

// Every element is exactly `point` (a dead kink: its derivative is zero there as well) or at
// least kink_margin away from it.
bool clear_of(const Tensor& x, double point) {
    for (double v : values_of(x)) {
        if (v != point && std::abs(v - point) < kink_margin) return false;
    }
    return true;
}

std::string axes_str(const Axes& axes) {
    std::string text = "{";
    for (std::size_t i = 0; i < axes.size(); ++i) text += (i ? ", " : "") + std::to_string(axes[i]);
    return text + "}";
}

std::string num(double value) {
    std::ostringstream out;
    out << value;
    return out.str();
}

}  // namespace

RandomGraph::RandomGraph(std::uint64_t seed, int steps) : seed_(seed), generator_(seed) {
    std::uniform_int_distribution<int> leaves(1, 2), rank(0, 3), extent(1, 3), op(0, op_count - 1);
    for (int i = leaves(generator_); i > 0; --i) {
        Shape shape;
        for (int r = rank(generator_); r > 0; --r) shape.push_back(extent(generator_));
        add_leaf(shape);
    }
    int done = 0;
    for (int attempt = 0; done < steps && attempt < 50 * steps; ++attempt) {
        if (try_step(op(generator_))) ++done;
    }
    for (const Value& v : values_) {
        weights_.push_back(v.consumed ? Tensor() : randn(v.value.shape(), generator_, Dtype::float64));
    }
}

int RandomGraph::add_leaf(const Shape& shape) {
    Tensor leaf = randn(shape, generator_, Dtype::float64).set_requires_grad();
    Value v;
    v.leaf = static_cast<int>(inputs_.size());
    v.op = "leaf";
    v.text = "leaf " + std::to_string(v.leaf);
    v.value = leaf.detach();
    inputs_.push_back(leaf);
    values_.push_back(std::move(v));
    return static_cast<int>(values_.size()) - 1;
}

int RandomGraph::add_op(std::string op, std::string text, std::vector<int> operands, Apply apply) {
    Operands args;
    for (int i : operands) args.push_back(values_[i].value);
    Value v;
    {
        NoGradGuard no_grad;
        v.value = apply(args);
    }
    for (int i : operands) values_[i].consumed = true;
    v.op = std::move(op);
    v.text = std::move(text);
    v.operands = std::move(operands);
    v.apply = std::move(apply);
    values_.push_back(std::move(v));
    return static_cast<int>(values_.size()) - 1;
}

int RandomGraph::uniform(int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(generator_);
}

bool RandomGraph::coin(double p) { return std::bernoulli_distribution(p)(generator_); }

int RandomGraph::pick() {
    const int count = static_cast<int>(values_.size());
    return bounded(coin(0.5) ? uniform(std::max(0, count - 3), count - 1) : uniform(0, count - 1),
                   operand_limit);
}

Shape RandomGraph::shrunk(const Shape& shape) {
    Shape result(shape.begin() + uniform(0, static_cast<int>(shape.size())), shape.end());
    for (std::size_t& extent : result) {
        if (coin(0.3)) extent = 1;
    }
    return result;
}

int RandomGraph::partner(int a) {
    const Shape& shape = values_[a].value.shape();
    if (coin(0.3)) return add_leaf(shrunk(shape));
    std::vector<int> fits = {a};
    for (int i = 0; i < static_cast<int>(values_.size()); ++i) {
        const Shape& other = values_[i].value.shape();
        if (i != a && broadcastable(shape, other) &&
            size_of(broadcast_shapes("partner", shape, other)) <= max_size) {
            fits.push_back(i);
        }
    }
    return bounded(fits[uniform(0, static_cast<int>(fits.size()) - 1)], operand_limit);
}

int RandomGraph::same_shape(int a) {
    std::vector<int> fits;
    for (int i = 0; i < static_cast<int>(values_.size()); ++i) {
        if (values_[i].value.shape() == values_[a].value.shape()) fits.push_back(i);
    }
    if (coin(0.4)) return add_leaf(values_[a].value.shape());
    return bounded(fits[uniform(0, static_cast<int>(fits.size()) - 1)], operand_limit);
}

int RandomGraph::positive(int v) {
    const auto& x = values_of(values_[v].value);
    if (xt::amin(x)() >= 0.25 && xt::amax(x)() <= 8.0) return v;
    const std::string name = "v" + std::to_string(v);
    const int t = add_op("tanh", "tanh(" + name + ")", {v}, [](const Operands& x) { return tanh(x[0]); });
    return add_op("exp", "exp(v" + std::to_string(t) + ")", {t}, [](const Operands& x) { return exp(x[0]); });
}

int RandomGraph::bounded(int v, double limit) {
    if (xt::amax(xt::abs(values_of(values_[v].value)))() <= limit) return v;
    return add_op("tanh", "tanh(v" + std::to_string(v) + ")", {v}, [](const Operands& x) { return tanh(x[0]); });
}

Axes RandomGraph::random_axes(std::size_t rank) {
    Axes axes;
    for (int axis = 0; axis < static_cast<int>(rank); ++axis) {
        if (coin(0.5)) axes.push_back(coin(0.5) ? axis : axis - static_cast<int>(rank));
    }
    return axes;  // empty: every axis
}

// One op from the catalogue applied to random operands (case numbers follow op_catalogue).
// Returns false, recording nothing further, where the operands do not suit the op.
bool RandomGraph::try_step(int choice) {
    const int a = pick();
    const Tensor x = values_[a].value;  // a copy: new leaves may move values_
    const Shape shape = x.shape();
    const std::string va = "v" + std::to_string(a);
    auto name = [](int i) { return "v" + std::to_string(i); };
    auto unary = [&](const char* op, int operand, Apply apply, const std::string& args = "") {
        add_op(op, std::string(op) + "(" + name(operand) + args + ")", {operand}, std::move(apply));
        return true;
    };
    auto binary = [&](const char* op, int first, int second, Apply apply) {
        add_op(op, std::string(op) + "(" + name(first) + ", " + name(second) + ")", {first, second},
               std::move(apply));
        return true;
    };
    switch (choice) {
        case 0: return binary("add", a, partner(a), [](const Operands& o) { return add(o[0], o[1]); });
        case 1: return binary("sub", a, partner(a), [](const Operands& o) { return sub(o[0], o[1]); });
        case 2: return binary("mul", a, partner(a), [](const Operands& o) { return mul(o[0], o[1]); });
        case 3: {
            int b = partner(a);
            if (xt::amin(xt::abs(values_of(values_[b].value)))() < 0.25) b = positive(b);
            return binary("div", a, b, [](const Operands& o) { return div(o[0], o[1]); });
        }
        case 4: {
            const int base = positive(a), exponent = bounded(partner(a), 2.0);
            return binary("pow", base, exponent, [](const Operands& o) { return pow(o[0], o[1]); });
        }
        case 5:
        case 6: {
            const int b = partner(a);
            if (!clear_of(Tensor(xt::xarray<double>(values_of(x) - values_of(values_[b].value))), 0.0)) return false;
            if (choice == 5) return binary("maximum", a, b, [](const Operands& o) { return maximum(o[0], o[1]); });
            return binary("minimum", a, b, [](const Operands& o) { return minimum(o[0], o[1]); });
        }
        case 7: {
            const int b = partner(a);
            const Shape out = broadcast_shapes("where", shape, values_[b].value.shape());
            xt::xarray<bool> mask = xt::xarray<bool>::from_shape(shrunk(out));
            for (bool& m : mask) m = coin(0.5);
            std::ostringstream text;
            text << "where(mask" << shape_str(Shape(mask.shape().begin(), mask.shape().end())) << ", "
                 << va << ", " << name(b) << ")";
            add_op("where", text.str(), {a, b}, [mask](const Operands& o) { return xgrad::where(mask, o[0], o[1]); });
            return true;
        }
        case 8: return unary("neg", a, [](const Operands& o) { return neg(o[0]); });
        case 9: {
            const double exponents[] = {2.0, 3.0, -1.0, 0.5, 1.5, -0.5};
            const double e = exponents[uniform(0, 5)];
            const int base = (e == 2.0 || e == 3.0) ? bounded(a, 3.0) : positive(a);
            return unary("pow_scalar", base, [e](const Operands& o) { return pow(o[0], e); }, ", " + num(e));
        }
        case 10: return unary("exp", bounded(a, 3.0), [](const Operands& o) { return exp(o[0]); });
        case 11: return unary("log", positive(a), [](const Operands& o) { return log(o[0]); });
        case 12: return unary("sqrt", positive(a), [](const Operands& o) { return sqrt(o[0]); });
        case 13:
            if (!clear_of(x, 0.0)) return false;
            return unary("abs", a, [](const Operands& o) { return abs(o[0]); });
        case 14: return unary("sin", a, [](const Operands& o) { return sin(o[0]); });
        case 15: return unary("cos", a, [](const Operands& o) { return cos(o[0]); });
        case 16: return unary("tanh", a, [](const Operands& o) { return tanh(o[0]); });
        case 17: return unary("sigmoid", a, [](const Operands& o) { return sigmoid(o[0]); });
        case 18:
            if (!clear_of(x, 0.0)) return false;
            return unary("relu", a, [](const Operands& o) { return relu(o[0]); });
        case 19: {
            const double low = -0.25 * uniform(1, 6), high = 0.25 * uniform(1, 6);
            if (!clear_of(x, low) || !clear_of(x, high)) return false;
            return unary("clamp", a, [low, high](const Operands& o) { return clamp(o[0], low, high); },
                         ", " + num(low) + ", " + num(high));
        }
        case 20: {
            if (shape.empty() || shape.size() > 2) return false;
            const bool ta = shape.size() == 2 && coin(0.3), tb = coin(0.3);
            const std::size_t k = shape.size() == 1 ? shape[0] : (ta ? shape[0] : shape[1]);
            const std::size_t n = uniform(1, 3);
            const bool vector_b = shape.size() == 2 && !tb && coin(0.3);
            const Shape b_shape = vector_b ? Shape{k} : (tb ? Shape{n, k} : Shape{k, n});
            int b = -1;
            for (int i = 0; i < static_cast<int>(values_.size()); ++i) {
                if (values_[i].value.shape() == b_shape && coin(0.5)) b = i;
            }
            if (b < 0) b = add_leaf(b_shape);
            add_op("matmul", "matmul(" + va + ", " + name(b) + (ta ? ", ᵀ" : ", ") + (tb ? "ᵀ)" : ")"), {a, b},
                   [ta, tb](const Operands& o) { return matmul(o[0], o[1], ta, tb); });
            return true;
        }
        case 21: {
            if (shape.size() < 2) return false;
            Axes axes;
            if (coin(0.5)) {
                axes.resize(shape.size());
                std::iota(axes.begin(), axes.end(), 0);
                std::shuffle(axes.begin(), axes.end(), generator_);
            }
            return unary("transpose", a, [axes](const Operands& o) { return transpose(o[0], axes); },
                         ", " + axes_str(axes));
        }
        case 22: {
            const std::size_t size = size_of(shape);
            std::vector<std::size_t> divisors;
            for (std::size_t d = 1; d <= size; ++d) {
                if (size % d == 0) divisors.push_back(d);
            }
            const std::size_t d = divisors[uniform(0, static_cast<int>(divisors.size()) - 1)];
            Shape to = coin(0.3) ? Shape{size} : Shape{d, size / d};
            if (size == 1 && coin(0.5)) to = Shape{};
            return unary("reshape", a, [to](const Operands& o) { return reshape(o[0], to); }, ", " + shape_str(to));
        }
        case 23: {
            Shape to;
            if (coin(0.5)) to.push_back(uniform(1, 3));  // a new leading axis
            for (std::size_t extent : shape) to.push_back(extent == 1 ? uniform(1, 3) : extent);
            if (size_of(to) > max_size) return false;
            return unary("broadcast_to", a, [to](const Operands& o) { return broadcast_to(o[0], to); },
                         ", " + shape_str(to));
        }
        case 24: {
            const Shape to = shrunk(shape);
            return unary("sum_to", a, [to](const Operands& o) { return sum_to(o[0], to); }, ", " + shape_str(to));
        }
        case 25:
        case 26:
        case 27: {
            if (shape.empty() || shape[0] == 0) return false;
            const int rows = static_cast<int>(shape[0]);
            if (choice == 27) {
                const std::size_t begin = uniform(0, rows - 1), end = uniform(begin + 1, rows);
                return unary("slice_rows", a, [begin, end](const Operands& o) { return slice_rows(o[0], begin, end); },
                             ", " + std::to_string(begin) + ", " + std::to_string(end));
            }
            const std::size_t target_rows = choice == 26 ? uniform(1, 4) : rows;
            Indices indices(choice == 26 ? rows : uniform(1, 4));
            for (std::size_t& i : indices) i = uniform(0, static_cast<int>(target_rows) - 1);
            if (size_of(shape) / rows * std::max(indices.size(), target_rows) > max_size) return false;
            std::string list = ", {";
            for (std::size_t i = 0; i < indices.size(); ++i) list += (i ? ", " : "") + std::to_string(indices[i]);
            list += "}";
            if (choice == 25) {
                return unary("take_rows", a, [indices](const Operands& o) { return take_rows(o[0], indices); }, list);
            }
            return unary("scatter_rows", a,
                         [indices, target_rows](const Operands& o) { return scatter_rows(o[0], indices, target_rows); },
                         list + ", " + std::to_string(target_rows));
        }
        case 28:
        case 29:
        case 30: {
            const Axes axes = random_axes(shape.size());
            const bool keep = coin(0.3);
            const std::string args = ", " + axes_str(axes) + (keep ? ", keepdims" : "");
            if (choice == 28) return unary("sum", a, [axes, keep](const Operands& o) { return sum(o[0], axes, keep); }, args);
            if (choice == 29) return unary("mean", a, [axes, keep](const Operands& o) { return mean(o[0], axes, keep); }, args);
            const Tensor peak = max(x, axes, true);
            if (!clear_of(Tensor(xt::xarray<double>(values_of(peak) - values_of(x))), 0.0)) return false;
            return unary("max", a, [axes, keep](const Operands& o) { return max(o[0], axes, keep); }, args);
        }
        case 31:
        case 32:
        case 33: {
            if (shape.empty()) return false;
            const int rank = static_cast<int>(shape.size());
            const int axis = uniform(-rank, rank - 1);
            const std::string args = ", " + std::to_string(axis);
            if (choice == 32) return unary("softmax", a, [axis](const Operands& o) { return softmax(o[0], axis); }, args);
            if (choice == 33) return unary("log_softmax", a, [axis](const Operands& o) { return log_softmax(o[0], axis); }, args);
            const bool keep = coin(0.3);
            return unary("logsumexp", a, [axis, keep](const Operands& o) { return logsumexp(o[0], axis, keep); },
                         args + (keep ? ", keepdims" : ""));
        }
        case 34: {
            if (shape.size() != 2) return false;
            if (coin(0.5)) {
                return binary("softmax_cross_entropy", a, same_shape(a),
                              [](const Operands& o) { return softmax_cross_entropy(o[0], o[1]); });
            }
            Labels labels = Labels::from_shape({shape[0]});
            for (auto& label : labels) label = uniform(0, static_cast<int>(shape[1]) - 1);
            std::string list = ", labels {";
            for (std::size_t i = 0; i < labels.size(); ++i) list += (i ? ", " : "") + std::to_string(labels(i));
            return unary("softmax_cross_entropy", a,
                         [labels](const Operands& o) { return softmax_cross_entropy(o[0], labels); }, list + "}");
        }
        case 35:
            return binary("sigmoid_cross_entropy", a, same_shape(a),
                          [](const Operands& o) { return sigmoid_cross_entropy(o[0], o[1]); });
        case 36:
            return binary("squared_error", a, same_shape(a), [](const Operands& o) { return squared_error(o[0], o[1]); });
        case 37: {
            if (shape.empty() || shape.size() > 2) return false;
            const std::size_t in = shape.back(), out = uniform(1, 3);
            const int w = add_leaf({out, in}), b = add_leaf({out});
            add_op("linear", "linear(" + va + ", " + name(w) + ", " + name(b) + ")", {a, w, b},
                   [](const Operands& o) { return linear(o[0], o[1], o[2]); });
            return true;
        }
        case 38:
        case 39:
        case 40: {  // linear with its activation fused; a draw near relu's kink is rejected
            if (shape.empty() || shape.size() > 2) return false;
            const std::size_t in = shape.back(), out = uniform(1, 3);
            const int w = add_leaf({out, in}), b = add_leaf({out});
            static const char* const names[] = {"linear_relu", "linear_tanh", "linear_sigmoid"};
            static const Nonlinearity kinds[] = {Nonlinearity::relu, Nonlinearity::tanh, Nonlinearity::sigmoid};
            const Nonlinearity kind = kinds[choice - 38];
            if (kind == Nonlinearity::relu) {
                const Tensor pre = linear(x, values_[w].value, values_[b].value);
                if (!clear_of(pre, 0.0)) return false;
            }
            add_op(names[choice - 38], std::string(names[choice - 38]) + "(" + va + ", " + name(w) + ", " + name(b) + ")",
                   {a, w, b}, [kind](const Operands& o) { return linear(o[0], o[1], o[2], kind); });
            return true;
        }
    }
    return false;
}

Tensor RandomGraph::operator()(const std::vector<Tensor>& leaves) const {
    std::vector<Tensor> computed;
    Tensor total;
    for (std::size_t i = 0; i < values_.size(); ++i) {
        const Value& v = values_[i];
        if (v.leaf >= 0) {
            computed.push_back(leaves[v.leaf]);
        } else {
            Operands args;
            for (int j : v.operands) args.push_back(computed[j]);
            computed.push_back(v.apply(args));
        }
        if (weights_[i].defined()) {
            Tensor term = sum(computed.back() * weights_[i]);
            total = total.defined() ? total + term : term;
        }
    }
    return total;
}

std::string RandomGraph::describe() const {
    std::ostringstream out;
    out << "random graph, seed " << seed_ << " (replay: XGRAD_GRAPH_SEED=" << seed_ << ")\n";
    std::string total;
    for (std::size_t i = 0; i < values_.size(); ++i) {
        out << "  v" << i << " = " << values_[i].text << "   # " << shape_str(values_[i].value.shape())
            << "\n";
        if (weights_[i].defined()) total += (total.empty() ? "" : " + ") + ("sum(v" + std::to_string(i) + " * w" + std::to_string(i) + ")");
    }
    out << "  out = " << total << "\n";
    return out.str();
}

std::vector<std::string> RandomGraph::op_names() const {
    std::vector<std::string> names;
    for (const Value& v : values_) {
        if (v.leaf < 0) names.push_back(v.op);
    }
    return names;
}

}  // namespace xgrad::testing
