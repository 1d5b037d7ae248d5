#pragma once
/// Checkpoints: model parameters and optional optimiser state in one CRC-checked file,
/// written atomically and loaded all-or-nothing.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <autograd/autograd.hpp>

#include "atomic_file.hpp"

#include "module.hpp"

namespace xgrad::nn {

// Note [Checkpoint format], version 1
//
// Integers are unsigned little-endian; floats are IEEE-754 little-endian, bit-exact.
//
//   size      field
//   8         magic: 89 58 47 43 4B 50 54 0A ("\x89XGCKPT\n": the high byte and the
//             newline catch 7-bit and text-mode transfers)
//   u32       format version: 1
//   u64       tensor count N
//   N records, back to back:
//     u8        section: 0 = model parameter, 1 = optimiser state
//     u32       name length L, 1 <= L <= 4096
//     L bytes   name (no terminator), unique within its section
//     u8        dtype: 1 = float32, 2 = float64
//     u32       rank R, R <= 32 (0 for a scalar)
//     u64 x R   extents, outermost first
//     data      product(extents) elements (1 for a scalar), row-major
//   u32       CRC-32 (zlib crc32) of every byte before it
//
// A reader rejects: a file shorter than the 24-byte header plus CRC, other magic bytes,
// another version, a CRC mismatch, an unknown section or dtype code, a name length, rank,
// extent product or tensor count that cannot fit in the bytes that remain (so a forged
// header never causes a large allocation), duplicate names, and bytes left over after the
// last record. Record order is the writer's order (the module's registration order).

/// A checkpoint that cannot be saved or loaded; what() lists every problem, one per line.
class checkpoint_error : public io_error {
public:
    /// `problems` must not be empty.
    checkpoint_error(const std::string& operation, std::filesystem::path path,
                     std::vector<std::string> problems);
    /// Each problem, in the order found.
    const std::vector<std::string>& problems() const { return problems_; }

private:
    std::vector<std::string> problems_;
};

/// The contents of a checkpoint file: fresh tensors (requires_grad false), in file order.
struct Checkpoint {
    NamedTensors parameters;
    NamedTensors optimizer_state;
};

/// Writes `parameters` and `optimizer_state` to `path` in the format above, through a
/// temporary file in the same directory that is flushed, synced, closed and renamed over
/// `path`; `path` is either its old self or the complete new file. Throws checkpoint_error
/// (nothing written) for undefined tensors or empty, over-long or duplicate names.
void save_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                     const NamedTensors& optimizer_state = {});
/// The same for module.named_parameters().
void save_checkpoint(const std::filesystem::path& path, const Module& module,
                     const NamedTensors& optimizer_state = {});

/// Reads and fully validates `path`; throws checkpoint_error listing every problem.
Checkpoint read_checkpoint(const std::filesystem::path& path);

/// Copies the checkpoint's values into the existing tensors of `parameters` (and of
/// `*optimizer_state` if given; otherwise the file's optimiser state is ignored), in place
/// through mutable_value, so every handle sharing them (a module, an optimiser) sees the
/// change. The file must hold exactly these names, each with the same dtype and shape.
/// All-or-nothing: on any problem it throws one checkpoint_error listing all of them and
/// no tensor is changed.
void load_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                     const NamedTensors* optimizer_state = nullptr);
/// The same for module.named_parameters().
void load_checkpoint(const std::filesystem::path& path, Module& module,
                     const NamedTensors* optimizer_state = nullptr);

}  // namespace xgrad::nn
