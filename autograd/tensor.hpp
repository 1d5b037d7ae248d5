#pragma once
/// Tensor: a shared handle to an n-d array of float32 or float64 that may record a graph.

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <random>
#include <utility>
#include <variant>

#include <xtensor/xarray.hpp>

#include "dtype.hpp"
#include "error.hpp"
#include "storage.hpp"

namespace xgrad {

class Node;

struct TensorImpl;
class Tensor;

namespace detail {
/// A new tensor of `shape` and element type T, its elements uninitialised, and its array for
/// the caller to fill: how kernels write a result in place, with no xarray moved. Internal.
template <class T>
Tensor uninitialized(const Shape& shape, xt::xarray<T>*& array);
/// True if nothing but `tensor` can see its values: they may be overwritten in place
/// (Note [Sole owner] in node.hpp). Internal.
inline bool sole_owner(const Tensor& tensor);
}  // namespace detail

/// A handle: copies share the same array, gradient and graph position (like torch.Tensor).
class Tensor {
public:
    /// An undefined tensor (no storage); `defined()` is false.
    Tensor() = default;
    /// Takes ownership of an xtensor array; float gives float32, double gives float64.
    Tensor(xt::xarray<float> array);
    Tensor(xt::xarray<double> array);
    /// Evaluates any xtensor expression of float or double.
    template <class E>
    Tensor(const xt::xexpression<E>& expression)
        : Tensor(xt::xarray<typename E::value_type>(expression)) {}
    /// Nested initializer lists: Tensor({{1, 2}, {3, 4}}, Dtype::float64). C++ cannot tell
    /// {{0}, {1}} (one-element rows) from a flat list: write reshape(Tensor({0, 1}), {2, 1}).
    Tensor(xt::nested_initializer_list_t<double, 1> values, Dtype dtype = Dtype::float32);
    Tensor(xt::nested_initializer_list_t<double, 2> values, Dtype dtype = Dtype::float32);
    Tensor(xt::nested_initializer_list_t<double, 3> values, Dtype dtype = Dtype::float32);
    Tensor(xt::nested_initializer_list_t<double, 4> values, Dtype dtype = Dtype::float32);

    bool defined() const { return impl_ != nullptr; }
    Dtype dtype() const;
    const Shape& shape() const;
    std::size_t dim() const { return shape().size(); }
    /// Number of elements.
    std::size_t size() const;

    /// The array; throws dtype_error if T does not match dtype().
    template <class T>
    const xt::xarray<T>& value() const;
    /// The array for in-place change; bumps the version so stale saved values are detected.
    template <class T>
    xt::xarray<T>& mutable_value();
    /// The single element of a one-element tensor, as double.
    double item() const;
    /// Bumped by every mutable_value(); saved values remember it.
    std::uint64_t version() const;

    /// True if operations on this tensor are recorded for differentiation.
    bool requires_grad() const;
    /// Marks a leaf as a variable to differentiate with respect to (or clears the mark).
    Tensor& set_requires_grad(bool requires = true);
    /// True for tensors created by the user rather than by a recorded operation.
    bool is_leaf() const;
    /// Accumulated gradient of a leaf; undefined until a backward reaches it. A reference to
    /// the gradient slot (as in libtorch; no handle copied), valid while the tensor's data
    /// lives (any handle on it): a later backward or set_grad() changes what it shows. A copy
    /// (Tensor g = x.grad()) holds the gradient tensor of that moment, but shares its array:
    /// zero_grad() and nn::clip_grad_norm change that in place. clone() for a snapshot.
    const Tensor& grad() const;
    /// Replaces the accumulated gradient (undefined to clear it).
    void set_grad(Tensor grad);
    /// Sets the accumulated gradient to zeros, keeping its storage.
    void zero_grad();

    /// Back-propagates from this tensor into the .grad of every leaf that requires grad.
    /// A one-element tensor is seeded with 1; any other needs `gradient` of the same shape.
    /// The graph's saved values are freed unless retain_graph; create_graph records the
    /// backward pass itself, so the gradients can be differentiated again.
    void backward(const Tensor& gradient = Tensor(), bool retain_graph = false,
                  bool create_graph = false) const&;
    /// The same on a temporary (`loss_of(batch).backward()`, `std::move(loss).backward()`)
    /// that no other handle shares: each node no tensor still holds is freed as soon as its
    /// rule has run, while it is in cache, rather than in a second walk when the handle dies.
    /// The handle lets go of its node (it keeps its value and no longer requires grad). A
    /// leaf, retain_graph or create_graph: as the const& overload.
    void backward(const Tensor& gradient = Tensor(), bool retain_graph = false,
                  bool create_graph = false) &&;

    /// The same array cut from the graph: requires_grad() is false.
    Tensor detach() const;
    /// A deep copy of the array, not connected to any graph.
    Tensor clone() const;
    /// The same values converted to `dtype` (a copy, not connected to any graph).
    Tensor to(Dtype dtype) const;

    /// The graph node that produced this tensor (a leaf node for leaves); null if none.
    const std::shared_ptr<Node>& node() const;
    /// The shared storage (identity and version tracking).
    const StoragePtr& storage() const;
    /// A new handle on `storage` placed at graph position `node` (used by saved values).
    static Tensor alias(StoragePtr storage, std::shared_ptr<Node> node);
    /// Records that this tensor is the output of `node`. Internal to op recording. By
    /// reference: a handle passed by value is written as two words just before the call and
    /// read back as one, a store-forwarding stall (perf: 3.0% of a W0 step's samples, 0.6% since).
    void attach_node(std::shared_ptr<Node>&& node);
    /// True if both handles refer to the same tensor.
    bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

private:
    friend class Engine;
    template <class T>
    friend Tensor detail::uninitialized(const Shape& shape, xt::xarray<T>*& array);
    friend bool detail::sole_owner(const Tensor& tensor);
    std::shared_ptr<TensorImpl> impl_;
    const TensorImpl& impl(const char* what) const;
    TensorImpl& impl(const char* what);
};

namespace detail {
// Note [Gradient slot]
// A backward adds each leaf's gradient to its .grad, reaching the leaf through its node. The
// node used to point back at the TensorImpl weakly, and locking that weak_ptr (to keep the
// tensor alive while its .grad is written, should another thread let go of it) was a locked
// compare-exchange and a locked decrement per leaf: on W0 a twentieth of a training step
// (perf: 85% of accumulate_into_leaf's samples sat on those two instructions). So a tensor
// that has required grad keeps its gradient in a GradSlot shared with its leaf nodes, and the
// engine writes there, the slot kept alive by the node the sweep holds: no count changes.
// A gradient recorded by create_graph has a graph that reaches the leaf's node, which holds
// the slot: slot, gradient and node own each other. The tensor breaks that cycle when it dies
// (~TensorImpl drops a recorded gradient, which nothing can see any more), and the engine adds
// to a recorded gradient, or records a sum, only with the tensor locked through `owner` (as
// every leaf was before), so no recorded gradient is stored once the tensor is gone.
// `recorded` changes only while the tensor lives; once it has died, a sweep that still
// reaches its node either leaves the slot alone (recorded) or writes a plain sum nobody reads,
// and the dying tensor either drops the slot's gradient (recorded) or leaves it alone: never
// both at once. A slot outlives set_requires_grad(false), so a graph recorded before it still
// adds to the tensor's .grad.
struct GradSlot {
    Tensor grad;  ///< the tensor's accumulated gradient
    bool recorded = false;  ///< `grad` has a graph (create_graph)
    std::weak_ptr<TensorImpl> owner;  ///< the tensor whose gradient this is
};
/// The gradient slot of `impl`, made on first use.
GradSlot& grad_slot(const std::shared_ptr<TensorImpl>& impl);
/// Sets the gradient in `slot`.
inline void store_grad(GradSlot& slot, Tensor grad) {
    slot.recorded = grad.requires_grad();
    slot.grad = std::move(grad);
}
}  // namespace detail

struct TensorImpl {
    TensorImpl() = default;
    TensorImpl(const TensorImpl&) = delete;
    TensorImpl& operator=(const TensorImpl&) = delete;
    /// Drops a recorded gradient from the slot (Note [Gradient slot]).
    ~TensorImpl() {
        if (slot && slot->recorded) slot->grad = Tensor();
    }
    StoragePtr storage;
    std::shared_ptr<Node> node;
    /// Its gradient, once it has one or has required grad (Note [Gradient slot]).
    std::shared_ptr<detail::GradSlot> slot;
};

/// Calls `f(array)` with the tensor's array as xt::xarray<float> or xt::xarray<double>.
template <class F>
decltype(auto) visit(const Tensor& tensor, F&& f) {
    return std::visit(std::forward<F>(f), std::as_const(tensor.storage()->array));
}

/// Prints dtype, shape, whether it requires grad, and the values.
std::ostream& operator<<(std::ostream& out, const Tensor& tensor);

// ---- Factories ----------------------------------------------------------------------------

/// The random engine behind randn/rand: the same seed gives bit-identical tensors.
using Generator = std::mt19937_64;

Tensor zeros(const Shape& shape, Dtype dtype = Dtype::float32);
Tensor ones(const Shape& shape, Dtype dtype = Dtype::float32);
Tensor full(const Shape& shape, double value, Dtype dtype = Dtype::float32);
/// A zero-dimensional tensor holding `value`.
Tensor scalar(double value, Dtype dtype = Dtype::float32);
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);
Tensor full_like(const Tensor& like, double value);
/// Samples of N(mean, stddev²).
Tensor randn(const Shape& shape, Generator& generator, Dtype dtype = Dtype::float32,
             double mean = 0.0, double stddev = 1.0);
/// Samples of U[low, high).
Tensor rand(const Shape& shape, Generator& generator, Dtype dtype = Dtype::float32,
            double low = 0.0, double high = 1.0);

// ---- Template definitions -------------------------------------------------------------------

namespace detail {
[[noreturn]] void throw_value_dtype(const char* accessor, Dtype wanted, Dtype actual);
[[noreturn]] void throw_undefined(const char* what);
}

// The accessors every op calls several times are inline (out of line they were a tenth of
// the engine's cost per node on a chain of scalar operations).
inline const TensorImpl& Tensor::impl(const char* what) const {
    if (!impl_) detail::throw_undefined(what);
    return *impl_;
}

inline TensorImpl& Tensor::impl(const char* what) {
    if (!impl_) detail::throw_undefined(what);
    return *impl_;
}

inline Dtype Tensor::dtype() const {
    return impl("dtype").storage->array.index() == 0 ? Dtype::float32 : Dtype::float64;
}

inline const Shape& Tensor::shape() const {
    const auto& array = impl("shape").storage->array;
    if (const auto* floats = std::get_if<0>(&array)) return floats->shape();
    return std::get<1>(array).shape();
}

inline const StoragePtr& Tensor::storage() const { return impl("storage").storage; }

inline std::uint64_t Tensor::version() const { return impl("version").storage->version; }

inline bool Tensor::requires_grad() const { return impl_ && impl_->node != nullptr; }


namespace detail {
// Constant-initialised at namespace scope: a function-local static would test its guard on
// every call of node(), which every recorded op makes once per input.
inline const std::shared_ptr<Node> no_node;
inline const Tensor no_tensor;
}  // namespace detail

inline const Tensor& Tensor::grad() const {
    const TensorImpl& self = impl("grad");
    return self.slot ? self.slot->grad : detail::no_tensor;
}

inline const std::shared_ptr<Node>& Tensor::node() const { return impl_ ? impl_->node : detail::no_node; }

inline std::size_t Tensor::size() const {
    const auto& array = impl("size").storage->array;
    if (const auto* floats = std::get_if<0>(&array)) return floats->size();
    return std::get<1>(array).size();
}

template <class T>
const xt::xarray<T>& Tensor::value() const {
    const auto* array = std::get_if<xt::xarray<T>>(&impl("value").storage->array);
    if (array == nullptr) detail::throw_value_dtype("value", dtype_of<T>(), dtype());
    return *array;
}

template <class T>
xt::xarray<T>& Tensor::mutable_value() {
    auto& storage = *impl("mutable_value").storage;
    auto* array = std::get_if<xt::xarray<T>>(&storage.array);
    if (array == nullptr) detail::throw_value_dtype("mutable_value", dtype_of<T>(), dtype());
    ++storage.version;
    return *array;
}

}  // namespace xgrad
