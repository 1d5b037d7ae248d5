#include "atomic_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#if __has_include(<unistd.h>)
#include <unistd.h>
#define XGRAD_HAVE_FSYNC 1
#endif

namespace xgrad::nn {

io_error::io_error(const std::string& operation, std::filesystem::path path, const std::string& problem)
    : std::runtime_error(operation + ": '" + path.string() + "': " + problem),
      path_(std::move(path)),
      problem_(problem) {}

io_error::io_error(std::filesystem::path path, std::string problem, const std::string& what)
    : std::runtime_error(what), path_(std::move(path)), problem_(std::move(problem)) {}

void detail::write_atomically(const std::filesystem::path& path, const std::string& operation,
                              const std::function<void(const ByteSink& sink)>& produce) {
    std::random_device entropy;
    std::filesystem::path temporary;
    std::FILE* file = nullptr;
    int open_errno = 0;
    for (int attempt = 0; attempt < 8 && file == nullptr; ++attempt) {
        char suffix[32];
        std::snprintf(suffix, sizeof suffix, ".tmp-%08x%08x", entropy(), entropy());
        temporary = path;
        temporary += suffix;
        file = std::fopen(temporary.c_str(), "wbx");  // x: fail rather than reuse an existing file
        open_errno = errno;
        if (file == nullptr && open_errno != EEXIST) break;
    }
    if (file == nullptr)
        throw io_error(
            operation, path,
            "cannot create temporary file '" + temporary.string() + "': " + std::strerror(open_errno));
    const auto failure = [&](const char* step) {
        return io_error(operation, path,
                        std::string(step) + " '" + temporary.string() + "' failed: " + std::strerror(errno));
    };
    try {
        const ByteSink sink = [&](const void* data, std::size_t size) {
            if (size != 0 && std::fwrite(data, 1, size, file) != size) throw failure("writing");
        };
        produce(sink);
        if (std::fflush(file) != 0) throw failure("flushing");
#ifdef XGRAD_HAVE_FSYNC
        if (::fsync(::fileno(file)) != 0) throw failure("syncing");
#endif
        const int closed = std::fclose(file);
        file = nullptr;
        if (closed != 0) throw failure("closing");
        std::error_code error;
        std::filesystem::rename(temporary, path, error);
        if (error)
            throw io_error(operation, path,
                           "renaming '" + temporary.string() + "' over it failed: " + error.message());
    } catch (...) {
        if (file != nullptr) std::fclose(file);
        std::error_code ignored;
        std::filesystem::remove(temporary, ignored);
        throw;
    }
}

}  // namespace xgrad::nn
