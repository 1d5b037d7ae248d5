#pragma once
/// NumPy .npy export (format 1.0), for inspecting tensors with numpy.load.

#include <filesystem>
#include <string>

#include <autograd/autograd.hpp>

#include "checkpoint.hpp"

namespace xgrad::nn {

/// The .npy header of `tensor`: magic, version 1.0, length, and the dict
/// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" ('<f8' for float64, "(n,)"
/// for a vector, "()" for a scalar), space-padded and ended by '\n' so the data starts at a
/// multiple of 64 bytes.
std::string npy_header(const Tensor& tensor);

/// Writes `tensor` to `path` as .npy (header, then its elements little-endian, row-major),
/// atomically like save_checkpoint; throws io_error naming the path.
void save_npy(const std::filesystem::path& path, const Tensor& tensor);

}  // namespace xgrad::nn
