#pragma once
/// Pictures of the recorded graph in Graphviz DOT: `dot -Tsvg graph.dot -o graph.svg`.

#include <cstddef>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "tensor.hpp"

namespace xgrad {

/// Tensors to name in the picture: each labels the graph node that produced it (a leaf or
/// an operation), and is the tensor whose value and gradient are shown there.
using DotLabels = std::vector<std::pair<std::string, Tensor>>;

struct DotOptions {
    bool values = false;            ///< show the values of the labelled tensors
    bool gradients = false;         ///< show the accumulated .grad of labelled tensors that have one
    std::size_t max_elements = 6;   ///< values shown per tensor before "..."
    int precision = 4;              ///< significant digits of shown values
};

/// The graph that produced `root`, as a DOT digraph: one box per operation (its name, shape
/// and dtype), one ellipse per leaf, an edge from each input to its consumer, the root in
/// bold. Inputs that need no gradient are not part of the graph and are not drawn. Throws
/// graph_error if `root` has no graph (it does not require grad).
std::string to_dot(const Tensor& root, const DotLabels& labels = {}, const DotOptions& options = {});
/// The same, written to `out`.
void write_dot(std::ostream& out, const Tensor& root, const DotLabels& labels = {},
               const DotOptions& options = {});

}  // namespace xgrad
