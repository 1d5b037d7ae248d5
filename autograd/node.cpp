#include "node.hpp"

#include <cassert>

#include "anomaly.hpp"
#include "grad_mode.hpp"

namespace xgrad {

std::atomic<std::int64_t> Node::live_{0};

Node::Node(std::string name, Shape shape, Dtype dtype)
    : name_(std::move(name)), shape_(std::move(shape)), dtype_(dtype) {
    live_.fetch_add(1, std::memory_order_relaxed);
}

Node::Node(std::weak_ptr<TensorImpl> leaf, Shape shape, Dtype dtype)
    : name_("leaf"), shape_(std::move(shape)), dtype_(dtype), is_leaf_(true),
      leaf_(std::move(leaf)) {
    live_.fetch_add(1, std::memory_order_relaxed);
}

// Note [Iterative teardown]
// Destroying the last tensor of a long chain would destroy each node from inside its
// consumer's destructor, one stack frame per node. Instead the dying node moves its edges to
// a local stack; an input we hold the last reference to hands over its own edges before it
// dies, so every node is destroyed with empty edges and the depth stays constant.
Node::~Node() {
    std::vector<std::shared_ptr<Node>> stack = std::move(inputs_);
    while (!stack.empty()) {
        std::shared_ptr<Node> node = std::move(stack.back());
        stack.pop_back();
        if (node && node.use_count() == 1) {
            for (auto& input : node->inputs_) stack.push_back(std::move(input));
            node->inputs_.clear();
        }
    }
    live_.fetch_sub(1, std::memory_order_relaxed);
}

std::int64_t Node::live_count() { return live_.load(std::memory_order_relaxed); }

Tensor BackwardContext::saved(std::size_t i) const {
    assert(i < node_.saved_.size());
    const SavedTensor& saved = node_.saved_[i];
    if (saved.storage->version != saved.version) {
        throw graph_error("backward of '" + node_.name_ + "': saved value " + std::to_string(i) +
                          " was modified in place after it was saved (version " +
                          std::to_string(saved.version) + " saved, now " +
                          std::to_string(saved.storage->version) + ")");
    }
    std::shared_ptr<Node> position;
    if (grad_enabled()) {
        if (saved.input_index == SavedTensor::output) position = std::const_pointer_cast<Node>(node_.shared_from_this());
        else if (saved.input_index >= 0) position = node_.inputs_[saved.input_index];
    }
    return Tensor::alias(saved.storage, std::move(position));
}

bool BackwardContext::needs_grad(std::size_t input) const {
    assert(input < node_.inputs_.size());
    const auto& node = node_.inputs_[input];
    return node != nullptr && node->needed_;
}

namespace {
bool should_record(const Tensor* inputs, std::size_t count) {
    if (!grad_enabled()) return false;
    for (std::size_t i = 0; i < count; ++i) {
        if (inputs[i].requires_grad()) return true;
    }
    return false;
}

// What both record_op overloads do: the anomaly check, then a node only if one is needed.
Tensor record_if_needed(std::string name, Tensor result, const Tensor* inputs, std::size_t input_count,
                        const Tensor* saved, std::size_t saved_count, BackwardFn backward) {
    if (anomaly_enabled()) detail::check_forward(name, result, inputs, input_count);
    if (!should_record(inputs, input_count)) return result;
    return record_node(std::move(name), std::move(result), inputs, input_count, saved, saved_count,
                       std::move(backward));
}
}  // namespace

Tensor record_op(std::string name, Tensor result, std::vector<Tensor> inputs,
                 std::vector<Tensor> saved, BackwardFn backward) {
    return record_if_needed(std::move(name), std::move(result), inputs.data(), inputs.size(), saved.data(),
                            saved.size(), std::move(backward));
}

Tensor record_op(std::string name, Tensor result, std::initializer_list<Tensor> inputs,
                 std::initializer_list<Tensor> saved, BackwardFn backward) {
    return record_if_needed(std::move(name), std::move(result), inputs.begin(), inputs.size(), saved.begin(),
                            saved.size(), std::move(backward));
}

Tensor record_node(std::string name, Tensor result, const Tensor* inputs, std::size_t input_count,
                   const Tensor* saved, std::size_t saved_count, BackwardFn backward) {
    auto node = std::make_shared<Node>(std::move(name), result.shape(), result.dtype());
    node->inputs_.reserve(input_count);
    for (std::size_t i = 0; i < input_count; ++i) node->inputs_.push_back(inputs[i].node());
    node->saved_.reserve(saved_count);
    for (std::size_t s = 0; s < saved_count; ++s) {
        const Tensor& value = saved[s];
        int index = SavedTensor::constant;
        if (value.storage() == result.storage()) {
            index = SavedTensor::output;
        } else {
            for (std::size_t i = 0; i < input_count; ++i) {
                if (value.is_same(inputs[i])) index = static_cast<int>(i);
            }
        }
        node->saved_.push_back({value.storage(), value.version(), index});
    }
    node->backward_ = std::move(backward);
    result.attach_node(std::move(node));
    return result;
}

}  // namespace xgrad
