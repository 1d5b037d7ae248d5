#include "node.hpp"

#include <algorithm>
#include <cassert>
#include <memory>
#include <mutex>

#include "anomaly.hpp"
#include "grad_mode.hpp"
#include "pool.hpp"

namespace xgrad {

// Note [Live node count]
// live_count() is for tests and leak checks, but it is kept on every node's construction and
// destruction, and an atomic read-modify-write there is a locked instruction per node twice
// (the process is multi-threaded as soon as OpenBLAS starts its pool). So each thread counts
// the nodes it creates minus those it destroys in a slot of its own, written with a plain load
// and store; live_count() adds up every slot. Slots live on the heap and are never freed: a
// thread that exits hands its slot (count and all) to the next new thread, so the sum stays
// right, and a slot whose thread never got to hand it over is still valid memory. A node
// event on a thread after it handed its slot over, or whose slot could not be allocated, goes
// to a shared atomic. The total is exact whenever the threads that make and free nodes are
// quiet (joined); while they run, a total may miss the nodes in flight between two slots.
namespace {
struct NodeCountSlot {
    std::atomic<std::int64_t> count{0};  ///< written by one thread at a time, read by any
    bool in_use = true;
};

struct NodeCounts {
    std::mutex mutex;
    std::vector<NodeCountSlot*> slots;  ///< never freed
    std::atomic<std::int64_t> unslotted{0};
};
NodeCounts& node_counts() {
    static NodeCounts* counts = new NodeCounts;  // never destroyed: threads may exit after statics
    return *counts;
}

// Trivially destructible, so valid during the whole of the thread's exit.
thread_local NodeCountSlot* thread_slot = nullptr;
thread_local bool thread_handed_over = false;

struct HandOverAtExit {
    ~HandOverAtExit() {
        std::lock_guard<std::mutex> lock(node_counts().mutex);
        thread_slot->in_use = false;
        thread_handed_over = true;
    }
};

NodeCountSlot* take_slot() noexcept {
    try {
        NodeCounts& counts = node_counts();
        NodeCountSlot* slot = nullptr;
        {
            std::lock_guard<std::mutex> lock(counts.mutex);
            for (NodeCountSlot* free : counts.slots) {
                if (!free->in_use) slot = free;
            }
            if (slot == nullptr) {
                auto fresh = std::make_unique<NodeCountSlot>();
                counts.slots.push_back(fresh.get());
                slot = fresh.release();
            }
            slot->in_use = true;
        }
        thread_slot = slot;
        static thread_local HandOverAtExit hand_over;
        (void)hand_over;
        return slot;
    } catch (...) {
        return nullptr;
    }
}

// The first event of a thread, and every one after its hand-over: out of line, so the call
// on every node is a load, an add and a store with no register saved.
[[gnu::noinline]] void count_node_slow(std::int64_t delta) noexcept {
    if (!thread_handed_over) {
        NodeCountSlot* slot = thread_slot != nullptr ? thread_slot : take_slot();
        if (slot != nullptr) {
            slot->count.store(slot->count.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
            return;
        }
    }
    node_counts().unslotted.fetch_add(delta, std::memory_order_relaxed);
}

inline void count_node(std::int64_t delta) noexcept {
    NodeCountSlot* slot = thread_slot;
    if (slot == nullptr || thread_handed_over) return count_node_slow(delta);
    slot->count.store(slot->count.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}
}  // namespace

Node::Node(const char* static_name, const Shape& shape, Dtype dtype)
    : dtype_(dtype), name_(static_name), shape_(shape) {
    count_node(1);
}

Node::Node(std::string name, const Shape& shape, Dtype dtype)
    : Node(static_cast<const char*>(nullptr), shape, dtype) {
    own_name_ = std::make_unique<const std::string>(std::move(name));
    name_ = own_name_->c_str();
}

Node::Node(std::shared_ptr<detail::GradSlot> slot, const Shape& shape, Dtype dtype)
    : Node("leaf", shape, dtype) {
    is_leaf_ = true;
    grad_slot_ = std::move(slot);
}

// Note [Iterative teardown]
// Destroying the last tensor of a long chain would destroy each node from inside its
// consumer's destructor, one stack frame per node. Instead a dying node that holds the last
// reference to an input moves its edges to a local stack; an input we hold the last
// reference to hands over its own edges before it dies, so every node below is destroyed
// with empty edges (or only shared ones) and the depth stays constant. A node whose inputs
// all live on elsewhere releases them directly: that is every node but the first of a
// teardown, so the stack is built once per graph, not once per node (and is inline: a chain's
// holds a node's inputs at a time). An input pushed is prefetched (Note [Sweep prefetch] in
// engine.cpp): its lines arrive while the node before it is destroyed.
Node::~Node() {
    bool last_owner = false;
    for (const auto& input : inputs_) last_owner |= input && input.use_count() == 1;
    if (last_owner) {
        SmallVector<std::shared_ptr<Node>, 8> stack;  // a chain's stays this short: no allocation
        for (auto& input : inputs_) stack.push_back(std::move(input));
        while (!stack.empty()) {
            std::shared_ptr<Node> node = std::move(stack.back());
            stack.pop_back();
            if (node && node.use_count() == 1) {
                for (auto& input : node->inputs_) {
                    detail::prefetch(input.get());
                    stack.push_back(std::move(input));
                }
                node->inputs_.clear();
            }
        }
    }
    count_node(-1);
}

std::int64_t Node::live_count() {
    NodeCounts& counts = node_counts();
    std::lock_guard<std::mutex> lock(counts.mutex);
    std::int64_t total = counts.unslotted.load(std::memory_order_relaxed);
    for (const NodeCountSlot* slot : counts.slots) total += slot->count.load(std::memory_order_relaxed);
    return total;
}

const Storage& BackwardContext::checked_saved(std::size_t i) const {
    assert(i < node_.saved_.size());
    const SavedTensor& saved = node_.saved_[i];
    if (!saved.storage) {
        throw graph_error("backward of '" + std::string(node_.name_) + "': saved value " + std::to_string(i) +
                          " was not kept (the op saved an undefined tensor in its place)");
    }
    if (saved.storage->version != saved.version) {
        throw graph_error("backward of '" + std::string(node_.name_) + "': saved value " + std::to_string(i) +
                          " was modified in place after it was saved (version " +
                          std::to_string(saved.version) + " saved, now " +
                          std::to_string(saved.storage->version) + ")");
    }
    return *saved.storage;
}

Tensor BackwardContext::saved(std::size_t i) const {
    checked_saved(i);
    const SavedTensor& saved = node_.saved_[i];
    std::shared_ptr<Node> position;
    if (grad_enabled()) {
        if (saved.input_index == SavedTensor::output) position = owner_;
        else if (saved.input_index >= 0) position = node_.inputs_[saved.input_index];
    }
    return Tensor::alias(saved.storage, std::move(position));
}

namespace detail {
bool should_record(const char* name, const Tensor& result, const TensorRef* inputs,
                   std::size_t input_count) {
    if (anomaly_enabled()) check_forward(name, result, inputs, input_count);
    if (!grad_enabled()) return false;
    for (std::size_t i = 0; i < input_count; ++i) {
        if (inputs[i].get().requires_grad()) return true;
    }
    return false;
}
}  // namespace detail

namespace {
// What both std::string overloads of record_op do.
Tensor record_if_needed(std::string&& name, Tensor&& result, const TensorRef* inputs,
                        std::size_t input_count, const TensorRef* saved, std::size_t saved_count,
                        BackwardFn&& backward) {
    if (!detail::should_record(name.c_str(), result, inputs, input_count)) return std::move(result);
    return record_node(std::move(name), std::move(result), inputs, input_count, saved, saved_count,
                       std::move(backward));
}

SmallVector<TensorRef, 4> refs(const std::vector<Tensor>& tensors) {
    SmallVector<TensorRef, 4> out;
    out.reserve(tensors.size());
    for (const Tensor& tensor : tensors) out.emplace_back(tensor);
    return out;
}
}  // namespace

Tensor record_op(std::string name, Tensor&& result, std::vector<Tensor> inputs,
                 std::vector<Tensor> saved, BackwardFn backward) {
    const auto input_refs = refs(inputs), saved_refs = refs(saved);
    return record_if_needed(std::move(name), std::move(result), input_refs.data(), input_refs.size(),
                            saved_refs.data(), saved_refs.size(), std::move(backward));
}

Tensor record_op(std::string name, Tensor&& result, std::initializer_list<TensorRef> inputs,
                 std::initializer_list<TensorRef> saved, BackwardFn backward) {
    return record_if_needed(std::move(name), std::move(result), inputs.begin(), inputs.size(),
                            saved.begin(), saved.size(), std::move(backward));
}

template <class Name>
Tensor record_node_named(Name&& name, Tensor&& result, const TensorRef* inputs,
                         std::size_t input_count, const TensorRef* saved, std::size_t saved_count,
                         BackwardFn&& backward) {
    auto node = detail::make_pooled<Node>(std::forward<Name>(name), result.shape(), result.dtype());
    node->inputs_.reserve(input_count);
    std::uint64_t depth = 0;  // Note [Backward sweep]: one above every input's
    for (std::size_t i = 0; i < input_count; ++i) {
        const std::shared_ptr<Node>& input = inputs[i].get().node();
        if (input != nullptr) depth = std::max(depth, input->depth_ + 1);
        node->inputs_.push_back(input);
    }
    node->depth_ = depth;
    node->saved_.reserve(saved_count);
    // A result nothing else holds (a fresh one, as every built-in op's) is on no other thread:
    // the saved handle on its storage needs no locked increment.
    const bool unpublished = detail::sole_owner(result);
    for (std::size_t s = 0; s < saved_count; ++s) {
        const Tensor& value = saved[s].get();
        if (!value.defined()) {  // nothing kept: saved(s) throws
            node->saved_.push_back({StoragePtr(), 0, SavedTensor::constant});
            continue;
        }
        int index = SavedTensor::constant;
        if (value.storage() == result.storage()) {
            index = SavedTensor::output;
        } else {
            for (std::size_t i = 0; i < input_count; ++i) {
                if (value.is_same(inputs[i].get())) index = static_cast<int>(i);
            }
        }
        const bool private_output = index == SavedTensor::output && unpublished && value.storage().use_count() == 1;
        node->saved_.push_back({private_output ? StoragePtr::second_of_unpublished(value.storage()) : value.storage(),
                                value.version(), index});
    }
    node->backward_ = std::move(backward);
    result.attach_node(std::move(node));
    return std::move(result);  // a reference parameter: `return result` would copy the handle
}

Tensor record_node(std::string name, Tensor&& result, const TensorRef* inputs,
                   std::size_t input_count, const TensorRef* saved, std::size_t saved_count,
                   BackwardFn backward) {
    return record_node_named(std::move(name), std::move(result), inputs, input_count, saved,
                             saved_count, std::move(backward));
}

Tensor record_node(const char* static_name, Tensor&& result, const TensorRef* inputs,
                   std::size_t input_count, const TensorRef* saved, std::size_t saved_count,
                   BackwardFn backward) {
    return record_node_named(static_name, std::move(result), inputs, input_count, saved,
                             saved_count, std::move(backward));
}

}  // namespace xgrad
