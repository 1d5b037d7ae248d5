#pragma once
// Little-endian encoding for the binary files nn writes (checkpoints, .npy). Internal to nn.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace xgrad::nn::detail {

inline bool host_is_little_endian() {
    const std::uint16_t one = 1;
    unsigned char first = 0;
    std::memcpy(&first, &one, 1);
    return first == 1;
}

template <class U>
inline void put_le(std::string& out, U value) {
    for (std::size_t i = 0; i < sizeof(U); ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}

template <class U>
inline U get_le(const unsigned char* bytes) {
    U value = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i)
        value = static_cast<U>(value | static_cast<U>(bytes[i]) << (8 * i));
    return value;
}

/// Copies `count` items of `item_size` bytes between host order and little-endian (the
/// same swap both ways).
inline void copy_le(const void* from, void* to, std::size_t count, std::size_t item_size) {
    if (count == 0) return;
    if (host_is_little_endian()) {
        std::memcpy(to, from, count * item_size);
        return;
    }
    const auto* source = static_cast<const unsigned char*>(from);
    auto* target = static_cast<unsigned char*>(to);
    for (std::size_t i = 0; i < count * item_size; i += item_size)
        std::reverse_copy(source + i, source + i + item_size, target + i);
}

}  // namespace xgrad::nn::detail
