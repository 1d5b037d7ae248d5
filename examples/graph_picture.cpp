// A picture of the graph autograd records: a one-hidden-layer network on a mini-batch,
// its loss, and after backward the gradients of the weights. Writes graph.dot and, when
// Graphviz is installed, graph.svg and graph.png.

#include <filesystem>
#include <fstream>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <nn/nn.hpp>

#include "support/tools.hpp"

using namespace xgrad;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
    std::string output_dir = ".";
    bool values = true;
    CLI::App app("Writes the recorded graph of a small network's loss as Graphviz DOT (and SVG/PNG)");
    app.add_option("--output-dir", output_dir, "where graph.dot, graph.svg and graph.png go")->capture_default_str();
    app.add_flag("!--no-values", values, "show only op names and shapes, no values or gradients");
    CLI11_PARSE(app, argc, argv);
    fs::create_directories(output_dir);

    Generator generator(0);
    const Tensor inputs = randn({4, 3}, generator);
    const Labels labels = {0, 1, 1, 0};
    nn::Linear hidden(3, 5, generator), output(5, 2, generator);
    const Tensor logits = output(relu(hidden(inputs)));
    const Tensor loss = nn::cross_entropy(logits, labels);
    loss.backward();

    DotOptions options;
    options.values = options.gradients = values;
    const fs::path dot = fs::path(output_dir) / "graph.dot";
    std::ofstream(dot) << to_dot(loss, {{"W1", hidden.weight()}, {"b1", hidden.bias()}, {"W2", output.weight()},
                                        {"b2", output.bias()}, {"logits", logits}, {"loss", loss}}, options);
    fmt::print("loss = {:.6f}\nwrote {}\n", loss.item(), dot.string());
    for (const char* format : {"svg", "png"}) {
        const fs::path picture = fs::path(output_dir) / fmt::format("graph.{}", format);
        if (!examples::render_dot(dot.string(), picture.string())) {
            fmt::print("Graphviz not found: apt-get install graphviz, then dot -Tsvg {} -o graph.svg\n", dot.string());
            break;
        }
        fmt::print("wrote {}\n", picture.string());
    }
}
