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

    bool empty() const { return !has_next_ && heap_.empty(); }

    void push(Entry entry) {
        if (!has_next_) {
            if (heap_.empty() || entry.depth >= heap_[0].depth) {
                next_ = std::move(entry);
                has_next_ = true;
                return;
            }
        } else if (entry.depth > next_.depth) {
            std::swap(entry, next_);  // the new entry is the deepest; the old one joins the heap
        }
        heap_.push_back(std::move(entry));
        std::push_heap(heap_.begin(), heap_.end());
    }

    Entry pop() {
        if (has_next_) {
            has_next_ = false;
            return std::move(next_);
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
    }

private:
    SmallVector<Entry, 32> heap_;  // as wide as most graphs get: no allocation
    Entry next_{};
    bool has_next_ = false;
};

}  // namespace detail

}  // namespace xgrad
