#pragma once
// The backward sweep's waiting nodes (Note [Backward sweep] in engine.cpp). Internal to autograd.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

#include "small_vector.hpp"

namespace xgrad {

class Node;

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
        const std::shared_ptr<Node>* edge;  ///< a root's or a consumer's edge to it
        /// Set when the sweep frees the graph as it goes (Note [Freeing as it goes] in
        /// engine.cpp): then the edge may be gone before the node runs, and this owns it.
        std::shared_ptr<Node> owned;
        const std::shared_ptr<Node>& owner() const { return owned ? owned : *edge; }
        bool operator<(const Entry& other) const { return depth < other.depth; }
    };

    bool empty() const { return !has_next_ && heap_.empty() && leaves_.empty(); }

    /// Adds `node`, reached along `edge`; `own`: the entry holds a copy of the edge.
    void push(std::uint64_t depth, Node* node, const std::shared_ptr<Node>* edge, bool own) {
        if (depth == 0) {
            place(leaves_.emplace_back(), depth, node, edge, own);
            return;
        }
        if (!has_next_ && (heap_.empty() || depth >= heap_[0].depth)) {
            place(next_, depth, node, edge, own);
            has_next_ = true;
            return;
        }
        if (has_next_ && depth > next_.depth) {
            // The new entry is the deepest: it takes `next`, and the old one joins the heap.
            Entry old = std::move(next_);
            place(next_, depth, node, edge, own);
            const std::size_t hole = make_hole(old.depth);
            heap_[hole] = std::move(old);
            return;
        }
        // std::push_heap would move the entry back out of the slot push_back just wrote (the
        // stall place() avoids): the hole is found first and the entry built there.
        place(heap_[make_hole(depth)], depth, node, edge, own);
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
    /// Builds an entry in `slot`, an empty one (moved from, or new). In place: an entry built
    /// first and then moved in reads back its new handle as one 16-byte load just after it
    /// was written as two words, a store-forwarding stall (perf: ~1% of a W0 step).
    static void place(Entry& slot, std::uint64_t depth, Node* node,
                      const std::shared_ptr<Node>* edge, bool own) {
        slot.depth = depth;
        slot.node = node;
        slot.edge = edge;
        if (own) slot.owned = *edge;
    }

    SmallVector<Entry, 32> heap_;  // as wide as most graphs get: no allocation
    SmallVector<Entry, 16> leaves_;  // depth 0, run last
    Entry next_{};
    bool has_next_ = false;
};

}  // namespace detail

}  // namespace xgrad
