#include "graphviz.hpp"

#include <iomanip>
#include <ostream>
#include <sstream>
#include <unordered_map>

#include "node.hpp"

namespace xgrad {

namespace {

/// The labels that name one graph node.
using Names = std::vector<const DotLabels::value_type*>;

/// `text` inside a DOT double-quoted string; "\n" becomes a centred line break.
std::string escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

/// "[0.5, -1, ...] (12 values)", at most `max_elements` of them.
std::string values_str(const Tensor& tensor, const DotOptions& options) {
    std::ostringstream out;
    out << std::setprecision(options.precision) << '[';
    visit(tensor, [&](const auto& array) {
        const std::size_t shown = std::min(array.size(), options.max_elements);
        for (std::size_t i = 0; i < shown; ++i) out << (i ? ", " : "") << array.data()[i];
        if (shown < array.size()) out << ", ...";
    });
    out << ']';
    if (tensor.size() > options.max_elements) out << " (" << tensor.size() << " values)";
    return out.str();
}

std::string node_label(const Node& node, const Names& names, const DotOptions& options) {
    std::string label;
    for (const auto* named : names) label += named->first + " = ";
    label += node.is_leaf() ? "leaf" : node.name();
    label += "\n" + shape_str(node.shape()) + " " + dtype_name(node.dtype());
    for (const auto* named : names) {
        if (options.values) label += "\nvalue " + values_str(named->second, options);
        const Tensor grad = named->second.grad();
        if (options.gradients && grad.defined()) label += "\ngrad " + values_str(grad, options);
    }
    return label;
}

}  // namespace

void write_dot(std::ostream& out, const Tensor& root, const DotLabels& labels, const DotOptions& options) {
    if (!root.defined() || !root.node()) {
        throw graph_error("to_dot: the tensor has no recorded graph (shape " +
                          (root.defined() ? shape_str(root.shape()) : std::string("undefined")) +
                          "; it does not require grad)");
    }
    std::unordered_map<const Node*, Names> names;
    for (const auto& named : labels) {
        if (named.second.defined() && named.second.node()) names[named.second.node().get()].push_back(&named);
    }

    // Depth-first with an explicit stack; ids in discovery order, the root first.
    std::unordered_map<const Node*, std::size_t> ids;
    std::vector<const Node*> stack{root.node().get()};
    ids.emplace(stack.back(), 0);
    std::ostringstream nodes, edges;
    while (!stack.empty()) {
        const Node* node = stack.back();
        stack.pop_back();
        const std::size_t id = ids.at(node);
        const auto found = names.find(node);
        const std::string label = node_label(*node, found == names.end() ? Names{} : found->second, options);
        nodes << "  n" << id << " [label=\"" << escape(label) << "\""
              << (node->is_leaf() ? ", shape=ellipse" : ", shape=box")
              << (id == 0 ? ", style=bold" : "") << "];\n";
        for (const auto& input : node->inputs()) {
            if (!input) continue;
            const auto [position, inserted] = ids.emplace(input.get(), ids.size());
            if (inserted) stack.push_back(input.get());
            edges << "  n" << position->second << " -> n" << id << ";\n";
        }
    }
    out << "digraph xgrad {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
        << nodes.str() << edges.str() << "}\n";
}

std::string to_dot(const Tensor& root, const DotLabels& labels, const DotOptions& options) {
    std::ostringstream out;
    write_dot(out, root, labels, options);
    return out.str();
}

}  // namespace xgrad
