// IDX writing: the inverse of read_idx (header 0x0000TTRR, big-endian extents and values),
// raw or gzip-compressed in memory with zlib, then written atomically.

#include <zlib.h>

#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "atomic_file.hpp"
#include "idx.hpp"

namespace xgrad::nn {

namespace {

template <class T>
constexpr IdxType idx_type_of() {
    if constexpr (std::is_same_v<T, std::uint8_t>) return IdxType::uint8;
    else if constexpr (std::is_same_v<T, std::int8_t>) return IdxType::int8;
    else if constexpr (std::is_same_v<T, std::int16_t>) return IdxType::int16;
    else if constexpr (std::is_same_v<T, std::int32_t>) return IdxType::int32;
    else if constexpr (std::is_same_v<T, float>) return IdxType::float32;
    else return IdxType::float64;
}

void put_big_endian(std::string& out, std::uint64_t bits, std::size_t width) {
    for (std::size_t byte = width; byte-- > 0;) out.push_back(static_cast<char>((bits >> (8 * byte)) & 0xFF));
}

/// The whole IDX file of `array`, uncompressed.
template <class T>
std::string encode(const xt::xarray<T>& array, const std::filesystem::path& path) {
    const Shape shape(array.shape().begin(), array.shape().end());
    if (shape.empty() || shape.size() > 255) {
        throw value_error("write_idx: '" + path.string() + "': shape " + shape_str(shape) +
                          " has rank " + std::to_string(shape.size()) +
                          "; IDX stores ranks 1 to 255");
    }
    std::string bytes{'\0', '\0', static_cast<char>(idx_type_of<T>()), static_cast<char>(shape.size())};
    for (std::size_t extent : shape) {
        if (extent > std::numeric_limits<std::uint32_t>::max()) {
            throw value_error("write_idx: '" + path.string() + "': shape " + shape_str(shape) +
                              " has an extent above 2^32 - 1, the IDX limit");
        }
        put_big_endian(bytes, extent, 4);
    }
    using Bits = std::conditional_t<sizeof(T) == 1, std::uint8_t,
                 std::conditional_t<sizeof(T) == 2, std::uint16_t,
                 std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>>;
    bytes.reserve(bytes.size() + array.size() * sizeof(T));
    for (const T& value : array) {
        Bits bits;
        std::memcpy(&bits, &value, sizeof(T));
        put_big_endian(bytes, bits, sizeof(T));
    }
    return bytes;
}

/// `bytes` as one gzip member (zlib's deflate with the gzip wrapper).
std::string gzip_compress(const std::string& bytes, const std::filesystem::path& path) {
    if (bytes.size() > std::numeric_limits<uInt>::max())  // one deflate call takes < 4 GiB
        throw value_error("write_idx: '" + path.string() + "': " + std::to_string(bytes.size()) +
                          " bytes are too many to gzip in one piece; use IdxCompression::none");
    z_stream stream{};
    if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw io_error("write_idx", path, "zlib could not start compressing (out of memory)");
    std::string out(deflateBound(&stream, static_cast<uLong>(bytes.size())), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    stream.avail_in = static_cast<uInt>(bytes.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int status = deflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    if (status != Z_STREAM_END) throw io_error("write_idx", path, "zlib could not compress the data");
    return out;
}

}  // namespace

void write_idx(const std::filesystem::path& path, const IdxValues& values, IdxCompression compression) {
    std::string bytes = std::visit([&](const auto& array) { return encode(array, path); }, values);
    if (compression == IdxCompression::gzip) bytes = gzip_compress(bytes, path);
    detail::write_atomically(path, "write_idx", [&](const detail::ByteSink& sink) {
        sink(bytes.data(), bytes.size());
    });
}

}  // namespace xgrad::nn
