#pragma once
/// Optional programs the examples use when they are installed: gnuplot (plots), dot (graphs).

#include <string>

namespace xgrad::examples {

/// True if `program` names an executable file in a directory of $PATH.
bool on_path(const std::string& program);

/// Feeds `script` to gnuplot. Returns false, doing nothing, if gnuplot is not installed;
/// throws std::runtime_error with gnuplot's exit status if it fails.
bool run_gnuplot(const std::string& script);

/// Renders a DOT file with Graphviz's `dot` to `output`, in the format its extension names
/// (svg, png, pdf). Returns false if dot is not installed; throws std::runtime_error if it fails.
bool render_dot(const std::string& dot_file, const std::string& output);

}  // namespace xgrad::examples
