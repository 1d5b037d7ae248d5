// IDX reading: the tests write small raw and gzip IDX files themselves, valid and malformed.

#include <doctest/doctest.h>

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include <nn/idx.hpp>

#include "support/check.hpp"
#include "support/temp_dir.hpp"

using namespace xgrad;
using namespace xgrad::nn;
using xgrad::testing::TempDir;
using xgrad::testing::check_throws_with;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<unsigned char>;

/// An IDX header (magic 0x0000TTRR, big-endian extents) followed by `payload`.
Bytes idx(unsigned type, std::initializer_list<std::uint32_t> shape, const Bytes& payload) {
    Bytes bytes{0, 0, static_cast<unsigned char>(type), static_cast<unsigned char>(shape.size())};
    for (std::uint32_t extent : shape) {
        for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back((extent >> shift) & 0xFF);
    }
    bytes.insert(bytes.end(), payload.begin(), payload.end());
    return bytes;
}

Bytes iota_bytes(std::size_t count, unsigned start = 0) {
    Bytes bytes(count);
    for (std::size_t i = 0; i < count; ++i) bytes[i] = static_cast<unsigned char>(start + i);
    return bytes;
}

std::string write_raw(const std::string& path, const Bytes& bytes) {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path;
}

std::string write_gzip(const std::string& path, const Bytes& bytes) {
    gzFile file = gzopen(path.c_str(), "wb");
    REQUIRE(file != nullptr);
    REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) ==
            static_cast<int>(bytes.size()));
    REQUIRE(gzclose(file) == Z_OK);
    return path;
}

}  // namespace

TEST_CASE("uint8 images and labels read the same from raw and gzip files") {
    TempDir dir;
    const Bytes images = idx(0x08, {2, 2, 3}, {0, 51, 102, 153, 204, 255, 1, 2, 3, 4, 5, 6});
    const Bytes labels = idx(0x08, {3}, {3, 0, 9});
    for (const std::string& path : {write_raw(dir.file("images.idx"), images),
                                    write_gzip(dir.file("images.idx.gz"), images)}) {
        CAPTURE(path);
        const IdxArray array = read_idx(path);
        CHECK(array.type == IdxType::uint8);
        CHECK(array.shape() == Shape{2, 2, 3});
        CHECK(std::get<xt::xarray<std::uint8_t>>(array.values)(1, 1, 2) == 6);

        const Tensor unit = read_idx_images(path);
        CHECK(unit.dtype() == Dtype::float32);
        CHECK(unit.shape() == Shape{2, 6});
        CHECK(unit.value<float>()(0, 0) == 0.0f);
        CHECK(unit.value<float>()(0, 1) == doctest::Approx(0.2));
        CHECK(unit.value<float>()(0, 5) == 1.0f);

        const Tensor raw = read_idx_images(path, PixelScale::raw, Dtype::float64);
        CHECK(raw.value<double>()(0, 5) == 255.0);
        CHECK(raw.value<double>()(1, 0) == 1.0);
    }
    for (const std::string& path : {write_raw(dir.file("labels.idx"), labels),
                                    write_gzip(dir.file("labels.idx.gz"), labels)}) {
        CAPTURE(path);
        CHECK(read_idx_labels(path) == Labels{3, 0, 9});
    }
}

TEST_CASE("every IDX type is decoded from big-endian") {
    TempDir dir;
    SUBCASE("int8") {
        const IdxArray a = read_idx(write_raw(dir.file("a"), idx(0x09, {2}, {0xFF, 0x7F})));
        CHECK(std::get<xt::xarray<std::int8_t>>(a.values) == xt::xarray<std::int8_t>{-1, 127});
        CHECK(read_idx_labels(dir.file("a")) == Labels{-1, 127});
    }
    SUBCASE("int16") {
        const IdxArray a = read_idx(write_raw(dir.file("a"), idx(0x0B, {2}, {0xFF, 0xFE, 0x01, 0x2C})));
        CHECK(std::get<xt::xarray<std::int16_t>>(a.values) == xt::xarray<std::int16_t>{-2, 300});
    }
    SUBCASE("int32") {
        const IdxArray a = read_idx(write_gzip(dir.file("a"), idx(0x0C, {1}, {0xFF, 0xFE, 0xEE, 0x90})));
        CHECK(std::get<xt::xarray<std::int32_t>>(a.values)(0) == -70000);
    }
    SUBCASE("float32 and float64") {
        const IdxArray f = read_idx(write_raw(dir.file("f"), idx(0x0D, {1, 1}, {0x3F, 0xC0, 0, 0})));
        CHECK(f.type == IdxType::float32);
        CHECK(std::get<xt::xarray<float>>(f.values)(0, 0) == 1.5f);
        const IdxArray d = read_idx(write_raw(dir.file("d"), idx(0x0E, {1}, {0xBF, 0xD0, 0, 0, 0, 0, 0, 0})));
        CHECK(std::get<xt::xarray<double>>(d.values)(0) == -0.25);
    }
    SUBCASE("a zero extent gives an empty array") {
        const IdxArray a = read_idx(write_raw(dir.file("a"), idx(0x08, {0, 28, 28}, {})));
        CHECK(a.shape() == Shape{0, 28, 28});
        CHECK(read_idx_images(dir.file("a")).shape() == Shape{0, 784});
    }
}

TEST_CASE("a bad magic number is rejected with the number and the path") {
    TempDir dir;
    // The magic written little-endian, an unknown type code, and rank 0.
    const std::string swapped = write_raw(dir.file("swapped"), {0x03, 0x08, 0, 0, 0, 0, 0, 1, 7});
    check_throws_with([&] { read_idx(swapped); }, {swapped, "0x03080000"});
    const std::string unknown = write_raw(dir.file("unknown"), idx(0x0A, {1}, {7}));
    check_throws_with([&] { read_idx(unknown); }, {unknown, "0x00000A01"});
    const std::string rank0 = write_gzip(dir.file("rank0.gz"), {0, 0, 8, 0, 7});
    check_throws_with([&] { read_idx(rank0); }, {rank0, "(gzip)", "0x00000800"});
}

TEST_CASE("a header cut short is rejected") {
    TempDir dir;
    const std::string tiny = write_raw(dir.file("tiny"), {0, 0});
    check_throws_with([&] { read_idx(tiny); }, {tiny, "after 2 bytes"});
    const std::string empty = write_gzip(dir.file("empty.gz"), {});
    check_throws_with([&] { read_idx(empty); }, {empty, "after 0 bytes"});
    const std::string cut = write_raw(dir.file("cut"), {0, 0, 8, 3, 0, 0, 0, 2, 0, 0});
    check_throws_with([&] { read_idx(cut); }, {cut, "10 of the 16 header bytes", "rank 3"});
}

TEST_CASE("truncated data and trailing bytes name the path and the byte counts") {
    TempDir dir;
    const Bytes short_data = idx(0x08, {2, 2, 3}, iota_bytes(7));
    const Bytes long_data = idx(0x08, {2, 2, 3}, iota_bytes(17));
    for (const std::string& path : {write_raw(dir.file("short"), short_data),
                                    write_gzip(dir.file("short.gz"), short_data)}) {
        check_throws_with([&] { read_idx_images(path); },
                          {path, "truncated", "only 7 of the 12 data bytes", "(2, 2, 3)"});
    }
    for (const std::string& path : {write_raw(dir.file("long"), long_data),
                                    write_gzip(dir.file("long.gz"), long_data)}) {
        check_throws_with([&] { read_idx_images(path); }, {path, "5 trailing bytes", "12 data"});
    }
}

TEST_CASE("forged huge extents fail without a huge allocation") {
    TempDir dir;
    // 2^96 bytes overflows the size computation.
    const std::string overflow =
        write_raw(dir.file("overflow"), idx(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {1, 2}));
    check_throws_with([&] { read_idx(overflow); }, {overflow, "overflows"});
    // 281 TB declared, 3 bytes present: a value_error (not bad_alloc) after reading 3 bytes.
    for (const std::string& path :
         {write_raw(dir.file("huge"), idx(0x08, {0xFFFFFFFF, 0xFFFF}, {1, 2, 3})),
          write_gzip(dir.file("huge.gz"), idx(0x0E, {0xFFFFFFFF, 0xFFFF}, {1, 2, 3}))}) {
        check_throws_with([&] { read_idx(path); }, {path, "truncated", "only 3"});
    }
    check_throws_with([&] { read_idx(dir.file("huge")); }, {"281470681677825 data bytes"});
}

TEST_CASE("an extent of 0 does not hide overflowing extents (found by fuzz_idx)") {
    TempDir dir;
    // No elements, but xtensor's strides would be 2^32 * 2^32 * 2^16: rejected, not UB.
    const std::string forged =
        write_raw(dir.file("forged"), idx(0x0E, {0xFFFFFFFF, 0, 0xFFFFFFFF, 0xFFFF, 2}, {}));
    check_throws_with([&] { read_idx(forged); }, {forged, "(4294967295, 0, 4294967295, 65535, 2)", "overflows"});
    const std::string empty = write_raw(dir.file("empty"), idx(0x08, {3, 0, 4}, {}));
    CHECK(read_idx(empty).shape() == Shape{3, 0, 4});  // an honest empty array still reads
}

TEST_CASE("a damaged gzip stream and a missing file are value errors naming the path") {
    TempDir dir;
    const std::string good = write_gzip(dir.file("good.gz"), idx(0x08, {4096}, iota_bytes(4096)));
    Bytes compressed(fs::file_size(good));
    std::ifstream(good, std::ios::binary)
        .read(reinterpret_cast<char*>(compressed.data()), static_cast<std::streamsize>(compressed.size()));
    compressed.resize(compressed.size() / 2);
    const std::string cut = write_raw(dir.file("cut.gz"), compressed);
    check_throws_with([&] { read_idx(cut); }, {cut, "(gzip)"});
    for (std::size_t i = 12; i < compressed.size(); ++i) compressed[i] ^= 0x5A;
    const std::string garbled = write_raw(dir.file("garbled.gz"), compressed);
    check_throws_with([&] { read_idx(garbled); }, {garbled, "(gzip)"});
    check_throws_with([&] { read_idx(dir.file("absent.idx")); },
                      {"cannot open", dir.file("absent.idx"), "No such file"});
}

TEST_CASE("the helpers check rank and type") {
    TempDir dir;
    const std::string labels = write_raw(dir.file("labels"), idx(0x08, {3}, {1, 2, 3}));
    const std::string images = write_raw(dir.file("images"), idx(0x08, {1, 2, 2}, {1, 2, 3, 4}));
    const std::string wide = write_raw(dir.file("wide"), idx(0x0B, {1, 1, 1}, {0x01, 0x00}));
    const std::string floats = write_raw(dir.file("floats"), idx(0x0D, {1}, {0x3F, 0xC0, 0, 0}));
    check_throws_with([&] { read_idx_images(labels); }, {labels, "(3,)", "rank 3"});
    check_throws_with([&] { read_idx_labels(images); }, {images, "(1, 2, 2)", "rank 1"});
    check_throws_with([&] { read_idx_images(wide); }, {wide, "int16", "PixelScale::raw"});
    CHECK(read_idx_images(wide, PixelScale::raw).value<float>()(0, 0) == 256.0f);
    check_throws_with([&] { read_idx_labels(floats); }, {floats, "float32", "integer"});
}
