#pragma once
/// IDX files (the MNIST format), raw or gzip-compressed: a big-endian header
/// 0x00 0x00 <type code> <rank>, one uint32 extent per axis, then the values, big-endian.

#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>

#include <xtensor/xarray.hpp>

#include <autograd/autograd.hpp>

#include "atomic_file.hpp"

namespace xgrad::nn {

/// The element types of the IDX format; the enumerator's value is the type code.
enum class IdxType : std::uint8_t {
    uint8 = 0x08,
    int8 = 0x09,
    int16 = 0x0B,
    int32 = 0x0C,
    float32 = 0x0D,
    float64 = 0x0E,
};

/// "uint8", "int8", "int16", "int32", "float32" or "float64".
const char* idx_type_name(IdxType type);

/// The values of an IDX file in host byte order; the alternative matches the file's type.
using IdxValues = std::variant<xt::xarray<std::uint8_t>, xt::xarray<std::int8_t>,
                               xt::xarray<std::int16_t>, xt::xarray<std::int32_t>,
                               xt::xarray<float>, xt::xarray<double>>;

/// The contents of one IDX file.
struct IdxArray {
    IdxType type;
    IdxValues values;
    /// The extents from the header (rank >= 1).
    Shape shape() const;
};

/// Reads a raw or gzip IDX file (gzip is recognised by its magic bytes 1f 8b).
/// Throws value_error naming the path if the file cannot be opened, the magic, type code or
/// rank is invalid, the element count overflows, or the data is truncated or followed by
/// trailing bytes. Memory grows with the data actually present, never with a header's claim.
IdxArray read_idx(const std::string& path);

/// How read_idx_images converts pixel values.
enum class PixelScale {
    unit,  ///< uint8 pixels divided by 255, giving [0, 1]
    raw,   ///< values converted unchanged (any IDX type)
};

/// Images (N, rows, cols) from an IDX file as a (N, rows*cols) tensor of `dtype`.
/// Throws value_error if the rank is not 3, or if `scale` is unit and the type is not uint8.
Tensor read_idx_images(const std::string& path, PixelScale scale = PixelScale::unit,
                       Dtype dtype = Dtype::float32);

/// Labels (N,) from an IDX file of an integer type; throws value_error for rank != 1 or
/// a floating-point type.
Labels read_idx_labels(const std::string& path);

/// How write_idx stores the bytes.
enum class IdxCompression {
    none,  ///< a raw IDX file
    gzip,  ///< gzip-compressed, as the MNIST-style datasets are distributed
};

/// Writes `values` as an IDX file of their type (big-endian), atomically (see atomic_file.hpp),
/// so read_idx returns them unchanged. Throws value_error for rank 0 or above 255 or an extent
/// above 2^32 - 1 (the format's limits), io_error if the file cannot be written.
void write_idx(const std::filesystem::path& path, const IdxValues& values,
               IdxCompression compression = IdxCompression::none);

}  // namespace xgrad::nn
