#pragma once
// The backward sweep's waiting nodes (Note [Backward sweep] in engine.cpp). Internal to autograd.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

#include "node.hpp"
#include "small_vector.hpp"

namespace xgrad {

namespace detail {

/// The discovered nodes waiting to run, deepest first (Note [Backward sweep]): a max-heap by
// depth, except that the deepest entry stays out of it, in `next`, while no heap entry is
// deeper. On a chain each node is discovered deeper than all that wait and runs next, so it
// goes through `next` with no heap operation (they were a tenth of the sweep's instructions).
// Nodes of depth 0 (leaves: a recorded node has an input that requires grad, so it is deeper)
// wait in a plain list and run last, in any order: no path joins two of them, and every other
// node is deeper. An MLP's parameters are most of its graph's nodes.
class Frontier {
public:
    struct Entry {
        std::uint64_t depth;
        Node* node;
        /// A root's or a consumer's edge to it; while the sweep frees the graph as it goes,
        /// valid only until that consumer has run (then Holds owns the node).
        const std::shared_ptr<Node>* edge;
        bool operator<(const Entry& other) const { return depth < other.depth; }
    };

    bool empty() const { return !has_next_ && heap_.empty() && leaves_.empty(); }

    /// Adds `node`, reached along `edge`.
    void push(std::uint64_t depth, Node* node, const std::shared_ptr<Node>* edge) {
        if (depth == 0) {
            place(leaves_.emplace_back(), depth, node, edge);
            return;
        }
        if (!has_next_ && (heap_.empty() || depth >= heap_[0].depth)) {
            place(next_, depth, node, edge);
            has_next_ = true;
            return;
        }
        if (has_next_ && depth > next_.depth) {
            // The new entry is the deepest: it takes `next`, and the old one joins the heap.
            Entry old = next_;
            place(next_, depth, node, edge);
            const std::size_t hole = make_hole(old.depth);
            heap_[hole] = std::move(old);
            return;
        }
        // std::push_heap would move the entry back out of the slot push_back just wrote (the
        // stall place() avoids): the hole is found first and the entry built there.
        place(heap_[make_hole(depth)], depth, node, edge);
    }

    Entry pop() {
        if (has_next_) {
            has_next_ = false;
            return std::move(next_);
        }
        if (heap_.empty()) {
            Entry entry = std::move(leaves_.back());
            leaves_.pop_back();
            return entry;
        }
        std::pop_heap(heap_.begin(), heap_.end());
        Entry entry = std::move(heap_.back());
        heap_.pop_back();
        return entry;
    }

    /// Calls f(node) for every waiting node.
    template <class F>
    void for_each(F&& f) const {
        if (has_next_) f(*next_.node);
        for (const Entry& entry : heap_) f(*entry.node);
        for (const Entry& entry : leaves_) f(*entry.node);
    }

private:
    /// Makes room in the heap for an entry of `depth` (std::push_heap's sift-up): moves the
    /// shallower ancestors down and returns the empty slot where the entry belongs.
    std::size_t make_hole(std::uint64_t depth) {
        heap_.emplace_back();
        std::size_t hole = heap_.size() - 1;
        while (hole > 0) {
            const std::size_t parent = (hole - 1) / 2;
            if (!(heap_[parent].depth < depth)) break;
            heap_[hole] = std::move(heap_[parent]);
            hole = parent;
        }
        return hole;
    }
    /// Builds an entry in `slot` (an entry built first and then copied in is read back just
    /// after it was written, a store-forwarding stall: perf, ~1% of a W0 step).
    static void place(Entry& slot, std::uint64_t depth, Node* node, const std::shared_ptr<Node>* edge) {
        slot.depth = depth;
        slot.node = node;
        slot.edge = edge;
    }

    SmallVector<Entry, 32> heap_;  // as wide as most graphs get: no allocation
    SmallVector<Entry, 16> leaves_;  // depth 0, run last
    Entry next_{};
    bool has_next_ = false;
};

/// The owners of the waiting nodes while a backward frees the graph as it goes (Note [Freeing
/// as it goes] in engine.cpp). Once a consumer has run, each input gets a hold: the consumer's
/// own edge, moved (no reference count changed) when the consumer is freed, else a copy. A
/// node's hold is dropped once it has run, which frees it if nothing else holds it.
class Holds {
public:
    Holds() = default;
    Holds(const Holds&) = delete;
    Holds& operator=(const Holds&) = delete;
    /// Lets go of the nodes still held (a backward that threw), marking them unheld first.
    ~Holds() {
        for (const auto& slot : slots_) {
            if (slot) slot->hold_slot_ = -1;
        }
    }

    bool holds(const Node& node) const { return node.hold_slot_ >= 0; }
    /// The hold on `node`, which holds(node).
    const std::shared_ptr<Node>& of(const Node& node) const { return slots_[node.hold_slot_]; }
    /// Makes `edge` the hold of its node (not yet held), moving it out of the edge.
    void take(std::shared_ptr<Node>&& edge) { slot_for(*edge) = std::move(edge); }
    /// Makes a copy of `edge` the hold of its node (not yet held).
    void copy(const std::shared_ptr<Node>& edge) { slot_for(*edge) = edge; }
    /// Drops the hold on `node` (held), which may destroy it.
    void drop(Node& node) {
        const int slot = node.hold_slot_;
        node.hold_slot_ = -1;
        free_.push_back(slot);
        slots_[slot].reset();
    }

private:
    std::shared_ptr<Node>& slot_for(Node& node) {
        if (free_.empty()) {
            node.hold_slot_ = static_cast<int>(slots_.size());
            return slots_.emplace_back();
        }
        node.hold_slot_ = free_.back();
        free_.pop_back();
        return slots_[node.hold_slot_];
    }

    SmallVector<std::shared_ptr<Node>, 8> slots_;  // a chain's stays this short: no allocation
    SmallVector<int, 8> free_;
};

}  // namespace detail

}  // namespace xgrad
