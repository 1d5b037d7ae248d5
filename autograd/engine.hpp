#pragma once
/// The backward engine: one reverse sweep over the recorded graph.

#include <cstdint>
#include <memory>
#include <vector>

#include "small_vector.hpp"
#include "tensor.hpp"

namespace xgrad {

class Node;
namespace detail {
class Holds;
}  // namespace detail

/// Runs backward passes. Tensor::backward() and grad() are its public faces.
class Engine {
public:
    /// Accumulates d(sum_i <roots[i], grads[i]>)/d(leaf) into every reachable leaf's .grad.
    static void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                         bool retain_graph, bool create_graph);
    /// Returns the gradients with respect to `inputs` without touching any .grad.
    static std::vector<Tensor> grad(const std::vector<Tensor>& roots,
                                    const std::vector<Tensor>& grads,
                                    const std::vector<Tensor>& inputs, bool retain_graph,
                                    bool create_graph, bool allow_unused);

    /// backward() of one root (Tensor::backward): the same, with no lists to allocate.
    /// consume_root: the root handle is a temporary nothing else shares, whose node may be
    /// let go of (Note [Freeing as it goes] in engine.cpp).
    static void backward(const Tensor& root, const Tensor& grad, bool retain_graph,
                         bool create_graph, bool consume_root = false);

private:
    /// The roots of one call and their seed gradients (grads null: every seed is implicit).
    struct Roots {
        const Tensor* roots;
        const Tensor* grads;
        std::size_t count;
    };
    using Seeds = SmallVector<Tensor, 2>;
    static Roots listed_roots(const char* caller, const std::vector<Tensor>& roots,
                              const std::vector<Tensor>& grads);
    static std::vector<Tensor> run(const char* caller, Roots roots,
                                   const std::vector<Tensor>* inputs, bool retain_graph,
                                   bool create_graph, bool allow_unused,
                                   bool consume_root = false);
    /// What every step of one backward call shares.
    struct Sweep {
        const char* caller;
        std::uint64_t mark;  ///< tags the nodes this call has reached
        bool retain_graph;
        bool create_graph;
        bool consume_root;  ///< Note [Freeing as it goes]
    };
    /// Marks `node` as reached by the sweep tagged `mark`: needed (or not yet known to be),
    /// with no pending gradient.
    static void discover(Node& node, std::uint64_t mark, bool needed);
    static void seed(Roots roots, Seeds& seeds, bool create_graph);
    static void run_by_depth(const Sweep& sweep, Roots roots, Seeds& seeds);
    static void hand_over(detail::Holds& holds, Node& node);
    static std::vector<Tensor> run_to_inputs(const Sweep& sweep, Roots roots, Seeds& seeds,
                                             const std::vector<Tensor>& inputs,
                                             bool allow_unused);
    static void apply(const Sweep& sweep, const std::shared_ptr<Node>& node, Tensor& grad_out);
    static void accumulate_into_leaf(Node& leaf, Tensor grad, bool create_graph);
    static void add_to_pending(Tensor& pending, Tensor grad, bool create_graph);
};

/// Gradients of `outputs` (seeded with `grad_outputs`, or 1 for one-element outputs) with
/// respect to `inputs`, returned rather than accumulated into .grad. With create_graph the
/// result is itself recorded and can be differentiated again. An input the outputs do not
/// depend on is an error unless allow_unused (it then gets an undefined Tensor).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool create_graph = false, bool allow_unused = false);

}  // namespace xgrad
