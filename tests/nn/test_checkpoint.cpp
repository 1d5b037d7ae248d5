#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <nn/checkpoint.hpp>

#include "support/temp_dir.hpp"

using namespace xgrad;
using namespace xgrad::nn;
using xgrad::testing::read_bytes;
using xgrad::testing::TempDir;
namespace fs = std::filesystem;

namespace {

void write_bytes(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

/// Bitwise CRC-32 (reflected 0xEDB88320), written independently of zlib.
std::uint32_t reference_crc32(const std::string& bytes) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (const char c : bytes) {
        crc ^= static_cast<unsigned char>(c);
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

void put_le(std::string& out, std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

/// `body` followed by its CRC, as a writer would seal it.
std::string sealed(const std::string& body) {
    std::string file = body;
    put_le(file, reference_crc32(body), 4);
    return file;
}

/// A file with a valid magic and version, `count` tensors, then `records`, CRC-sealed.
std::string forged(std::uint64_t count, const std::string& records, std::uint32_t version = 1) {
    std::string body("\x89XGCKPT\n", 8);
    put_le(body, version, 4);
    put_le(body, count, 8);
    return sealed(body + records);
}

bool same_bits(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    return visit(a, [&b](const auto& x) {
        using T = typename std::decay_t<decltype(x)>::value_type;
        return x.size() == 0 || std::memcmp(x.data(), b.value<T>().data(), x.size() * sizeof(T)) == 0;
    });
}

/// Deep copies of the tensors and their versions, to show a failed load changed nothing.
struct Snapshot {
    explicit Snapshot(const NamedTensors& tensors) : tensors_(tensors) {
        for (const auto& [name, tensor] : tensors) {
            copies_.push_back(tensor.clone());
            versions_.push_back(tensor.version());
        }
    }
    bool unchanged() const {
        for (std::size_t i = 0; i < tensors_.size(); ++i) {
            if (!same_bits(tensors_[i].second, copies_[i]) || tensors_[i].second.version() != versions_[i])
                return false;
        }
        return true;
    }

private:
    NamedTensors tensors_;
    std::vector<Tensor> copies_;
    std::vector<std::uint64_t> versions_;
};

/// The problems of a load that must fail; checks the message names the path and every problem.
std::vector<std::string> load_problems(const fs::path& path, const NamedTensors& parameters,
                                       const NamedTensors* state = nullptr) {
    try {
        load_checkpoint(path, parameters, state);
    } catch (const checkpoint_error& error) {
        const std::string message = error.what();
        CHECK(message.find(path.string()) != std::string::npos);
        CHECK(error.path() == path);
        for (const auto& problem : error.problems()) CHECK(message.find(problem) != std::string::npos);
        return error.problems();
    }
    FAIL("load_checkpoint('" << path.string() << "') did not throw");
    return {};
}

bool any_contains(const std::vector<std::string>& problems, const std::string& text) {
    for (const auto& problem : problems) {
        if (problem.find(text) != std::string::npos) return true;
    }
    return false;
}

/// Random tensors of both dtypes, including a scalar and empty tensors.
NamedTensors sample_tensors(std::uint64_t seed) {
    Generator generator(seed);
    return {{"dense.weight", randn({3, 4}, generator, Dtype::float32)},
            {"dense.bias", randn({4}, generator, Dtype::float64)},
            {"scale", randn({}, generator, Dtype::float32)},
            {"offset", randn({}, generator, Dtype::float64)},
            {"empty", zeros({0, 3}, Dtype::float32)},
            {"empty64", zeros({2, 0, 2}, Dtype::float64)},
            {"cube", randn({2, 3, 2}, generator, Dtype::float64)}};
}

/// The same names, dtypes and shapes, filled with zeros.
NamedTensors zeros_like_all(const NamedTensors& tensors) {
    NamedTensors result;
    for (const auto& [name, tensor] : tensors) result.emplace_back(name, zeros_like(tensor));
    return result;
}

class TinyNet : public Module {
public:
    explicit TinyNet(std::uint64_t seed) {
        Generator generator(seed);
        weight = register_parameter("weight", randn({3, 2}, generator));
        bias = register_parameter("bias", randn({2}, generator));
        gain = register_parameter("gain", randn({}, generator, Dtype::float64));
    }
    Tensor forward(const Tensor& input) override { return input; }
    Tensor weight, bias, gain;
};

}  // namespace

TEST_CASE("round trip is bit-exact in float32 and float64, scalars and empty tensors included") {
    TempDir dir;
    const fs::path path = dir.path() / "model.ckpt";
    NamedTensors source = sample_tensors(1);
    source.emplace_back("special", Tensor(xt::xarray<float>{std::numeric_limits<float>::quiet_NaN(), -0.0f,
                                                            std::numeric_limits<float>::infinity(),
                                                            std::numeric_limits<float>::denorm_min()}));
    save_checkpoint(path, source);

    const Checkpoint read = read_checkpoint(path);
    REQUIRE(read.parameters.size() == source.size());
    CHECK(read.optimizer_state.empty());
    for (std::size_t i = 0; i < source.size(); ++i) {
        CHECK(read.parameters[i].first == source[i].first);
        CHECK(same_bits(read.parameters[i].second, source[i].second));
        CHECK_FALSE(read.parameters[i].second.requires_grad());
    }

    const NamedTensors targets = zeros_like_all(source);
    load_checkpoint(path, targets);
    for (std::size_t i = 0; i < source.size(); ++i) CHECK(same_bits(targets[i].second, source[i].second));
}

TEST_CASE("loading into a module changes its parameters in place, so held handles see the values") {
    TempDir dir;
    const fs::path path = dir.path() / "net.ckpt";
    TinyNet trained(7), fresh(8);
    save_checkpoint(path, trained);
    const Tensor held = fresh.weight;  // e.g. an optimiser's handle
    const auto version = held.version();
    CHECK_FALSE(same_bits(held, trained.weight));
    load_checkpoint(path, fresh);
    CHECK(same_bits(held, trained.weight));
    CHECK(same_bits(fresh.bias, trained.bias));
    CHECK(same_bits(fresh.gain, trained.gain));
    CHECK(held.version() > version);
    CHECK(fresh.weight.requires_grad());
}

TEST_CASE("optimiser state round trips and is loaded only when asked for") {
    TempDir dir;
    const fs::path path = dir.path() / "train.ckpt";
    TinyNet net(1);
    Generator generator(3);
    const NamedTensors state = {{"step", scalar(42, Dtype::float64)},
                                {"m.weight", randn({3, 2}, generator)},
                                {"v.weight", rand({3, 2}, generator)},
                                {"weight", randn({5}, generator)}};  // same name as a parameter
    save_checkpoint(path, net, state);

    const Checkpoint read = read_checkpoint(path);
    REQUIRE(read.optimizer_state.size() == state.size());
    for (std::size_t i = 0; i < state.size(); ++i) {
        CHECK(read.optimizer_state[i].first == state[i].first);
        CHECK(same_bits(read.optimizer_state[i].second, state[i].second));
    }

    TinyNet other(2);
    const NamedTensors loaded_state = zeros_like_all(state);
    load_checkpoint(path, other, &loaded_state);
    CHECK(same_bits(other.weight, net.weight));
    for (std::size_t i = 0; i < state.size(); ++i) CHECK(same_bits(loaded_state[i].second, state[i].second));

    TinyNet weights_only(4);
    load_checkpoint(path, weights_only);  // the file's state is ignored
    CHECK(same_bits(weights_only.bias, net.bias));

    save_checkpoint(path, net);  // no state in the file now
    const auto problems = load_problems(path, other.named_parameters(), &loaded_state);
    CHECK(problems.size() == state.size());
    CHECK(any_contains(problems, "missing optimizer state 'm.weight' (float32 (3, 2))"));
}

TEST_CASE("the file follows the documented layout, ending in the standard CRC-32") {
    TempDir dir;
    const fs::path path = dir.path() / "one.ckpt";
    save_checkpoint(path, {{"w", scalar(1.0)}}, {{"t", zeros({0, 2}, Dtype::float64)}});
    std::string body("\x89XGCKPT\n", 8);
    put_le(body, 1, 4);  // version
    put_le(body, 2, 8);  // count
    body += std::string("\x00\x01\x00\x00\x00w\x01\x00\x00\x00\x00", 11) + std::string("\x00\x00\x80\x3f", 4);
    body += std::string("\x01\x01\x00\x00\x00t\x02\x02\x00\x00\x00", 11);
    put_le(body, 0, 8);
    put_le(body, 2, 8);
    CHECK(read_bytes(path) == sealed(body));
}

TEST_CASE("a file cut at any point is rejected and the targets are untouched") {
    TempDir dir;
    const fs::path good = dir.path() / "good.ckpt", cut = dir.path() / "cut.ckpt";
    const NamedTensors source = sample_tensors(2);
    save_checkpoint(good, source);
    const std::string bytes = read_bytes(good);
    const NamedTensors targets = zeros_like_all(source);
    const Snapshot before(targets);
    for (std::size_t length = 0; length < bytes.size(); ++length) {
        CAPTURE(length);
        write_bytes(cut, bytes.substr(0, length));
        const auto problems = load_problems(cut, targets);
        CHECK(any_contains(problems, "truncated"));
        CHECK(before.unchanged());
    }
}

TEST_CASE("a single flipped bit anywhere is detected") {
    TempDir dir;
    const fs::path good = dir.path() / "good.ckpt", flipped = dir.path() / "flipped.ckpt";
    const NamedTensors source = sample_tensors(3);
    save_checkpoint(good, source);
    const std::string bytes = read_bytes(good);
    const NamedTensors targets = zeros_like_all(source);
    const Snapshot before(targets);
    for (std::size_t offset = 0; offset < bytes.size(); ++offset) {
        CAPTURE(offset);
        std::string corrupt = bytes;
        corrupt[offset] = static_cast<char>(corrupt[offset] ^ (1 << (offset % 8)));
        write_bytes(flipped, corrupt);
        const auto problems = load_problems(flipped, targets);
        const char* expected = offset < 8    ? "magic"
                               : offset < 12 ? "unsupported format version"
                                             : "CRC mismatch";
        CHECK(any_contains(problems, expected));
        CHECK(before.unchanged());
    }
}

TEST_CASE("other magic bytes and other versions are named as such") {
    TempDir dir;
    const fs::path path = dir.path() / "odd.ckpt";
    const NamedTensors targets = {{"w", zeros({2})}};
    write_bytes(path, std::string("\x93NUMPY\x01\x00", 8) + std::string(40, ' '));
    auto problems = load_problems(path, targets);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] ==
          "not an xgrad checkpoint: magic bytes are 93 4e 55 4d 50 59 01 00, "
          "expected 89 58 47 43 4b 50 54 0a");

    write_bytes(path, forged(0, "", 2));
    problems = load_problems(path, targets);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == "unsupported format version 2 (this build reads version 1)");
    CHECK_THROWS_AS(read_checkpoint(path), checkpoint_error);
}

TEST_CASE("forged counts, lengths, ranks and extents are rejected before any allocation") {
    TempDir dir;
    const fs::path path = dir.path() / "forged.ckpt";
    const auto record = [](std::uint64_t name_length, std::uint64_t rank, std::vector<std::uint64_t> extents) {
        std::string bytes(1, '\0');
        put_le(bytes, name_length, 4);
        bytes += "w";
        bytes += '\x02';  // float64
        put_le(bytes, rank, 4);
        for (const auto extent : extents) put_le(bytes, extent, 8);
        return bytes;
    };
    const std::vector<std::pair<std::string, std::string>> cases = {
        {forged(std::uint64_t{1} << 62, record(1, 0, {})), "tensor count 4611686018427387904 cannot fit"},
        {forged(1, record(std::uint64_t{1} << 31, 0, {})), "name length 2147483648 is outside 1..4096"},
        {forged(1, record(1, 1000, {})), "rank 1000 is more than 32"},
        {forged(1, record(1, 2, {1u << 20, 1u << 20})),
         "data (1048576, 1048576) needs 8796093022208 bytes at offset 47"},
        {forged(1, record(1, 2, {std::uint64_t{1} << 40, std::uint64_t{1} << 40})), "extents overflow"},
        {forged(1, record(1, 2, {0, std::uint64_t{1} << 61})), "extents overflow"},
        {forged(1, record(1, 1, {std::uint64_t{1} << 36})),
         "needs 549755813888 bytes at offset 39, but only 0 remain"},
        {forged(2, record(1, 0, {}) + std::string(8, '\0') + record(1, 0, {}) + std::string(8, '\0')),
         "duplicate parameter name"},
        {forged(1, record(1, 0, {}) + std::string(9, '\0')), "1 unexpected bytes after the last record"},
    };
    for (const auto& [bytes, expected] : cases) {
        const auto& problem = expected;  // CAPTURE's lambda cannot capture a binding in clang 14
        CAPTURE(problem);
        write_bytes(path, bytes);
        const auto problems = load_problems(path, {{"w", scalar(0.0, Dtype::float64)}});
        CHECK(any_contains(problems, expected));
        CHECK_FALSE(any_contains(problems, "CRC mismatch"));
    }
}

TEST_CASE("wrong shapes, wrong dtypes, missing and unexpected names are all listed in one error") {
    TempDir dir;
    const fs::path path = dir.path() / "model.ckpt";
    Generator generator(5);
    save_checkpoint(path, {{"w", randn({3, 2}, generator)},
                           {"b", randn({2}, generator)},
                           {"ok", randn({2}, generator)},
                           {"extra", randn({1}, generator)},
                           {"also_extra", randn({1}, generator)}});
    const NamedTensors targets = {
        {"w", zeros({2, 3})}, {"b", zeros({2}, Dtype::float64)}, {"ok", zeros({2})}, {"gone", zeros({4})}};
    const Snapshot before(targets);
    const auto problems = load_problems(path, targets);
    CHECK(problems == std::vector<std::string>{
                          "parameter 'w': shape (3, 2) in the file, (2, 3) in the target",
                          "parameter 'b': dtype float32 in the file, float64 in the target",
                          "missing parameter 'gone' (float32 (4,))",
                          "unexpected parameter 'extra' (float32 (1,))",
                          "unexpected parameter 'also_extra' (float32 (1,))",
                      });
    CHECK(before.unchanged());  // 'ok' matched, yet nothing was loaded
}

TEST_CASE("a missing file names the path") {
    TempDir dir;
    const fs::path path = dir.path() / "absent.ckpt";
    const auto problems = load_problems(path, {});
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == "cannot open: No such file or directory");
    CHECK_THROWS_WITH_AS(read_checkpoint(path), doctest::Contains(path.string().c_str()), checkpoint_error);
    CHECK_THROWS_WITH_AS(load_checkpoint(dir.path(), NamedTensors{}), doctest::Contains("cannot read"),
                         checkpoint_error);
}

TEST_CASE("saving replaces the file atomically and never leaves a temporary file") {
    TempDir dir;
    const fs::path path = dir.path() / "model.ckpt";
    TinyNet first(1), second(2);
    save_checkpoint(path, first);
    save_checkpoint(path, second);
    CHECK(dir.entries() == std::vector<std::string>{"model.ckpt"});
    CHECK(same_bits(read_checkpoint(path).parameters[0].second, second.weight));

    // Invalid input is refused before the disk is touched; the old file survives.
    CHECK_THROWS_WITH_AS(save_checkpoint(path, {{"w", Tensor()}, {"w", zeros({1})}, {"", zeros({1})}}),
                         doctest::Contains("3 problems:\n  - parameter 'w' is undefined\n"
                                           "  - duplicate parameter 'w'\n  - parameter #2 has an empty name"),
                         checkpoint_error);
    CHECK(same_bits(read_checkpoint(path).parameters[0].second, second.weight));

    // A rename that fails (the target is a directory) removes the temporary file.
    const fs::path blocked = dir.path() / "blocked";
    fs::create_directory(blocked);
    CHECK_THROWS_WITH_AS(save_checkpoint(blocked, first), doctest::Contains(blocked.string().c_str()),
                         checkpoint_error);
    CHECK(dir.entries().size() == 2);

    const fs::path nowhere = dir.path() / "no" / "such" / "dir.ckpt";
    CHECK_THROWS_WITH_AS(save_checkpoint(nowhere, first), doctest::Contains(nowhere.string().c_str()),
                         checkpoint_error);
    CHECK(dir.entries().size() == 2);
}
