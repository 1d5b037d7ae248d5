// IDX writing: every element type round-trips through read_idx, raw and gzip, byte-exact.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <nn/idx.hpp>

#include "support/check.hpp"
#include "support/temp_dir.hpp"

using namespace xgrad;
using namespace xgrad::nn;
using xgrad::testing::TempDir;
using xgrad::testing::check_throws_with;
using xgrad::testing::read_bytes;

namespace {

template <class T>
void check_round_trip(const xt::xarray<T>& values, IdxType type) {
    TempDir dir;
    for (IdxCompression compression : {IdxCompression::none, IdxCompression::gzip}) {
        const std::string path = dir.file("values.idx");
        write_idx(path, values, compression);
        const IdxArray read = read_idx(path);
        CHECK(read.type == type);
        CHECK(read.shape() == Shape(values.shape().begin(), values.shape().end()));
        const auto* back = std::get_if<xt::xarray<T>>(&read.values);
        REQUIRE(back != nullptr);
        CHECK(*back == values);
        const bool gzipped = read_bytes(path).substr(0, 2) == "\x1f\x8b";
        CHECK(gzipped == (compression == IdxCompression::gzip));
    }
}

}  // namespace

TEST_CASE("write_idx round-trips every IDX element type, raw and gzip") {
    check_round_trip<std::uint8_t>({{{0, 1, 255}, {7, 8, 9}}}, IdxType::uint8);
    check_round_trip<std::int8_t>({-128, -1, 0, 127}, IdxType::int8);
    check_round_trip<std::int16_t>({{-32768, 258}, {32767, -2}}, IdxType::int16);
    check_round_trip<std::int32_t>({std::numeric_limits<std::int32_t>::min(), 0, 16909060}, IdxType::int32);
    check_round_trip<float>({{1.5f, -0.0f, 3.4e38f}}, IdxType::float32);
    check_round_trip<double>({1e-300, -2.5, 4.0 / 3.0}, IdxType::float64);
}

TEST_CASE("write_idx writes the big-endian header and values of the format") {
    TempDir dir;
    const std::string path = dir.file("labels.idx");
    write_idx(path, xt::xarray<std::int16_t>{1, -2});
    CHECK(read_bytes(path) == std::string("\x00\x00\x0B\x01\x00\x00\x00\x02\x00\x01\xFF\xFE", 12));
}

TEST_CASE("write_idx rejects rank 0 and leaves no file behind") {
    TempDir dir;
    const std::string path = dir.file("scalar.idx");
    check_throws_with([&] { write_idx(path, xt::xarray<float>(2.0f)); },
                      {"write_idx", path, "rank 0", "ranks 1 to 255"});
    CHECK(dir.entries().empty());
    write_idx(path, xt::xarray<float>{2.0f});  // the next correct call works
    CHECK(std::get<xt::xarray<float>>(read_idx(path).values)(0) == 2.0f);
}

TEST_CASE("write_idx reports an unwritable path as io_error") {
    TempDir dir;
    const std::string path = dir.file("missing/dir/file.idx");
    CHECK_THROWS_AS(write_idx(path, xt::xarray<std::uint8_t>{1}), io_error);
}
