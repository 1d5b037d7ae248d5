#include "tensor.hpp"

#include <ostream>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xio.hpp>

#include "engine.hpp"
#include "grad_mode.hpp"
#include "node.hpp"
#include "pool.hpp"

namespace xgrad {

namespace {

template <class T>
std::shared_ptr<TensorImpl> make_impl(xt::xarray<T>&& array) {
    auto impl = detail::make_pooled<TensorImpl>();
    impl->storage = detail::make_pooled<Storage>(std::move(array));
    return impl;
}

template <class List>
Tensor from_list(List values, Dtype dtype) {
    if (dtype == Dtype::float64) return Tensor(xt::xarray<double>(values));
    return Tensor(xt::xarray<float>(xt::xarray<double>(values)));
}

}  // namespace

// Note [Storage cache]
// A kernel's result is a fresh Storage holding an xt::xarray: a shape, strides and backstrides
// computed, and the elements allocated; destroying it frees them again. On a graph of
// scalars that was a third of the cost of an op. A Storage of up to `cached_elements` elements
// is therefore not destroyed when its last owner lets go: it goes, array and all, on this
// thread's list for its dtype and element count, and the next result of that size takes it
// (resized in place if its shape differs, which reuses the elements). The lists are bounded
// by `cached_storage_bytes`; beyond that, and after thread exit, storages are deleted. Like
// the block pools, the cache is off under AddressSanitizer.
namespace {

constexpr std::size_t cached_elements = 64;
constexpr std::size_t cached_storage_bytes = std::size_t(128) << 20;

struct CachedStorage {
    template <class T>
    CachedStorage(std::in_place_type_t<T> type, const Shape& shape, std::size_t elements)
        : storage(type, shape), elements(elements) {}
    Storage storage;
    std::size_t elements;  ///< the list it belongs to; resized since (mutable_value), it is deleted
    CachedStorage* next = nullptr;
};

// Trivially destructible (usable while other thread_local objects are destroyed).
struct StorageLists {
    CachedStorage* head[2][cached_elements + 1];
    std::size_t bytes;
    bool closed;
};
thread_local StorageLists storage_lists{};

std::size_t element_count(const Storage& storage) {
    return std::visit([](const auto& array) { return array.size(); }, storage.array);
}

std::size_t entry_bytes(const Storage& storage, std::size_t elements) {
    return sizeof(CachedStorage) + elements * (storage.array.index() == 0 ? sizeof(float) : sizeof(double));
}

void release_storages() noexcept {
    StorageLists& lists = storage_lists;
    for (auto& by_dtype : lists.head) {
        for (CachedStorage*& head : by_dtype) {
            while (head != nullptr) {
                CachedStorage* next = head->next;
                delete head;
                head = next;
            }
        }
    }
    lists.bytes = 0;
}

std::size_t cached_storage_bytes_now() { return storage_lists.bytes; }

struct DrainStorages {
    ~DrainStorages() {
        storage_lists.closed = true;
        release_storages();
    }
};

// Registers the cache with release_cached_memory() (once) and this thread's list for emptying
// at thread exit: on the first allocation, and on the first free of a thread that only frees.
void drain_storages_at_exit() {
    static const bool registered =
        detail::register_cache({&cached_storage_bytes_now, &release_storages});
    static thread_local DrainStorages drain;
    (void)registered;
    (void)drain;
}

// The shared_ptr deleter of a cacheable Storage: back on the list, or deleted.
struct Recycle {
    CachedStorage* owner;
    void operator()(Storage*) const noexcept {
        StorageLists& lists = storage_lists;
        const std::size_t elements = owner->elements;
        const std::size_t bytes = entry_bytes(owner->storage, elements);
        if (lists.closed || element_count(owner->storage) != elements ||
            lists.bytes + bytes > cached_storage_bytes) {
            delete owner;
            return;
        }
        if (lists.bytes == 0) drain_storages_at_exit();
        CachedStorage*& head = lists.head[owner->storage.array.index()][elements];
        owner->next = head;
        head = owner;
        lists.bytes += bytes;
    }
};

template <class T>
std::shared_ptr<Storage> make_storage(const Shape& shape) {
    std::size_t elements = 1;
    for (std::size_t extent : shape) elements *= extent;
    if (!detail::pools_enabled || elements > cached_elements) {
        return detail::make_pooled<Storage>(std::in_place_type<T>, shape);
    }
    StorageLists& lists = storage_lists;
    CachedStorage*& head = lists.head[std::is_same_v<T, float> ? 0 : 1][elements];
    CachedStorage* entry = head;
    if (entry != nullptr) {
        head = entry->next;
        lists.bytes -= entry_bytes(entry->storage, elements);
        entry->storage.version = 0;
        std::get<xt::xarray<T>>(entry->storage.array).resize(shape);
    } else {
        drain_storages_at_exit();
        entry = new CachedStorage(std::in_place_type<T>, shape, elements);
    }
    return std::shared_ptr<Storage>(&entry->storage, Recycle{entry}, detail::PoolAllocator<Storage>());
}

}  // namespace

namespace detail {
template <class T>
Tensor uninitialized(const Shape& shape, xt::xarray<T>*& array) {
    Tensor tensor;
    tensor.impl_ = make_pooled<TensorImpl>();
    tensor.impl_->storage = make_storage<T>(shape);
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
                          self.node->name() + "' (use detach() for a leaf copy)");
    }
    if (requires && !self.node) {
        self.node = detail::make_pooled<Node>(std::weak_ptr<TensorImpl>(impl_), shape(), dtype());
    } else if (!requires) {
        self.node.reset();
    }
    return *this;
}

bool Tensor::is_leaf() const { return !impl_ || !impl_->node || impl_->node->is_leaf(); }

Tensor Tensor::grad() const { return impl("grad").grad; }

void Tensor::set_grad(Tensor grad) {
    auto& self = impl("set_grad");
    if (grad.defined() && (grad.shape() != shape() || grad.dtype() != dtype())) {
        throw shape_error("set_grad: gradient " + std::string(dtype_name(grad.dtype())) +
                          shape_str(grad.shape()) + " does not match tensor " +
                          dtype_name(dtype()) + shape_str(shape()));
    }
    self.grad = std::move(grad);
}

void Tensor::zero_grad() {
    auto& self = impl("zero_grad");
    if (!self.grad.defined()) return;
    if (self.grad.requires_grad()) {  // a recorded gradient (create_graph): drop its graph
        self.grad = zeros_like(self.grad);
        return;
    }
    std::visit([](auto& array) { array.fill(0); }, self.grad.storage()->array);
    ++self.grad.storage()->version;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
    Engine::backward({*this}, {gradient}, retain_graph || create_graph, create_graph);
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



Tensor Tensor::alias(std::shared_ptr<Storage> storage, std::shared_ptr<Node> node) {
    Tensor tensor;
    tensor.impl_ = detail::make_pooled<TensorImpl>();
    tensor.impl_->storage = std::move(storage);
    tensor.impl_->node = std::move(node);
    return tensor;
}

void Tensor::attach_node(std::shared_ptr<Node> node) { impl("attach_node").node = std::move(node); }

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
