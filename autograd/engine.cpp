#include "engine.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>

#include "anomaly.hpp"
#include "broadcast.hpp"
#include "frontier.hpp"
#include "grad_mode.hpp"
#include "node.hpp"
#include "ops.hpp"

namespace xgrad {

namespace {

// A sweep's mark must differ from every mark a node it reaches still holds. Each thread takes
// a range of 2^40 marks from a shared counter once and numbers its sweeps from it: the
// shared counter's fetch_add was a locked instruction every backward.
std::atomic<std::uint64_t> next_mark_range{1};  // range 0 would hold mark 0: never visited

std::uint64_t next_visit_mark() {
    constexpr int range_bits = 40;
    thread_local std::uint64_t next = 0, end = 0;
    if (next == end) {
        next = next_mark_range.fetch_add(1, std::memory_order_relaxed) << range_bits;
        end = next + (std::uint64_t(1) << range_bits);
    }
    return next++;
}

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
    if (grad.dtype() == input.dtype() && detail::same_shape(grad.shape(), input.shape())) return grad;
    const std::string where = "backward of '" + std::string(node.name()) + "': gradient for input " +
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
    run("backward", listed_roots("backward", roots, grads), nullptr, retain_graph, create_graph,
        false);
}

void Engine::backward(const Tensor& root, const Tensor& grad, bool retain_graph,
                      bool create_graph, bool consume_root) {
    // Note [Freeing as it goes]: only a recorded result no other handle shares; a leaf keeps
    // its node, which its gradient goes to.
    consume_root = consume_root && !retain_graph && root.impl_.use_count() == 1 &&
                   root.node() != nullptr && !root.node()->is_leaf_;
    run("backward", {&root, &grad, 1}, nullptr, retain_graph, create_graph, false, consume_root);
}

std::vector<Tensor> Engine::grad(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                                 const std::vector<Tensor>& inputs, bool retain_graph,
                                 bool create_graph, bool allow_unused) {
    return run("grad", listed_roots("grad", roots, grads), &inputs, retain_graph, create_graph,
               allow_unused);
}

Engine::Roots Engine::listed_roots(const char* caller, const std::vector<Tensor>& roots,
                                   const std::vector<Tensor>& grads) {
    if (roots.empty()) throw value_error(std::string(caller) + ": no outputs given");
    if (!grads.empty() && grads.size() != roots.size()) {
        throw value_error(std::string(caller) + ": " + std::to_string(roots.size()) +
                          " outputs but " + std::to_string(grads.size()) + " gradients");
    }
    return {roots.data(), grads.empty() ? nullptr : grads.data(), roots.size()};
}

// Note [Backward sweep]
// A node's backward rule may run only once its pending gradient is complete: after every
// consumer reachable from the roots has run. Two sweeps give that order.
// - backward() needs every reachable node. A node's depth is one above the highest of its
//   inputs' when it is recorded (`depth_`; a leaf's is 0), so depths fall strictly along every
//   edge, and running the deepest discovered node next is a topological order: any unfinished
//   consumer of a node is deeper and is discovered before it (the first unfinished node on its
//   path from a root is discovered). Nodes of equal depth have no path between them, so their
//   order does not matter, and no counter is shared between threads (a global creation counter
//   was a locked instruction per node). So one pass over a max-heap does it, and each node is
//   touched once: on a chain of 300,000 scalar nodes a depth-first search first was a second
//   walk over a graph far larger than the cache (the backward took twice as long per node as
//   on a graph that fits).
// - grad() needs only the nodes that lead to a requested input, which takes a search first:
//   an iterative depth-first search from the roots lists every reachable node in post-order
//   (inputs before their consumers); a node is needed if it is a requested input or an input of
//   it is needed; the reverse post-order is topological.
// Either way gradients reaching a node twice (fan-out) are summed and leaves accumulate into
// .grad. Pending gradients are cleared on every exit, so a failed backward leaves nothing behind.
//
// Note [Sweep prefetch]
// On a graph larger than the cache each node's first read stalls the sweep (on W4's chain,
// four fifths of run_by_depth's samples sat on the load of an input's visit mark, and the next
// on its edge list, a line further), and the address of the next node is only known from the
// one before: no hardware prefetcher follows that. So a node discovered asks for all the lines
// of its inputs and the first of its saved values', one node ahead; that is a rule's time
// (~100 ns) before they are read. W4's backward fell from 212 to 133 ns a node (medians of 40
// interleaved runs of a 100,000-step chain), the teardown, which prefetches the same way
// (Note [Iterative teardown]), from 54 to 45.
// Note [Freeing as it goes]
// A graph is freed when its last handle lets go of it: after `loss.backward()`, when `loss`
// is reassigned, a walk over every node again (on W4's 300,000-node chain, 134 MB that left
// the cache long before: ~50 ns a node). A root that is a temporary nothing else shares
// (`model_loss(...).backward()`, `std::move(loss).backward()`: Tensor::backward() &&) is let
// go of during the sweep instead. Each waiting node has a hold (detail::Holds) from the moment
// the consumer that reached it has run: that consumer's own edge, moved into the hold with no
// reference count changed, when nothing but the consumer's hold sees the consumer any more (it
// is then freed, its lines still in cache), else a copy of the edge (the consumer lives on,
// and may die at any time: a gradient can hold a node past its turn, when a rule turns grad
// mode on, and the nodes it reached must not depend on that). A node's hold is dropped once
// its rule has run, which frees it if it was the last owner. A node a tensor still holds
// keeps its edges, and the part of the graph below it, as before; so do the nodes of
// temporaries that live to the end of the statement (`sum(tanh(h)).backward()` holds tanh's
// handle: only sum's node goes early, while a function that returns the loss leaves nothing
// behind). A leaf root keeps its node. With retain_graph, create_graph, several roots or
// grad(), nothing changes. On W4's chain the sweep's own cost fell too (its frees reuse lines
// it just read): medians of 10 interleaved runs with the library before
// (OPENBLAS_NUM_THREADS=1), 311 -> 267 ns a node in all, the engine's share (less the twin's
// arithmetic) 300 -> 256, with no teardown left. (Until 2026-12-07 each waiting node's entry
// owned a copy of its edge from the moment it was reached, an atomic increment and decrement
// a node: 14 of a W0 step's 59 locked instructions outside BLAS, which the moved holds save
// for every node freed early. A hold inside the node itself had cost W4 24 ns a node for its
// 16 bytes; a hold's slot number fits in the Node's padding.)
std::vector<Tensor> Engine::run(const char* caller, Roots roots,
                                const std::vector<Tensor>* inputs, bool retain_graph,
                                bool create_graph, bool allow_unused, bool consume_root) {
    Seeds seeds;
    seeds.reserve(roots.count);
    for (std::size_t i = 0; i < roots.count; ++i) {
        seeds.push_back(seed_for(caller, roots.roots[i], roots.grads ? roots.grads[i] : Tensor()));
    }
    const Sweep sweep{caller, next_visit_mark(),
                      retain_graph, create_graph, consume_root && inputs == nullptr};
    if (inputs == nullptr) {
        run_by_depth(sweep, roots, seeds);
        return {};
    }
    return run_to_inputs(sweep, roots, seeds, *inputs, allow_unused);
}

void Engine::discover(Node& node, std::uint64_t mark, bool needed) {
    node.visit_mark_ = mark;
    node.needed_ = needed;
    node.pending_grad_ = Tensor();
}

void Engine::seed(Roots roots, Seeds& seeds, bool create_graph) {
    for (std::size_t i = 0; i < roots.count; ++i) {
        Node& node = *roots.roots[i].node();
        if (!node.pending_grad_.defined()) {
            node.pending_grad_ = std::move(seeds[i]);
        } else {
            GradModeGuard mode(create_graph);
            node.pending_grad_ = add(node.pending_grad_, seeds[i]);
        }
    }
}

void Engine::run_by_depth(const Sweep& sweep, Roots roots, Seeds& seeds) {
    detail::Holds holds;  // Note [Freeing as it goes]; outlives the cleanup below
    detail::Frontier waiting;
    struct Cleanup {  // the nodes still waiting hold pending gradients
        detail::Frontier& waiting;
        ~Cleanup() {
            waiting.for_each([](Node& node) { node.pending_grad_ = Tensor(); });
        }
    } cleanup{waiting};
    const auto reach = [&](const std::shared_ptr<Node>& edge) {
        Node& node = *edge;
        if (node.visit_mark_ == sweep.mark) return;
        discover(node, sweep.mark, true);
        waiting.push(node.depth_, &node, &edge);
        // Note [Sweep prefetch]: the node's own inputs run next on a chain; their lines are
        // asked for now and arrive while this node's consumer runs its rule.
        for (const auto& input : node.inputs_) detail::prefetch(input.get());
        for (const auto& saved : node.saved_) {  // not a value kept empty: a walk for page 0
            if (saved.storage) __builtin_prefetch(saved.storage.get());
        }
    };
    for (std::size_t i = 0; i < roots.count; ++i) reach(roots.roots[i].node());
    seed(roots, seeds, sweep.create_graph);
    if (sweep.consume_root) holds.take(std::move(roots.roots[0].impl_->node));  // lets go of it

    while (!waiting.empty()) {
        const detail::Frontier::Entry entry = waiting.pop();
        Node& node = *entry.node;
        Tensor grad_out = std::move(node.pending_grad_);  // leaves it undefined
        if (node.is_leaf_ || !grad_out.defined()) {
            if (grad_out.defined()) accumulate_into_leaf(node, std::move(grad_out), sweep.create_graph);
            if (sweep.consume_root) holds.drop(node);
            continue;
        }
        for (const auto& input : node.inputs_) {  // needs_grad() reads their marks
            if (input) reach(input);
        }
        if (!sweep.consume_root) {
            apply(sweep, *entry.edge, grad_out);
            continue;
        }
        apply(sweep, holds.of(node), grad_out);
        hand_over(holds, node);
    }
}

// Note [Freeing as it goes]: once `node` has run, each input it reached is held by `holds`
// until that input has run: the node's own edge, moved, when nothing but its hold sees the
// node any more (it is then freed, while its lines are in cache), else a copy of the edge.
void Engine::hand_over(detail::Holds& holds, Node& node) {
    const bool last = holds.of(node).use_count() == 1;
    for (auto& input : node.inputs_) {
        if (input == nullptr) continue;
        if (holds.holds(*input)) {  // a second edge to the same input
            if (last) input.reset();
        } else if (last) {
            holds.take(std::move(input));
        } else {
            holds.copy(input);
        }
    }
    if (last) node.inputs_.clear();
    holds.drop(node);
}

std::vector<Tensor> Engine::run_to_inputs(const Sweep& sweep, Roots roots, Seeds& seeds,
                                          const std::vector<Tensor>& inputs, bool allow_unused) {
    std::vector<Node*> order;
    std::vector<const std::shared_ptr<Node>*> owners;  // order's nodes' edges (or roots')
    struct Frame {
        const std::shared_ptr<Node>* owner;
        std::size_t next_input;
    };
    std::vector<Frame> stack;
    for (std::size_t i = 0; i < roots.count; ++i) {
        const Tensor& root = roots.roots[i];
        if (root.node()->visit_mark_ == sweep.mark) continue;
        discover(*root.node(), sweep.mark, false);
        stack.push_back({&root.node(), 0});
        while (!stack.empty()) {
            Frame& top = stack.back();
            Node& node = **top.owner;
            if (top.next_input < node.inputs_.size()) {
                const std::shared_ptr<Node>& input = node.inputs_[top.next_input++];
                if (input != nullptr && input->visit_mark_ != sweep.mark) {
                    discover(*input, sweep.mark, false);
                    stack.push_back({&input, 0});
                }
            } else {
                order.push_back(&node);
                owners.push_back(top.owner);
                stack.pop_back();
            }
        }
    }

    std::vector<Node*> targets;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& input = inputs[i];
        if (!input.defined() || !input.requires_grad()) {
            throw graph_error(std::string(sweep.caller) + ": input " + std::to_string(i) +
                              " does not require grad, so no gradient exists for it");
        }
        targets.push_back(input.node().get());
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
    for (Node* node : order) {  // post-order: inputs are decided before their consumers
        bool needed = node->target_slot_ >= 0;
        for (const auto& input : node->inputs_) needed |= input && input->needed_;
        node->needed_ = needed;
    }
    seed(roots, seeds, sweep.create_graph);

    for (std::size_t k = order.size(); k-- > 0;) {
        Node& node = *order[k];
        Tensor grad_out = std::move(node.pending_grad_);
        node.pending_grad_ = Tensor();
        if (!node.needed_ || !grad_out.defined()) continue;
        if (node.target_slot_ >= 0) captured[node.target_slot_] = grad_out;
        if (node.is_leaf_) continue;
        bool any_input_needed = false;
        for (const auto& input : node.inputs_) any_input_needed |= input && input->needed_;
        if (any_input_needed) apply(sweep, *owners[k], grad_out);
    }

    for (std::size_t i = 0; i < targets.size(); ++i) {
        const int slot = targets[i]->target_slot_;
        if (static_cast<std::size_t>(slot) != i) captured[i] = captured[slot];  // repeated input
        if (!captured[i].defined() && !allow_unused) {
            throw graph_error(std::string(sweep.caller) + ": input " + std::to_string(i) + " " +
                              describe(inputs[i]) +
                              " is not reachable from the outputs; pass allow_unused=true "
                              "to get an undefined gradient instead");
        }
    }
    return captured;
}

// Runs the backward rule of `node` on its complete gradient and adds each needed input's share
// to that input's pending gradient; then frees the saved values unless the graph is retained.
void Engine::apply(const Sweep& sweep, const std::shared_ptr<Node>& owner, Tensor& grad_out) {
    Node& node = *owner;
    if (node.released_) {
        throw graph_error(std::string(sweep.caller) + ": the graph through '" + std::string(node.name_) +
                          "' was freed by an earlier backward; pass retain_graph=true to "
                          "the first call to go through it again");
    }
    GradModeGuard mode(sweep.create_graph);  // for the rule and the sums it feeds
    Grads input_grads = [&] {
        // Read no more after the rule (but by anomaly mode's checks): the rule may take it.
        if (!anomaly_enabled()) return node.backward_(BackwardContext(owner, grad_out, &grad_out));
        detail::BackwardScope in_backward;  // Note [Anomaly mode]
        return node.backward_(BackwardContext(owner, grad_out));
    }();
    if (input_grads.size() != node.inputs_.size()) {
        throw graph_error("backward of '" + std::string(node.name_) + "' returned " +
                          std::to_string(input_grads.size()) + " gradients for " +
                          std::to_string(node.inputs_.size()) + " inputs");
    }
    if (anomaly_enabled()) detail::check_backward(node, grad_out, input_grads);
    for (std::size_t i = 0; i < input_grads.size(); ++i) {
        Node* input = node.inputs_[i].get();
        if (input == nullptr || !input->needed_ || !input_grads[i].defined()) continue;
        add_to_pending(input->pending_grad_,
                       fit_to_input(node, i, *input, std::move(input_grads[i])),
                       sweep.create_graph);
    }
    if (!sweep.retain_graph) {
        node.saved_.clear();
        node.backward_ = nullptr;
        node.released_ = true;
    }
}

// Note [Pending accumulation]
// A node reached along several edges (a weight used at every step of a chain) sums one
// gradient per edge. A new tensor per sum costs three allocations; when the pending gradient is
// a handle nothing else holds, on storage nothing else holds (not a saved value, not a
// gradient handed to two inputs: Note [Sole owner]), and the sum is not recorded, it is
// summed in place.
void Engine::add_to_pending(Tensor& pending, Tensor grad, bool create_graph) {
    if (!pending.defined()) {
        pending = std::move(grad);
        return;
    }
    const bool private_sum = !create_graph && !pending.requires_grad() && detail::sole_owner(pending);
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

// Note [Gradient slot] (tensor.hpp): a sum without a graph goes into the slot the node
// holds, with no TensorImpl locked; a recorded gradient is read and written with it locked.
void Engine::accumulate_into_leaf(Node& leaf, Tensor grad, bool create_graph) {
    detail::GradSlot& slot = *leaf.grad_slot_;
    // .grad must not share storage with another tensor the user can change in place
    // (add's backward hands one gradient to both of its inputs).
    const auto own = [&] { return (create_graph || detail::sole_owner(grad)) ? std::move(grad) : grad.clone(); };
    if (!create_graph && !slot.recorded) {
        if (!slot.grad.defined()) {
            slot.grad = own();
        } else {
            GradModeGuard mode(false);
            slot.grad = add(slot.grad, grad);
        }
        return;
    }
    const std::shared_ptr<TensorImpl> impl = slot.owner.lock();
    if (!impl) return;  // the leaf tensor no longer exists
    if (!slot.grad.defined()) return detail::store_grad(slot, own());
    GradModeGuard mode(create_graph);
    detail::store_grad(slot, add(slot.grad, grad));
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph,
                         bool create_graph, bool allow_unused) {
    return Engine::grad(outputs, grad_outputs, inputs, retain_graph || create_graph, create_graph,
                        allow_unused);
}

}  // namespace xgrad
