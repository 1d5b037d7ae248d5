#include "tensor.hpp"

#include <ostream>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xio.hpp>

#include "engine.hpp"
#include "grad_mode.hpp"
#include "node.hpp"
#include "pool.hpp"
#include "storage_cache.hpp"

namespace xgrad {

namespace {

template <class T>
std::shared_ptr<TensorImpl> make_impl(xt::xarray<T>&& array) {
    auto impl = detail::make_pooled<TensorImpl>();
    impl->storage = StoragePtr::adopt(new Storage(std::move(array)));
    return impl;
}

template <class List>
Tensor from_list(List values, Dtype dtype) {
    if (dtype == Dtype::float64) return Tensor(xt::xarray<double>(values));
    return Tensor(xt::xarray<float>(xt::xarray<double>(values)));
}

}  // namespace

namespace detail {
template <class T>
Tensor uninitialized(const Shape& shape, xt::xarray<T>*& array) {
    Tensor tensor;
    tensor.impl_ = make_pooled<TensorImpl>();
    make_storage<T>(shape, tensor.impl_->storage);
    array = std::get_if<xt::xarray<T>>(&tensor.impl_->storage->array);
    return tensor;
}
template Tensor uninitialized<float>(const Shape&, xt::xarray<float>*&);
template Tensor uninitialized<double>(const Shape&, xt::xarray<double>*&);

void throw_undefined(const char* what) {
    throw value_error(std::string(what) + ": the tensor is undefined");
}

void throw_value_dtype(const char* accessor, Dtype wanted, Dtype actual) {
    throw dtype_error(std::string(accessor) + "<" + (wanted == Dtype::float32 ? "float" : "double") +
                      ">: the tensor holds " + dtype_name(actual));
}
}  // namespace detail

Tensor::Tensor(xt::xarray<float> array) : impl_(make_impl(std::move(array))) {}
Tensor::Tensor(xt::xarray<double> array) : impl_(make_impl(std::move(array))) {}
Tensor::Tensor(xt::nested_initializer_list_t<double, 1> v, Dtype d) : Tensor(from_list(v, d)) {}
Tensor::Tensor(xt::nested_initializer_list_t<double, 2> v, Dtype d) : Tensor(from_list(v, d)) {}
Tensor::Tensor(xt::nested_initializer_list_t<double, 3> v, Dtype d) : Tensor(from_list(v, d)) {}
Tensor::Tensor(xt::nested_initializer_list_t<double, 4> v, Dtype d) : Tensor(from_list(v, d)) {}


double Tensor::item() const {
    if (size() != 1) {
        throw shape_error("item: needs a one-element tensor, got shape " + shape_str(shape()));
    }
    return visit(*this, [](const auto& array) { return static_cast<double>(*array.begin()); });
}

Tensor& Tensor::set_requires_grad(bool requires) {
    auto& self = impl("set_requires_grad");
    if (self.node && !self.node->is_leaf()) {
        throw graph_error("set_requires_grad: only leaf tensors can change it; this one comes from '" +
                          std::string(self.node->name()) + "' (use detach() for a leaf copy)");
    }
    if (requires && !self.node) {
        detail::grad_slot(impl_);
        self.node = detail::make_pooled<Node>(self.slot, shape(), dtype());
    } else if (!requires) {
        self.node.reset();
    }
    return *this;
}

bool Tensor::is_leaf() const { return !impl_ || !impl_->node || impl_->node->is_leaf(); }

void Tensor::set_grad(Tensor grad) {
    auto& self = impl("set_grad");
    if (grad.defined() && (grad.shape() != shape() || grad.dtype() != dtype())) {
        throw shape_error("set_grad: gradient " + std::string(dtype_name(grad.dtype())) +
                          shape_str(grad.shape()) + " does not match tensor " +
                          dtype_name(dtype()) + shape_str(shape()));
    }
    if (!grad.defined() && !self.slot) return;
    detail::store_grad(detail::grad_slot(impl_), std::move(grad));
}

void Tensor::zero_grad() {
    auto& self = impl("zero_grad");
    const Tensor& gradient = grad();
    if (!gradient.defined()) return;
    if (gradient.requires_grad()) {  // a recorded gradient (create_graph): drop its graph
        detail::store_grad(*self.slot, zeros_like(gradient));
        return;
    }
    std::visit([](auto& array) { array.fill(0); }, gradient.storage()->array);
    ++gradient.storage()->version;
}

detail::GradSlot& detail::grad_slot(const std::shared_ptr<TensorImpl>& impl) {
    if (!impl->slot) {
        impl->slot = std::make_shared<GradSlot>();
        impl->slot->owner = impl;
    }
    return *impl->slot;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const& {
    Engine::backward(*this, gradient, retain_graph || create_graph, create_graph);
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) && {
    Engine::backward(*this, gradient, retain_graph || create_graph, create_graph, true);
}

Tensor Tensor::detach() const { return alias(impl("detach").storage, nullptr); }

Tensor Tensor::clone() const {
    return visit(*this, [](const auto& array) { return Tensor(xt::xarray<typename std::decay_t<decltype(array)>::value_type>(array)); });
}

Tensor Tensor::to(Dtype dtype) const {
    if (dtype == Dtype::float32) {
        return visit(*this, [](const auto& array) { return Tensor(xt::xarray<float>(xt::cast<float>(array))); });
    }
    return visit(*this, [](const auto& array) { return Tensor(xt::xarray<double>(xt::cast<double>(array))); });
}



Tensor Tensor::alias(StoragePtr storage, std::shared_ptr<Node> node) {
    Tensor tensor;
    tensor.impl_ = detail::make_pooled<TensorImpl>();
    tensor.impl_->storage = std::move(storage);
    tensor.impl_->node = std::move(node);
    return tensor;
}

void Tensor::attach_node(std::shared_ptr<Node>&& node) { impl("attach_node").node = std::move(node); }

std::ostream& operator<<(std::ostream& out, const Tensor& tensor) {
    if (!tensor.defined()) return out << "Tensor(undefined)";
    out << "Tensor(" << dtype_name(tensor.dtype()) << ", shape " << shape_str(tensor.shape());
    if (tensor.requires_grad()) out << ", requires_grad";
    out << ")\n";
    visit(tensor, [&out](const auto& array) { out << array; });
    return out;
}

// ---- Factories ----------------------------------------------------------------------------

Tensor full(const Shape& shape, double value, Dtype dtype) {
    if (dtype == Dtype::float32) {
        xt::xarray<float>* array = nullptr;
        Tensor tensor = detail::uninitialized(shape, array);
        array->fill(static_cast<float>(value));
        return tensor;
    }
    xt::xarray<double>* array = nullptr;
    Tensor tensor = detail::uninitialized(shape, array);
    array->fill(value);
    return tensor;
}

Tensor zeros(const Shape& shape, Dtype dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, Dtype dtype) { return full(shape, 1.0, dtype); }
Tensor scalar(double value, Dtype dtype) { return full(Shape{}, value, dtype); }
Tensor zeros_like(const Tensor& like) { return full(like.shape(), 0.0, like.dtype()); }
Tensor ones_like(const Tensor& like) { return full(like.shape(), 1.0, like.dtype()); }
Tensor full_like(const Tensor& like, double value) { return full(like.shape(), value, like.dtype()); }

namespace {
// Draws in double and rounds, so float32 and float64 tensors from one seed hold the same values.
template <class Distribution>
Tensor sample(const Shape& shape, Generator& generator, Dtype dtype, Distribution distribution) {
    xt::xarray<double> array = xt::xarray<double>::from_shape(shape);
    for (double& x : array) x = distribution(generator);
    if (dtype == Dtype::float64) return Tensor(std::move(array));
    return Tensor(xt::xarray<float>(xt::cast<float>(array)));
}
}  // namespace

Tensor randn(const Shape& shape, Generator& generator, Dtype dtype, double mean, double stddev) {
    if (!(stddev > 0.0)) throw value_error("randn: stddev must be > 0, got " + std::to_string(stddev));
    return sample(shape, generator, dtype, std::normal_distribution<double>(mean, stddev));
}

Tensor rand(const Shape& shape, Generator& generator, Dtype dtype, double low, double high) {
    if (!(low < high)) {
        throw value_error("rand: needs low < high, got [" + std::to_string(low) + ", " +
                          std::to_string(high) + ")");
    }
    return sample(shape, generator, dtype, std::uniform_real_distribution<double>(low, high));
}

}  // namespace xgrad
