// IDX reading. Note [Forged headers]: an IDX header declares the data size, but a file may
// hold less (truncated, or forged to claim terabytes). The data is read in bounded chunks, so
// memory grows only with the bytes actually present; the declared size is checked afterwards.

#include "idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <type_traits>
#include <vector>

namespace xgrad::nn {

namespace {

constexpr std::size_t chunk_bytes = std::size_t{1} << 20;

using Bytes = std::vector<unsigned char>;

/// "'path'" or "'path' (gzip)", for messages.
std::string describe(const std::string& path, bool gzip) {
    return "'" + path + "'" + (gzip ? " (gzip)" : "");
}

/// True if the file starts with the gzip magic bytes 1f 8b.
bool starts_with_gzip_magic(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    std::array<char, 2> magic{};
    file.read(magic.data(), magic.size());
    return file.gcount() == 2 && static_cast<unsigned char>(magic[0]) == 0x1f &&
           static_cast<unsigned char>(magic[1]) == 0x8b;
}

/// A file read through zlib, which passes uncompressed files through unchanged.
class GzReader {
public:
    GzReader(const std::string& path, bool gzip) : name_(describe(path, gzip)) {
        errno = 0;
        file_ = gzopen(path.c_str(), "rb");
        if (file_ == nullptr) {
            throw value_error("read_idx: cannot open " + name_ + ": " +
                              (errno != 0 ? std::strerror(errno) : "out of memory"));
        }
        gzbuffer(file_, 1 << 17);
    }
    ~GzReader() { gzclose(file_); }
    GzReader(const GzReader&) = delete;
    GzReader& operator=(const GzReader&) = delete;

    /// Reads up to `count` (<= chunk_bytes) bytes; fewer only at the end of the file.
    std::size_t read(unsigned char* out, std::size_t count) {
        const int got = gzread(file_, out, static_cast<unsigned>(count));
        if (got < 0) {
            int code = Z_OK;
            const char* message = gzerror(file_, &code);
            throw value_error("read_idx: cannot read " + name_ + ": " +
                              (code == Z_ERRNO ? std::strerror(errno) : message));
        }
        return static_cast<std::size_t>(got);
    }

    /// Reads until `count` bytes are in `out` or the file ends; returns the bytes read.
    std::size_t read_up_to(Bytes& out, std::size_t count) {
        while (out.size() < count) {
            const std::size_t old = out.size();
            const std::size_t want = std::min(count - old, chunk_bytes);
            out.resize(old + want);
            const std::size_t got = read(out.data() + old, want);
            out.resize(old + got);
            if (got == 0) break;
        }
        return out.size();
    }

    /// Reads and counts the bytes left in the file.
    std::size_t count_rest() {
        Bytes buffer(1 << 16);
        std::size_t total = 0;
        while (const std::size_t got = read(buffer.data(), buffer.size())) total += got;
        return total;
    }

private:
    std::string name_;
    gzFile file_ = nullptr;
};

/// Bytes per element, or 0 if `code` is not an IDX type code.
std::size_t element_width(unsigned code) {
    switch (code) {
        case 0x08: case 0x09: return 1;
        case 0x0B: return 2;
        case 0x0C: case 0x0D: return 4;
        case 0x0E: return 8;
        default: return 0;
    }
}

std::uint32_t big_endian_u32(const unsigned char* bytes) {
    return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
           (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

/// The values of `bytes` (big-endian elements of T) in host order, shaped `shape`.
template <class T>
xt::xarray<T> decode(const Bytes& bytes, const Shape& shape) {
    using Bits = std::conditional_t<sizeof(T) == 1, std::uint8_t,
                 std::conditional_t<sizeof(T) == 2, std::uint16_t,
                 std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>>;
    auto values = xt::xarray<T>::from_shape(shape);
    const unsigned char* in = bytes.data();
    for (std::size_t i = 0; i < values.size(); ++i) {
        Bits bits = 0;
        for (std::size_t b = 0; b < sizeof(T); ++b) bits = static_cast<Bits>((bits << 8) | *in++);
        std::memcpy(&values.data()[i], &bits, sizeof(T));
    }
    return values;
}

IdxValues decode_values(IdxType type, const Bytes& bytes, const Shape& shape) {
    switch (type) {
        case IdxType::uint8: return decode<std::uint8_t>(bytes, shape);
        case IdxType::int8: return decode<std::int8_t>(bytes, shape);
        case IdxType::int16: return decode<std::int16_t>(bytes, shape);
        case IdxType::int32: return decode<std::int32_t>(bytes, shape);
        case IdxType::float32: return decode<float>(bytes, shape);
        case IdxType::float64: return decode<double>(bytes, shape);
    }
    throw value_error("read_idx: unknown type code");  // unreachable: checked by the caller
}

std::string hex32(std::uint32_t value) {
    char text[11];
    std::snprintf(text, sizeof text, "0x%08X", static_cast<unsigned>(value));
    return text;
}

}  // namespace

const char* idx_type_name(IdxType type) {
    switch (type) {
        case IdxType::uint8: return "uint8";
        case IdxType::int8: return "int8";
        case IdxType::int16: return "int16";
        case IdxType::int32: return "int32";
        case IdxType::float32: return "float32";
        case IdxType::float64: return "float64";
    }
    return "unknown";
}

Shape IdxArray::shape() const {
    return std::visit([](const auto& array) { return Shape(array.shape()); }, values);
}

IdxArray read_idx(const std::string& path) {
    const bool gzip = starts_with_gzip_magic(path);
    const std::string name = describe(path, gzip);
    GzReader file(path, gzip);

    Bytes header;
    if (file.read_up_to(header, 4) < 4) {
        throw value_error("read_idx: " + name + " ends after " + std::to_string(header.size()) +
                          " bytes, inside the 4-byte magic number");
    }
    const std::uint32_t magic = big_endian_u32(header.data());
    const std::size_t width = element_width(header[2]);
    const std::size_t rank = header[3];
    if (header[0] != 0 || header[1] != 0 || width == 0 || rank == 0) {
        throw value_error("read_idx: " + name + " has magic number " + hex32(magic) +
                          "; an IDX file starts 0x0000TTRR with type code TT one of 08 (uint8), "
                          "09 (int8), 0B (int16), 0C (int32), 0D (float32), 0E (float64) and "
                          "rank RR >= 1");
    }
    const auto type = static_cast<IdxType>(header[2]);

    const std::size_t header_bytes = 4 + 4 * rank;
    if (file.read_up_to(header, header_bytes) < header_bytes) {
        throw value_error("read_idx: " + name + " ends inside its header: " +
                          std::to_string(header.size()) + " of the " +
                          std::to_string(header_bytes) + " header bytes for rank " +
                          std::to_string(rank) + " are present");
    }
    Shape shape(rank);
    bool empty = false;
    for (std::size_t axis = 0; axis < rank; ++axis) {
        shape[axis] = big_endian_u32(header.data() + 4 + 4 * axis);
        empty = empty || shape[axis] == 0;
    }
    // Element count times width, with an overflow check that covers the nonzero extents even
    // when an extent of 0 makes the count 0: xtensor computes strides from them in signed
    // arithmetic, which overflowed for a (65539, 536870912, 0, ...) shape a fuzzer found.
    const std::size_t limit = static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max()) / width;
    std::size_t nonzero_product = 1;
    for (std::size_t axis = 0; axis < rank; ++axis) {
        if (shape[axis] == 0) continue;
        if (nonzero_product > limit / shape[axis]) {
            throw value_error("read_idx: " + name + " declares shape " + shape_str(shape) +
                              " of " + idx_type_name(type) + ", whose size in bytes overflows");
        }
        nonzero_product *= shape[axis];
    }
    const std::size_t data_bytes = empty ? 0 : nonzero_product * width;

    // Note [Forged headers]: read_up_to grows the buffer chunk by chunk.
    Bytes data;
    const std::string declared = std::to_string(data_bytes) + " data bytes its header declares (" +
                                 "shape " + shape_str(shape) + " of " + idx_type_name(type) + ")";
    if (file.read_up_to(data, data_bytes) < data_bytes) {
        throw value_error("read_idx: " + name + " is truncated: only " +
                          std::to_string(data.size()) + " of the " + declared + " are present");
    }
    if (const std::size_t trailing = file.count_rest(); trailing > 0) {
        throw value_error("read_idx: " + name + " has " + std::to_string(trailing) +
                          " trailing bytes after the " + declared);
    }
    return IdxArray{type, decode_values(type, data, shape)};
}

Tensor read_idx_images(const std::string& path, PixelScale scale, Dtype dtype) {
    const IdxArray idx = read_idx(path);
    const Shape shape = idx.shape();
    if (shape.size() != 3) {
        throw value_error("read_idx_images: '" + path + "' holds shape " + shape_str(shape) +
                          "; images need rank 3 (count, rows, cols)");
    }
    if (scale == PixelScale::unit && idx.type != IdxType::uint8) {
        throw value_error("read_idx_images: '" + path + "' holds " + idx_type_name(idx.type) +
                          " values; scaling to [0, 1] needs uint8 pixels (use PixelScale::raw)");
    }
    const Shape flat{shape[0], shape[1] * shape[2]};
    auto convert = [&](auto zero) {
        using T = decltype(zero);
        auto out = xt::xarray<T>::from_shape(flat);
        std::visit([&](const auto& values) {
            const T divisor = scale == PixelScale::unit ? T(255) : T(1);
            for (std::size_t i = 0; i < values.size(); ++i) {
                out.data()[i] = static_cast<T>(values.data()[i]) / divisor;
            }
        }, idx.values);
        return Tensor(std::move(out));
    };
    return dtype == Dtype::float32 ? convert(0.0f) : convert(0.0);
}

Labels read_idx_labels(const std::string& path) {
    const IdxArray idx = read_idx(path);
    const Shape shape = idx.shape();
    if (shape.size() != 1) {
        throw value_error("read_idx_labels: '" + path + "' holds shape " + shape_str(shape) +
                          "; labels need rank 1");
    }
    if (idx.type == IdxType::float32 || idx.type == IdxType::float64) {
        throw value_error("read_idx_labels: '" + path + "' holds " + idx_type_name(idx.type) +
                          " values; labels need an integer type");
    }
    auto labels = Labels::from_shape({shape[0]});
    std::visit([&](const auto& values) {
        std::copy(values.begin(), values.end(), labels.begin());
    }, idx.values);
    return labels;
}

}  // namespace xgrad::nn
