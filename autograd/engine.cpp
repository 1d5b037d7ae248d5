#include "engine.hpp"

#include <atomic>
#include <cassert>

#include "anomaly.hpp"
#include "broadcast.hpp"
#include "grad_mode.hpp"
#include "node.hpp"
#include "ops.hpp"

namespace xgrad {

namespace {

std::atomic<std::uint64_t> next_visit_mark{1};

std::string describe(const Tensor& tensor) {
    return std::string(dtype_name(tensor.dtype())) + shape_str(tensor.shape());
}

// The seed gradient for root i: 1 for a one-element root, else the caller's, checked.
Tensor seed_for(const char* caller, const Tensor& root, const Tensor& given) {
    if (!root.defined()) throw value_error(std::string(caller) + ": an output is undefined");
    if (!root.requires_grad()) {
        throw graph_error(std::string(caller) + ": the output " + describe(root) +
                          " does not require grad and has no graph (no input it depends on "
                          "had set_requires_grad(true), or it was computed under NoGradGuard)");
    }
    if (!given.defined()) {
        if (root.size() != 1) {
            throw graph_error(std::string(caller) + ": the output has shape " +
                              shape_str(root.shape()) +
                              "; a non-scalar output needs an explicit gradient of that shape");
        }
        return ones_like(root);
    }
    if (given.shape() != root.shape()) {
        throw shape_error(std::string(caller) + ": gradient of shape " + shape_str(given.shape()) +
                          " given for an output of shape " + shape_str(root.shape()));
    }
    if (given.dtype() != root.dtype()) {
        throw dtype_error(std::string(caller) + ": gradient is " + dtype_name(given.dtype()) +
                          " but the output is " + dtype_name(root.dtype()));
    }
    return given;
}

// Brings gradient `grad` for input `index` of `node` to that input's shape, or throws.
Tensor fit_to_input(const Node& node, std::size_t index, const Node& input, Tensor grad) {
    if (grad.dtype() == input.dtype() && grad.shape() == input.shape()) return grad;
    const std::string where = "backward of '" + node.name() + "': gradient for input " +
                              std::to_string(index);
    if (grad.dtype() != input.dtype()) {
        throw dtype_error(where + " is " + dtype_name(grad.dtype()) + " but the input is " +
                          dtype_name(input.dtype()));
    }
    if (!can_sum_to(grad.shape(), input.shape())) {
        throw shape_error(where + " has shape " + shape_str(grad.shape()) +
                          ", which does not reduce to the input's shape " +
                          shape_str(input.shape()));
    }
    return sum_to(grad, input.shape());
}

}  // namespace

void Engine::backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                      bool retain_graph, bool create_graph) {
    run("backward", roots, grads, nullptr, retain_graph, create_graph, false);
}

std::vector<Tensor> Engine::grad(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                                 const std::vector<Tensor>& inputs, bool retain_graph,
                                 bool create_graph, bool allow_unused) {
    return run("grad", roots, grads, &inputs, retain_graph, create_graph, allow_unused);
}

// Note [Backward sweep]
// 1. An iterative depth-first search from the roots lists every reachable node in post-order
//    (inputs before the nodes that consume them); its reverse is a topological order.
// 2. For grad(), a node is needed if it is a requested input or leads to one; backward()
//    needs every reachable node.
// 3. Walking the reverse order, each node's pending gradient is complete when its turn comes
//    (all its consumers went before), so each backward rule runs exactly once. Gradients
//    reaching a node twice (fan-out) are summed; leaves accumulate into .grad.
// The scratch fields of a node (visit mark, pending gradient) are reset by the search, and
// pending gradients are cleared on every exit, so a failed backward leaves nothing behind.
std::vector<Tensor> Engine::run(const char* caller, const std::vector<Tensor>& roots,
                                const std::vector<Tensor>& grads,
                                const std::vector<Tensor>* inputs, bool retain_graph,
                                bool create_graph, bool allow_unused) {
    if (roots.empty()) throw value_error(std::string(caller) + ": no outputs given");
    if (!grads.empty() && grads.size() != roots.size()) {
        throw value_error(std::string(caller) + ": " + std::to_string(roots.size()) +
                          " outputs but " + std::to_string(grads.size()) + " gradients");
    }
    std::vector<Tensor> seeds;
    for (std::size_t i = 0; i < roots.size(); ++i) {
        seeds.push_back(seed_for(caller, roots[i], grads.empty() ? Tensor() : grads[i]));
    }

    const std::uint64_t mark = next_visit_mark.fetch_add(1, std::memory_order_relaxed);
    std::vector<Node*> order;
    struct Frame {
        Node* node;
        std::size_t next_input;
    };
    std::vector<Frame> stack;
    order.reserve(64);  // small graphs (one training step of a small MLP) grow neither
    stack.reserve(64);
    auto discover = [&](Node* node) {
        node->visit_mark_ = mark;
        node->needed_ = inputs == nullptr;
        node->pending_grad_ = Tensor();
        stack.push_back({node, 0});
    };
    for (const Tensor& root : roots) {
        if (root.node()->visit_mark_ == mark) continue;
        discover(root.node().get());
        while (!stack.empty()) {
            Frame& top = stack.back();
            if (top.next_input < top.node->inputs_.size()) {
                Node* input = top.node->inputs_[top.next_input++].get();
                if (input != nullptr && input->visit_mark_ != mark) discover(input);
            } else {
                order.push_back(top.node);
                stack.pop_back();
            }
        }
    }

    std::vector<Node*> targets;
    if (inputs != nullptr) {
        for (std::size_t i = 0; i < inputs->size(); ++i) {
            const Tensor& input = (*inputs)[i];
            if (!input.defined() || !input.requires_grad()) {
                throw graph_error(std::string(caller) + ": input " + std::to_string(i) +
                                  " does not require grad, so no gradient exists for it");
            }
            targets.push_back(input.node().get());
        }
    }
    std::vector<Tensor> captured(targets.size());

    struct Cleanup {
        std::vector<Node*>& order;
        std::vector<Node*>& targets;
        ~Cleanup() {
            for (Node* node : order) node->pending_grad_ = Tensor();
            for (Node* node : targets) node->target_slot_ = -1;
        }
    } cleanup{order, targets};

    for (std::size_t i = 0; i < targets.size(); ++i) {
        if (targets[i]->target_slot_ < 0) targets[i]->target_slot_ = static_cast<int>(i);
    }
    if (inputs != nullptr) {
        for (Node* node : order) {  // post-order: inputs are decided before their consumers
            bool needed = node->target_slot_ >= 0;
            for (const auto& input : node->inputs_) needed |= input && input->needed_;
            node->needed_ = needed;
        }
    }

    for (std::size_t i = 0; i < roots.size(); ++i) {
        Node& node = *roots[i].node();
        if (!node.pending_grad_.defined()) {
            node.pending_grad_ = seeds[i];
        } else {
            GradModeGuard mode(create_graph);
            node.pending_grad_ = add(node.pending_grad_, seeds[i]);
        }
    }

    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Node& node = **it;
        Tensor grad_out = std::move(node.pending_grad_);
        node.pending_grad_ = Tensor();
        if (!node.needed_ || !grad_out.defined()) continue;
        if (node.target_slot_ >= 0) captured[node.target_slot_] = grad_out;
        if (node.is_leaf_) {
            if (inputs == nullptr) accumulate_into_leaf(node, std::move(grad_out), create_graph);
            continue;
        }
        bool any_input_needed = false;
        for (const auto& input : node.inputs_) any_input_needed |= input && input->needed_;
        if (!any_input_needed) continue;
        if (node.released_) {
            throw graph_error(std::string(caller) + ": the graph through '" + node.name_ +
                              "' was freed by an earlier backward; pass retain_graph=true to "
                              "the first call to go through it again");
        }

        Grads input_grads;
        {
            GradModeGuard mode(create_graph);
            detail::BackwardScope in_backward;  // Note [Anomaly mode]
            input_grads = node.backward_(BackwardContext(node, grad_out));
        }
        if (input_grads.size() != node.inputs_.size()) {
            throw graph_error("backward of '" + node.name_ + "' returned " +
                              std::to_string(input_grads.size()) + " gradients for " +
                              std::to_string(node.inputs_.size()) + " inputs");
        }
        if (anomaly_enabled()) detail::check_backward(node, grad_out, input_grads);
        for (std::size_t i = 0; i < input_grads.size(); ++i) {
            Node* input = node.inputs_[i].get();
            if (input == nullptr || !input->needed_ || !input_grads[i].defined()) continue;
            GradModeGuard mode(create_graph);
            add_to_pending(input->pending_grad_,
                           fit_to_input(node, i, *input, std::move(input_grads[i])), create_graph);
        }
        if (!retain_graph) {
            node.saved_.clear();
            node.backward_ = nullptr;
            node.released_ = true;
        }
    }

    for (std::size_t i = 0; i < targets.size(); ++i) {
        const int slot = targets[i]->target_slot_;
        if (static_cast<std::size_t>(slot) != i) captured[i] = captured[slot];  // repeated input
        if (!captured[i].defined() && !allow_unused) {
            throw graph_error(std::string(caller) + ": input " + std::to_string(i) + " " +
                              describe((*inputs)[i]) +
                              " is not reachable from the outputs; pass allow_unused=true "
                              "to get an undefined gradient instead");
        }
    }
    return captured;
}

// Note [Pending accumulation]
// A node reached along several edges (a weight used at every step of a chain) sums one
// gradient per edge. A new tensor per sum costs three allocations; when the pending gradient is
// a handle nothing else holds, on storage nothing else holds (not a saved value, not a
// gradient handed to two inputs), and the sum is not recorded, it is summed in place.
void Engine::add_to_pending(Tensor& pending, Tensor grad, bool create_graph) {
    if (!pending.defined()) {
        pending = std::move(grad);
        return;
    }
    const bool private_sum = !create_graph && pending.impl_.use_count() == 1 &&
                             pending.storage().use_count() == 1 && !pending.requires_grad();
    if (!private_sum) {
        pending = add(pending, grad);
        return;
    }
    assert(pending.shape() == grad.shape() && pending.dtype() == grad.dtype());
    std::visit([&grad](auto& array) {  // a loop: xtensor's += evaluates into a temporary first
        using T = typename std::decay_t<decltype(array)>::value_type;
        T* __restrict sum = array.data();
        const T* __restrict addend = grad.value<T>().data();
        for (std::size_t i = 0, n = array.size(); i < n; ++i) sum[i] += addend[i];
    }, pending.storage()->array);
}

void Engine::accumulate_into_leaf(Node& leaf, Tensor grad, bool create_graph) {
    std::shared_ptr<TensorImpl> impl = leaf.leaf_.lock();
    if (!impl) return;  // the leaf tensor no longer exists
    if (impl->grad.defined()) {
        GradModeGuard mode(create_graph);
        impl->grad = add(impl->grad, grad);
        return;
    }
    // .grad must not share storage with another tensor the user can change in place
    // (add's backward hands one gradient to both of its inputs).
    const bool sole_owner = grad.impl_.use_count() == 1 && grad.storage().use_count() == 1;
    impl->grad = (sole_owner || create_graph) ? std::move(grad) : grad.clone();
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph,
                         bool create_graph, bool allow_unused) {
    return Engine::grad(outputs, grad_outputs, inputs, retain_graph || create_graph, create_graph,
                        allow_unused);
}

}  // namespace xgrad
