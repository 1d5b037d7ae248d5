#pragma once
// Random expression graphs for gradient testing: a seeded generator picks ops from the
// catalogue, broadcast-compatible shapes, fan-out and reuse, and keeps each op's operands in
// its domain (positive for log, away from kinks for relu, ...), so that any gradcheck failure
// is a wrong gradient, not a finite-difference artefact.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <autograd/autograd.hpp>

namespace xgrad::testing {

/// A straight-line program over float64 tensors: leaves first come from `inputs()`, each step
/// applies one op to earlier values. Evaluate it with any tensors of the leaves' shapes.
class RandomGraph {
public:
    /// Generates a graph of about `steps` ops from `seed` (the same seed, the same graph).
    RandomGraph(std::uint64_t seed, int steps);

    /// The leaves, with the values the generator checked the domains against.
    const std::vector<Tensor>& inputs() const { return inputs_; }
    /// Σ_v sum(v * w_v) over every value no later step consumed (so every op gets a gradient).
    Tensor operator()(const std::vector<Tensor>& leaves) const;
    /// The program as readable lines, "v4 = mul(v1, v3)   # (2, 3)", with the seed.
    std::string describe() const;
    /// Names of the ops the program applies (with repeats).
    std::vector<std::string> op_names() const;

    /// One value of the program: a leaf, or an op applied to earlier values.
    struct Value {
        int leaf = -1;              ///< index into the leaves, or -1 for an op
        std::string op;             ///< catalogue name
        std::string text;           ///< "mul(v1, v3)"
        std::vector<int> operands;  ///< indices of earlier values
        std::function<Tensor(const std::vector<Tensor>&)> apply;  ///< operands -> result
        Tensor value;               ///< the value at inputs() (the generator's domain check)
        bool consumed = false;
    };

private:
    int add_leaf(const Shape& shape);
    int add_op(std::string op, std::string text, std::vector<int> operands,
               std::function<Tensor(const std::vector<Tensor>&)> apply);
    bool try_step(int choice);
    int uniform(int low, int high);  // in [low, high]
    bool coin(double p);
    int pick();                      // an earlier value, often a recent one, bounded
    int partner(int a);              // a value broadcast-compatible with a (a itself, often)
    int same_shape(int a);           // a value of a's shape: an earlier one, or a new leaf
    Shape shrunk(const Shape& shape);  // drops leading axes and sets extents to 1
    int positive(int v);             // v if within [0.25, 8], else exp(tanh(v))
    int bounded(int v, double limit);  // v, or tanh(v) if |v| exceeds limit somewhere
    Axes random_axes(std::size_t rank);

    std::uint64_t seed_;
    Generator generator_;
    std::vector<Value> values_;
    std::vector<Tensor> inputs_;
    std::vector<Tensor> weights_;  // one constant per unconsumed value, filled at the end
};

}  // namespace xgrad::testing
