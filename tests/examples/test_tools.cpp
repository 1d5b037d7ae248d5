// The examples' optional-program helpers: PATH lookup, and what happens without the programs.

#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "support/temp_dir.hpp"
#include "support/tools.hpp"

using namespace xgrad::examples;
using xgrad::testing::TempDir;

namespace {

/// Sets $PATH for its lifetime.
class PathGuard {
public:
    explicit PathGuard(const std::string& path) : saved_(std::getenv("PATH") ? std::getenv("PATH") : "") {
        ::setenv("PATH", path.c_str(), 1);
    }
    ~PathGuard() { ::setenv("PATH", saved_.c_str(), 1); }

private:
    std::string saved_;
};

}  // namespace

TEST_CASE("on_path finds executables in $PATH and nothing else") {
    CHECK(on_path("sh"));
    CHECK_FALSE(on_path("xgrad-no-such-program"));
    TempDir dir;
    dir.write("plain-file", "not executable");
    PathGuard path(dir.path().string());
    CHECK_FALSE(on_path("plain-file"));
    CHECK_FALSE(on_path("sh"));
}

TEST_CASE("without gnuplot or dot the helpers return false and write nothing") {
    TempDir dir;
    const std::string dot_file = dir.write("g.dot", "digraph { a -> b; }\n");
    PathGuard path(dir.path().string());
    CHECK_FALSE(run_gnuplot("plot x\n"));
    CHECK_FALSE(render_dot(dot_file, dir.file("g.svg")));
    CHECK_FALSE(std::filesystem::exists(dir.file("g.svg")));
}

TEST_CASE("render_dot renders a graph, and a broken one is a runtime_error") {
    if (!on_path("dot")) {
        MESSAGE("Graphviz is not installed; rendering not checked");
        return;
    }
    TempDir dir;
    CHECK(render_dot(dir.write("g.dot", "digraph { a -> b; }\n"), dir.file("g.svg")));
    CHECK(xgrad::testing::read_bytes(dir.file("g.svg")).find("<svg") != std::string::npos);
    CHECK_THROWS_AS(render_dot(dir.write("bad.dot", "digraph { a -> ; }\n"), dir.file("bad.svg")), std::runtime_error);
}
