#pragma once
/// Node: one recorded operation in the dynamic graph, with its backward rule.

#include <atomic>
#include <cassert>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "small_vector.hpp"
#include "tensor.hpp"

namespace xgrad {

class Node;
namespace detail {
class Holds;
}  // namespace detail

/// A tensor handed to record_op in a braced list, held by reference: copying a Tensor into an
/// initializer_list would be an atomic increment and decrement of its handle per element, four
/// per binary op. It binds temporaries too, which outlive the call they are written in.
class TensorRef {
public:
    TensorRef(const Tensor& tensor) : tensor_(&tensor) {}  // NOLINT: implicit by design
    const Tensor& get() const { return *tensor_; }

private:
    const Tensor* tensor_;
};

/// What a backward rule sees: the incoming gradient, the values saved in forward, and which
/// inputs need a gradient (skip the work for the others and return an undefined Tensor).
class BackwardContext {
public:
    /// The context of `node`'s rule (the engine's: it holds the node's owning handle). With
    /// `movable` (which must be &grad_out), take_grad_out() may move grad_out out: the caller
    /// reads it no more once the rule has run.
    BackwardContext(const std::shared_ptr<Node>& node, const Tensor& grad_out, Tensor* movable = nullptr)
        : owner_(node), node_(*node), movable_(movable), grad_out(grad_out) {}
    /// Saved value i, placed back in the graph when the backward is itself recorded.
    Tensor saved(std::size_t i) const;
    /// The array of saved value i, with no tensor handle made for it: for a rule that reads
    /// it in plain loops when the backward is not recorded (grad_enabled() false). Throws like
    /// saved() if it was modified in place, and dtype_error if T is not its element type.
    template <class T>
    const xt::xarray<T>& saved_value(std::size_t i) const;
    bool needs_grad(std::size_t input) const;
    /// grad_out as a gradient to return, for a rule that wrote its result over grad_out's
    /// array (detail::sole_owner(grad_out)): moved out of the engine's hands where it allows
    /// (no reference count changed), else a copy of the handle. grad_out is not to be read
    /// after.
    Tensor take_grad_out() const {
        if (movable_ != nullptr) return std::move(*movable_);  // not `?:`, whose result is a copy
        return grad_out;
    }

private:
    /// The storage of saved value i, after checking its version.
    const Storage& checked_saved(std::size_t i) const;
    const std::shared_ptr<Node>& owner_;
    const Node& node_;
    Tensor* movable_;

public:
    /// Gradient of the loss with respect to this node's output (same shape as the output).
    const Tensor& grad_out;
};

/// The gradients a backward rule returns, one per input: Grads{ga, gb}, Grads(n), or a
/// std::vector<Tensor> (converted). Up to three (linear's) are held without a heap allocation.
/// Grads{...} takes each gradient as given: a temporary is moved in, where an initializer list
/// (whose elements are const) would copy every handle and then destroy the original.
class Grads : public SmallVector<Tensor, 3> {
public:
    Grads() = default;
    /// `count` undefined gradients, to fill in.
    explicit Grads(size_type count) : SmallVector(count) {}
    Grads(std::vector<Tensor>&& grads) : SmallVector(std::move(grads)) {}  // NOLINT: implicit by design
    template <class... G, class = std::enable_if_t<(std::is_convertible_v<G, Tensor> && ...)>>
    Grads(G&&... grads) {  // NOLINT: implicit, as the braced list it replaces
        reserve(sizeof...(G));
        (emplace_back(std::forward<G>(grads)), ...);
    }
};

/// Returns one gradient per input, each written in differentiable operations so that a
/// recorded backward (create_graph) can be differentiated again. A gradient may have the
/// broadcast shape of the output: the engine sums it back to the input's shape.
using BackwardFn = std::function<Grads(const BackwardContext&)>;

/// A value kept for backward: its storage, the version it had, and where it sits in the graph.
struct SavedTensor {
    static constexpr int output = -1;  ///< the node's own output
    static constexpr int constant = -2;  ///< not connected to the graph
    StoragePtr storage;
    std::uint64_t version = 0;
    int input_index = constant;  ///< which input it is, or output / constant
};

// Note [Graph ownership]
// A tensor owns the node that produced it; a node owns the nodes of its inputs (edges) and
// the storage of its saved values, never a tensor handle, so nothing owns its consumers or
// itself. A saved output is kept as storage only and re-attached to the node when unpacked.
// A leaf tensor owns its leaf node, which shares the tensor's gradient slot to accumulate
// .grad (Note [Gradient slot] in tensor.hpp).
class Node {
public:
    /// An operation node named by a string that outlives it (a literal); `inputs[i]` is null
    /// where input i does not require grad.
    Node(const char* static_name, const Shape& shape, Dtype dtype);
    /// The same with a name of its own.
    Node(std::string name, const Shape& shape, Dtype dtype);
    /// A leaf node that accumulates into a tensor's gradient slot (Note [Gradient slot]).
    Node(std::shared_ptr<detail::GradSlot> slot, const Shape& shape, Dtype dtype);
    /// Tears the graph down without recursion (Note [Iterative teardown]).
    ~Node();
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    /// Number of nodes alive in the process (tests use it to prove graphs are freed): exact
    /// when the threads that make and free nodes are quiet (Note [Live node count]).
    static std::int64_t live_count();

    bool is_leaf() const { return is_leaf_; }
    const char* name() const { return name_; }
    /// Shape and dtype of the tensor this node produces.
    const Shape& shape() const { return shape_; }
    Dtype dtype() const { return dtype_; }
    /// The input nodes, indexed like the op's inputs (a vector-like range).
    const SmallVector<std::shared_ptr<Node>, 3>& inputs() const { return inputs_; }
    /// True once a backward without retain_graph has freed the saved values.
    bool released() const { return released_; }

private:
    friend class BackwardContext;
    friend class Engine;
    friend class detail::Holds;
    template <class Name>
    friend Tensor record_node_named(Name&& name, Tensor&& result, const TensorRef* inputs,
                                    std::size_t input_count, const TensorRef* saved,
                                    std::size_t saved_count, BackwardFn&& backward);

    // What the backward sweep reads of every node comes first (fewer cache lines per node on
    // a graph larger than the cache).
    std::uint64_t depth_ = 0;  ///< one above the deepest of its inputs (a leaf: 0)
    std::uint64_t visit_mark_ = 0;  ///< engine scratch, valid only inside one backward call
    Tensor pending_grad_;  ///< engine scratch
    SmallVector<std::shared_ptr<Node>, 3> inputs_;  ///< inline up to linear's x, W, b
    Dtype dtype_;
    bool is_leaf_ = false;
    bool released_ = false;
    bool needed_ = false;  ///< engine scratch
    int target_slot_ = -1;  ///< engine scratch (grad's inputs)
    int hold_slot_ = -1;  ///< engine scratch (detail::Holds)
    SmallVector<SavedTensor, 3> saved_;  ///< inline up to linear_<activation>'s x, W, output
    BackwardFn backward_;
    const char* name_;
    std::unique_ptr<const std::string> own_name_;  ///< what name_ points to, if not a literal
    Shape shape_;
    std::shared_ptr<detail::GradSlot> grad_slot_;  ///< a leaf's: where its gradient goes

};

/// Records `result` as the output of operation `name` applied to `inputs`, if grad mode is on
/// and any input requires grad; otherwise returns `result` untouched. `saved` lists the tensors
/// backward needs (inputs, the result itself, or constants); `backward` must capture nothing
/// that owns a tensor. An undefined tensor in `saved` keeps nothing in its place (saved(i)
/// then throws graph_error): for a value only some inputs' gradients need, as linear keeps W
/// only when x requires grad. This is how every built-in op is written, and how users add their own.
/// A result passed as an rvalue (`std::move(out)`) is moved from only once the saved list,
/// which may name it, has been read; an lvalue result is copied (one handle).
Tensor record_op(std::string name, Tensor&& result, std::vector<Tensor> inputs,
                 std::vector<Tensor> saved, BackwardFn backward);
inline Tensor record_op(std::string name, const Tensor& result, std::vector<Tensor> inputs,
                        std::vector<Tensor> saved, BackwardFn backward) {
    Tensor copy = result;
    return record_op(std::move(name), std::move(copy), std::move(inputs), std::move(saved),
                     std::move(backward));
}
/// The same with braced lists, record_op(name, out, {a, b}, {a}, ...), as every built-in op
/// writes it: nothing is allocated for the lists, which matters when grad mode is off (the
/// ops inside a backward rule) and on graphs of scalars.
Tensor record_op(std::string name, Tensor&& result, std::initializer_list<TensorRef> inputs,
                 std::initializer_list<TensorRef> saved, BackwardFn backward);
inline Tensor record_op(std::string name, const Tensor& result,
                        std::initializer_list<TensorRef> inputs,
                        std::initializer_list<TensorRef> saved, BackwardFn backward) {
    Tensor copy = result;
    return record_op(std::move(name), std::move(copy), inputs, saved, std::move(backward));
}

/// Records the node for record_op once it has decided to (grad mode on, an input requires grad).
/// `result` is moved from only after the saved list (which may name it) has been read.
Tensor record_node(std::string name, Tensor&& result, const TensorRef* inputs,
                   std::size_t input_count, const TensorRef* saved, std::size_t saved_count,
                   BackwardFn backward);
/// The same for a name that outlives the graph (a string literal): nothing copied.
Tensor record_node(const char* static_name, Tensor&& result, const TensorRef* inputs,
                   std::size_t input_count, const TensorRef* saved, std::size_t saved_count,
                   BackwardFn backward);

// Note [Sole owner]
// A tensor nobody else can observe may have its array overwritten instead of a new one being
// made: a gradient the engine holds alone is summed in place or turned into the next gradient
// by a backward rule (on a chain of scalars, two tensors fewer per step), and a temporary
// operand an elementwise op writes its result into. Sole means: one handle on the TensorImpl
// (no user variable, no second gradient refers to it), one owner of its storage (no detach()ed
// alias, no node's saved value), and no gradient slot: no .grad, and not a tensor that
// requires or required grad (whose leaf node writes its .grad: Note [Gradient slot]). A
// recorded result may be sole: its node keeps its inputs' values, not its own unless it saved
// them, and then the storage is not sole.
inline bool detail::sole_owner(const Tensor& tensor) {
    if (!tensor.impl_ || tensor.impl_.use_count() != 1) return false;
    const TensorImpl& impl = *tensor.impl_;
    return impl.storage.use_count() == 1 && impl.slot == nullptr;
}

namespace detail {
/// Asks for every cache line of `node` and its control block (which make_pooled puts just
/// before it: libstdc++'s is 16 bytes) ahead of use; nothing for a null node. Only a hint: a
/// wrong guess at the layout costs the prefetch, never a wrong read.
inline void prefetch(const Node* node) {
    if (node == nullptr) return;
    const char* first = reinterpret_cast<const char*>(node) - 16;
    for (std::size_t offset = 0; offset < sizeof(Node) + 16; offset += 64) {
        __builtin_prefetch(first + offset);
    }
}
}  // namespace detail

// Inline: every rule asks it once per input.
inline bool BackwardContext::needs_grad(std::size_t input) const {
    assert(input < node_.inputs_.size());
    const auto& node = node_.inputs_[input];
    return node != nullptr && node->needed_;
}

template <class T>
const xt::xarray<T>& BackwardContext::saved_value(std::size_t i) const {
    const Storage& storage = checked_saved(i);
    const auto* array = std::get_if<xt::xarray<T>>(&storage.array);
    if (array == nullptr) {
        detail::throw_value_dtype("saved_value", dtype_of<T>(),
                                  storage.array.index() == 0 ? Dtype::float32 : Dtype::float64);
    }
    return *array;
}

namespace detail {
/// What record_op does before it records: the anomaly check, then whether a node is needed.
bool should_record(const char* name, const Tensor& result, const TensorRef* inputs,
                   std::size_t input_count);
}  // namespace detail

/// The same for a literal name and a lambda, as every built-in op writes it: the BackwardFn is
/// only built when a node is recorded, and the name is never copied. Under grad mode off
/// (every op inside a backward rule) nothing is allocated at all. Pass the result as an rvalue,
/// `record_op("exp", std::move(out), {x}, {out}, ...)`, and its handle is not copied either; it
/// may still be named in the saved list (it is only moved from once the node is recorded).
/// The name is kept by pointer, so give a string literal here; a name in a local char array
/// must go as a std::string (the overloads above), which the node keeps a copy of.
template <std::size_t N, class Backward>
Tensor record_op(const char (&name)[N], Tensor&& result, std::initializer_list<TensorRef> inputs,
                 std::initializer_list<TensorRef> saved, Backward&& backward) {
    if (!detail::should_record(name, result, inputs.begin(), inputs.size())) return std::move(result);
    return record_node(name, std::move(result), inputs.begin(), inputs.size(), saved.begin(),
                       saved.size(), BackwardFn(std::forward<Backward>(backward)));
}

template <std::size_t N, class Backward>
Tensor record_op(const char (&name)[N], const Tensor& result, std::initializer_list<TensorRef> inputs,
                 std::initializer_list<TensorRef> saved, Backward&& backward) {
    Tensor copy = result;
    return record_op(name, std::move(copy), inputs, saved, std::forward<Backward>(backward));
}

}  // namespace xgrad
