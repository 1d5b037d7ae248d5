#pragma once
/// Files written all-or-nothing: through a temporary in the same directory, renamed into place.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

namespace xgrad::nn {

/// A file that cannot be opened, read, written or renamed; what() names operation and path.
class io_error : public std::runtime_error {
public:
    /// what() is "<operation>: '<path>': <problem>".
    io_error(const std::string& operation, std::filesystem::path path, const std::string& problem);
    /// The file the operation was about.
    const std::filesystem::path& path() const { return path_; }
    /// What went wrong, without the operation and path.
    const std::string& problem() const { return problem_; }

protected:
    /// For subclasses that format what() themselves.
    io_error(std::filesystem::path path, std::string problem, const std::string& what);

private:
    std::filesystem::path path_;
    std::string problem_;
};

namespace detail {

/// Receives the bytes of a file being written; throws io_error if they cannot be written.
using ByteSink = std::function<void(const void* data, std::size_t size)>;

/// Calls `produce(sink)` to write `path` through a uniquely named temporary in the same
/// directory, then flushes, syncs, closes and renames it over `path`. On any failure or
/// exception the temporary is removed; failures throw io_error naming `operation`.
void write_atomically(const std::filesystem::path& path, const std::string& operation,
                      const std::function<void(const ByteSink& sink)>& produce);

}  // namespace detail

}  // namespace xgrad::nn
