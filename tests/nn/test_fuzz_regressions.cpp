// Replays the fuzz targets' seed corpus (fuzz/corpus/<target>) and every input a fuzzer found
// to crash (fuzz/regressions/<target>) through the same code as the fuzz targets
// (fuzz/targets.hpp): each must be read or rejected with the documented exception, nothing else.

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include <fuzz/targets.hpp>

#include "support/check.hpp"
#include "support/temp_dir.hpp"

using namespace xgrad;
namespace fs = std::filesystem;

namespace {

using Target = void (*)(const std::string&, const std::uint8_t*, std::size_t);

/// Runs `target` on every file under fuzz/{corpus,regressions}/<name>; returns how many.
int replay(const std::string& name, Target target) {
    const char* root = std::getenv("XGRAD_SOURCE_DIR");
    REQUIRE_MESSAGE(root != nullptr, "run through meson test, which sets XGRAD_SOURCE_DIR");
    testing::TempDir dir;
    int count = 0;
    for (const char* kind : {"corpus", "regressions"}) {
        const fs::path inputs = fs::path(root) / "fuzz" / kind / name;
        if (!fs::is_directory(inputs)) continue;
        for (const auto& entry : fs::directory_iterator(inputs)) {
            const std::string bytes = testing::read_bytes(entry.path());
            INFO("input " << entry.path());
            CHECK_NOTHROW(target(dir.file("input"), reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                 bytes.size()));
            ++count;
        }
    }
    return count;
}

}  // namespace

TEST_CASE("the checkpoint fuzz inputs are read or rejected with checkpoint_error") {
    CHECK(replay("checkpoint", fuzz::checkpoint_input) >= 3);
}

TEST_CASE("the IDX fuzz inputs are read or rejected with value_error") {
    CHECK(replay("idx", fuzz::idx_input) >= 8);
}
