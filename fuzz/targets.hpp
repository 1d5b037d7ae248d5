#pragma once
// What the fuzz targets do with one input, shared with the regression test
// (tests/nn/test_fuzz_regressions.cpp) that replays the corpus and every input a fuzzer found.
// Each reader may reject an input only with its documented exception; anything else (another
// exception, a crash, a sanitizer report, an allocation beyond the fuzzer's limit) is a bug.

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <zlib.h>

#include <nn/nn.hpp>

namespace xgrad::fuzz {

inline void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

/// Reads `data` as a checkpoint, and loads it into a 2-3-2 MLP and its Adam state. An input of
/// even size gets its last four bytes replaced by the right CRC-32 first, so that mutated
/// records also reach the copy into the model, which a CRC mismatch would stop.
inline void checkpoint_input(const std::string& path, const std::uint8_t* data, std::size_t size) {
    std::vector<std::uint8_t> bytes(data, data + size);
    if (size >= 4 && size % 2 == 0) {
        const auto crc = static_cast<std::uint32_t>(crc32(0L, bytes.data(), static_cast<uInt>(size - 4)));
        for (int i = 0; i < 4; ++i) bytes[size - 4 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
    }
    write_file(path, bytes.data(), bytes.size());
    try {
        const nn::Checkpoint checkpoint = nn::read_checkpoint(path);
        for (const auto& [name, tensor] : checkpoint.parameters) (void)tensor.size();
    } catch (const nn::checkpoint_error&) {
    }
    nn::MLP model({2, 3, 2});
    nn::Adam optimizer(model.parameters());
    const nn::NamedTensors state = optimizer.state();
    try {
        nn::load_checkpoint(path, model, &state);
    } catch (const nn::checkpoint_error&) {
    }
}

/// Reads `data` as an IDX file (raw or gzip), then as images and as labels.
inline void idx_input(const std::string& path, const std::uint8_t* data, std::size_t size) {
    write_file(path, data, size);
    try {
        (void)nn::read_idx(path).shape();
    } catch (const value_error&) {
    }
    try {
        (void)nn::read_idx_images(path, nn::PixelScale::raw);
    } catch (const value_error&) {
    }
    try {
        (void)nn::read_idx_labels(path);
    } catch (const value_error&) {
    }
}

}  // namespace xgrad::fuzz
