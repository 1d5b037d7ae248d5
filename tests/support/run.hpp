#pragma once
// Runs a program (an example) and captures what it prints, for tests that check its figures.

#include <doctest/doctest.h>

#include <stdio.h>
#include <sys/wait.h>

#include <regex>
#include <string>
#include <vector>

namespace xgrad::testing {

struct RunResult {
    int exit_code = -1;
    std::string output;  ///< stdout and stderr, interleaved
};

/// Runs `command` through /bin/sh with stderr joined to stdout.
inline RunResult run(const std::string& command) {
    RunResult result;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[4096];
    while (const std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) result.output.append(buffer, got);
    const int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

/// The numbers captured by the first group of every match of `pattern` in `text`.
inline std::vector<double> numbers_after(const std::string& text, const std::string& pattern) {
    std::vector<double> numbers;
    const std::regex re(pattern);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
        numbers.push_back(std::stod((*it)[1].str()));
    return numbers;
}

/// The number captured by the first group of the single match of `pattern` (fails if none).
inline double number_after(const std::string& text, const std::string& pattern) {
    const std::vector<double> numbers = numbers_after(text, pattern);
    REQUIRE_MESSAGE(numbers.size() == 1, "'" << pattern << "' matched " << numbers.size() << " times in:\n" << text);
    return numbers[0];
}

}  // namespace xgrad::testing
