#include "tools.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>

namespace xgrad::examples {

namespace {

/// `text` in single quotes for /bin/sh.
std::string shell_quote(const std::string& text) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

void check_status(int status, const std::string& what) {
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error(what + " failed (exit status " +
                                 std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : status) + ")");
    }
}

}  // namespace

bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::istringstream directories(path ? path : "");
    for (std::string directory; std::getline(directories, directory, ':');) {
        const std::filesystem::path candidate = std::filesystem::path(directory.empty() ? "." : directory) / program;
        if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate)) return true;
    }
    return false;
}

bool run_gnuplot(const std::string& script) {
    if (!on_path("gnuplot")) return false;
    std::FILE* pipe = ::popen("gnuplot", "w");
    if (pipe == nullptr) throw std::runtime_error("gnuplot could not be started");
    std::fputs(script.c_str(), pipe);
    check_status(::pclose(pipe), "gnuplot");
    return true;
}

bool render_dot(const std::string& dot_file, const std::string& output) {
    if (!on_path("dot")) return false;
    const std::string format = std::filesystem::path(output).extension().string().substr(1);
    const std::string command = "dot -T" + shell_quote(format) + " " + shell_quote(dot_file) + " -o " +
                                shell_quote(output);
    check_status(std::system(command.c_str()), "dot");
    return true;
}

}  // namespace xgrad::examples
