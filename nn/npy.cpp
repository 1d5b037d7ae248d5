#include "npy.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "byte_order.hpp"

namespace xgrad::nn {

namespace {
constexpr std::size_t npy_alignment = 64;
}  // namespace

std::string npy_header(const Tensor& tensor) {
    const char* descr = tensor.dtype() == Dtype::float32 ? "<f4" : "<f8";
    // shape_str prints NumPy's tuple repr: "()", "(4,)", "(2, 3)".
    std::string dict = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape_str(tensor.shape()) + ", }";
    const std::size_t prefix = 6 + 2 + 2;  // magic, version, header length
    const std::size_t unpadded = prefix + dict.size() + 1;
    const std::size_t total = (unpadded + npy_alignment - 1) / npy_alignment * npy_alignment;
    dict.append(total - unpadded, ' ');
    dict.push_back('\n');
    // Version 1.0 stores the length in 16 bits; rank <= 32 keeps every header far below that.
    const std::size_t length = dict.size();
    std::string header = "\x93NUMPY";
    header += {'\x01', '\x00', static_cast<char>(length & 0xFF), static_cast<char>(length >> 8)};
    return header + dict;
}

void save_npy(const std::filesystem::path& path, const Tensor& tensor) {
    const std::string operation = "save_npy";
    if (!tensor.defined()) throw io_error(operation, path, "the tensor is undefined");
    const std::string header = npy_header(tensor);
    if (header.size() - 10 > 0xFFFF)
        throw io_error(operation, path, "rank " + std::to_string(tensor.dim()) + " needs a header over 64 KiB");
    detail::write_atomically(path, operation, [&](const detail::ByteSink& sink) {
        sink(header.data(), header.size());
        visit(tensor, [&sink](const auto& array) {
            using T = typename std::decay_t<decltype(array)>::value_type;
            if (detail::host_is_little_endian()) return sink(array.data(), array.size() * sizeof(T));
            std::string data(array.size() * sizeof(T), '\0');
            detail::copy_le(array.data(), data.data(), array.size(), sizeof(T));
            sink(data.data(), data.size());
        });
    });
}

}  // namespace xgrad::nn
