#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nn/npy.hpp>

#include "support/temp_dir.hpp"

using namespace xgrad;
using namespace xgrad::nn;
using xgrad::testing::read_bytes;
using xgrad::testing::TempDir;
namespace fs = std::filesystem;

namespace {

/// The tensor's elements as little-endian bytes, row-major, whatever the host's byte order.
std::string le_bytes(const Tensor& tensor) {
    return visit(tensor, [](const auto& array) {
        using T = typename std::decay_t<decltype(array)>::value_type;
        using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
        std::string out;
        for (const T value : array) {
            Bits bits;
            std::memcpy(&bits, &value, sizeof(T));
            for (std::size_t i = 0; i < sizeof(T); ++i)
                out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
        }
        return out;
    });
}

/// What a strict reader of save_npy's output finds in a file.
struct NpyFile {
    std::size_t header_length = 0;  // the dict, padding and '\n'
    std::string descr;
    Shape shape;
    std::string data;
};

/// Parses .npy 1.0 as save_npy writes it, checking every length before using it.
NpyFile parse_npy(const std::string& bytes) {
    NpyFile file;
    REQUIRE(bytes.size() >= 10);
    REQUIRE(bytes.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) == 0);
    file.header_length = static_cast<unsigned char>(bytes[8]) |
                         static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8;
    REQUIRE(10 + file.header_length <= bytes.size());
    const std::string header = bytes.substr(10, file.header_length);
    const std::string before_descr = "{'descr': '", before_shape = "', 'fortran_order': False, 'shape': (";
    REQUIRE(header.compare(0, before_descr.size(), before_descr) == 0);
    file.descr = header.substr(before_descr.size(), 3);
    const std::size_t shape_start = before_descr.size() + 3 + before_shape.size();
    REQUIRE(header.compare(before_descr.size() + 3, before_shape.size(), before_shape) == 0);
    const std::size_t shape_end = header.find(')', shape_start);
    REQUIRE(shape_end != std::string::npos);
    std::istringstream extents(header.substr(shape_start, shape_end - shape_start));
    for (std::size_t extent; extents >> extent; extents.ignore(1)) file.shape.push_back(extent);
    REQUIRE(header.compare(shape_end, 4, "), }") == 0);
    REQUIRE(header.back() == '\n');
    CHECK(header.find_first_not_of(' ', shape_end + 4) == header.size() - 1);
    file.data = bytes.substr(10 + file.header_length);
    return file;
}

}  // namespace

TEST_CASE("a (2, 3) float32 tensor has the exact NumPy 1.0 header and its bytes start at 128") {
    TempDir dir;
    const fs::path path = dir.path() / "matrix.npy";
    const Tensor matrix({{1.5, -2, 3}, {4, 5, 6.25}});
    save_npy(path, matrix);
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const std::string header =
        std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict + std::string(58, ' ') + "\n";
    REQUIRE(header.size() == 128);
    const std::string bytes = read_bytes(path);
    CHECK(bytes.substr(0, 128) == header);
    CHECK(bytes.substr(128) == le_bytes(matrix));
    CHECK(bytes.substr(128, 4) == std::string("\x00\x00\xc0\x3f", 4));  // 1.5f
    CHECK(npy_header(matrix) == header);
    CHECK(dir.entries().size() == 1);  // no temporary file left behind
}

TEST_CASE("shapes are written as Python tuples, dtypes as <f4 / <f8, data aligned to 64 bytes") {
    TempDir dir;
    Generator generator(11);
    struct Case {
        Tensor tensor;
        const char* descr;
    };
    const std::vector<Case> cases = {
        {scalar(3.5), "<f4"},
        {randn({1}, generator, Dtype::float64), "<f8"},
        {randn({4}, generator), "<f4"},
        {zeros({0, 3}, Dtype::float64), "<f8"},
        {randn({2, 3, 4, 5}, generator, Dtype::float64), "<f8"},
    };
    for (const auto& [tensor, descr] : cases) {
        const std::string shape = shape_str(tensor.shape());  // clang 14: no binding in CAPTURE
        CAPTURE(shape);
        const fs::path path = dir.path() / "tensor.npy";
        save_npy(path, tensor);
        const std::string bytes = read_bytes(path);
        const NpyFile file = parse_npy(bytes);
        CHECK(file.descr == descr);
        CHECK(file.shape == tensor.shape());
        CHECK((10 + file.header_length) % 64 == 0);
        CHECK(file.data == le_bytes(tensor));
        CHECK(bytes.compare(0, 10 + file.header_length, npy_header(tensor)) == 0);
    }
    CHECK(npy_header(scalar(1.0)).find("'shape': (), }") != std::string::npos);
    CHECK(npy_header(zeros({7})).find("'shape': (7,), }") != std::string::npos);
    CHECK(dir.entries().size() == 1);
}

TEST_CASE("save_npy failures name the path and leave no file behind") {
    TempDir dir;
    const fs::path nowhere = dir.path() / "missing" / "t.npy";
    CHECK_THROWS_WITH_AS(save_npy(nowhere, zeros({2})), doctest::Contains(nowhere.string().c_str()), io_error);
    const fs::path path = dir.path() / "undefined.npy";
    CHECK_THROWS_WITH_AS(save_npy(path, Tensor()), doctest::Contains("undefined"), io_error);
    const fs::path blocked = dir.path() / "blocked.npy";
    fs::create_directory(blocked);
    CHECK_THROWS_WITH_AS(save_npy(blocked, zeros({2})), doctest::Contains("renaming"), io_error);
    CHECK(dir.entries().size() == 1);  // only the directory that blocked the rename
}
