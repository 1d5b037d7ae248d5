#include "checkpoint.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <zlib.h>

#include "byte_order.hpp"

namespace xgrad::nn {
namespace {

using detail::copy_le;
using detail::get_le;
using detail::host_is_little_endian;
using detail::put_le;

// The constants of Note [Checkpoint format] in checkpoint.hpp.
constexpr char magic[8] = {'\x89', 'X', 'G', 'C', 'K', 'P', 'T', '\n'};
constexpr std::uint32_t format_version = 1;
constexpr std::size_t header_size = 8 + 4 + 8;
constexpr std::size_t crc_size = 4;
constexpr std::size_t max_name_length = 4096;
constexpr std::size_t max_rank = 32;
// section, name length, a one-byte name, dtype, rank (an empty tensor has no data).
constexpr std::size_t min_record_size = 1 + 4 + 1 + 1 + 4;
constexpr std::uint8_t parameter_section = 0, state_section = 1;
constexpr std::uint8_t float32_code = 1, float64_code = 2;

const char* section_noun(std::uint8_t section) {
    return section == parameter_section ? "parameter" : "optimizer state";
}

// ---- Little-endian encoding and CRC ---------------------------------------------------------

std::uint32_t crc_update(std::uint32_t crc, const void* data, std::size_t size) {
    const auto* bytes = static_cast<const Bytef*>(data);
    while (size > 0) {  // zlib takes 32-bit lengths
        const auto chunk = static_cast<uInt>(std::min<std::size_t>(size, std::size_t{1} << 30));
        crc = static_cast<std::uint32_t>(::crc32(crc, bytes, chunk));
        bytes += chunk;
        size -= chunk;
    }
    return crc;
}

std::string hex(unsigned value, const char* format) {
    char text[16];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

/// 'name' for messages: control bytes as \xNN so a corrupt name cannot cut or garble them,
/// and at most 80 bytes.
std::string quote_name(const std::string& name) {
    constexpr std::size_t max_shown = 80;
    std::string text = "'";
    for (const char c : name.substr(0, max_shown)) {
        const auto byte = static_cast<unsigned char>(c);
        text += byte < 0x20 || byte == 0x7F ? hex(byte, "\\x%02x") : std::string(1, c);
    }
    return text + (name.size() > max_shown ? "'..." : "'");
}

// ---- Writing -----------------------------------------------------------------------------

void check_section(std::uint8_t section, const NamedTensors& tensors, std::vector<std::string>& problems) {
    const std::string noun = section_noun(section);
    std::set<std::string> seen;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto& [name, tensor] = tensors[i];
        const std::string what = noun + " " + quote_name(name);
        if (name.empty()) problems.push_back(noun + " #" + std::to_string(i) + " has an empty name");
        if (name.size() > max_name_length)
            problems.push_back(what + ": name is " + std::to_string(name.size()) + " bytes, more than " +
                               std::to_string(max_name_length));
        if (!seen.insert(name).second) problems.push_back("duplicate " + what);
        if (!tensor.defined())
            problems.push_back(what + " is undefined");
        else if (tensor.dim() > max_rank)
            problems.push_back(what + " has rank " + std::to_string(tensor.dim()) + ", more than " +
                               std::to_string(max_rank));
    }
}

/// Emits the record of one tensor: header fields, then its elements in little-endian.
template <class Emit>
void write_record(std::uint8_t section, const std::string& name, const Tensor& tensor, Emit& emit) {
    std::string header;
    put_le<std::uint8_t>(header, section);
    put_le<std::uint32_t>(header, static_cast<std::uint32_t>(name.size()));
    header += name;
    put_le<std::uint8_t>(header, tensor.dtype() == Dtype::float32 ? float32_code : float64_code);
    put_le<std::uint32_t>(header, static_cast<std::uint32_t>(tensor.dim()));
    for (const std::size_t extent : tensor.shape()) put_le<std::uint64_t>(header, extent);
    emit(header.data(), header.size());
    visit(tensor, [&emit](const auto& array) {
        const std::size_t item_size = sizeof(array.data()[0]);
        if (host_is_little_endian()) return emit(array.data(), array.size() * item_size);
        std::string data(array.size() * item_size, '\0');
        copy_le(array.data(), data.data(), array.size(), item_size);
        emit(data.data(), data.size());
    });
}

// ---- Reading -----------------------------------------------------------------------------

std::vector<unsigned char> read_file(const std::filesystem::path& path, const std::string& operation) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr)
        throw checkpoint_error(operation, path, {std::string("cannot open: ") + std::strerror(errno)});
    std::vector<unsigned char> bytes;
    unsigned char buffer[1 << 16];
    std::size_t count = 0;
    while ((count = std::fread(buffer, 1, sizeof buffer, file)) > 0)
        bytes.insert(bytes.end(), buffer, buffer + count);
    const int read_errno = errno;
    const bool failed = std::ferror(file) != 0;
    std::fclose(file);
    if (failed)
        throw checkpoint_error(operation, path, {std::string("cannot read: ") + std::strerror(read_errno)});
    return bytes;
}

/// Thrown inside the parser at the first structural problem: later offsets mean nothing.
struct ParseStop {
    std::string problem;
};

/// Bounds-checked little-endian reads from the bytes before the CRC.
class Reader {
public:
    Reader(const unsigned char* data, std::size_t size) : data_(data), size_(size) {}
    std::size_t offset() const { return offset_; }
    std::size_t remaining() const { return size_ - offset_; }

    const unsigned char* bytes(std::uint64_t count, const std::string& field) {
        if (count > remaining())
            throw ParseStop{"truncated or corrupt: " + field + " needs " + std::to_string(count) +
                            " bytes at offset " + std::to_string(offset_) + ", but only " +
                            std::to_string(remaining()) + " remain before the CRC"};
        const unsigned char* start = data_ + offset_;
        offset_ += static_cast<std::size_t>(count);
        return start;
    }
    template <class U>
    U integer(const std::string& field) {
        return get_le<U>(bytes(sizeof(U), field));
    }

private:
    const unsigned char* data_;
    std::size_t size_;
    std::size_t offset_ = 0;
};

template <class T>
Tensor decode_tensor(const Shape& shape, const unsigned char* data) {
    auto array = xt::xarray<T>::from_shape(shape);
    copy_le(data, array.data(), array.size(), sizeof(T));
    return Tensor(std::move(array));
}

/// Reads rank and extents; rejects a shape whose byte count could overflow or exceed the file.
Shape read_shape(Reader& reader, const std::string& what, std::size_t item_size) {
    const auto rank = reader.integer<std::uint32_t>(what + " rank");
    if (rank > max_rank)
        throw ParseStop{what + ": rank " + std::to_string(rank) + " is more than " + std::to_string(max_rank)};
    const std::uint64_t limit = std::min<std::uint64_t>(std::numeric_limits<std::uint64_t>::max(),
                                                        std::numeric_limits<std::size_t>::max()) /
                                item_size;
    Shape shape;
    std::uint64_t nonzero_product = 1;  // bounds every stride, even of an empty tensor
    for (std::uint32_t axis = 0; axis < rank; ++axis) {
        const auto extent = reader.integer<std::uint64_t>(what + " extent " + std::to_string(axis));
        if (extent != 0 && nonzero_product > limit / extent)
            throw ParseStop{what + ": extents overflow (extent " + std::to_string(extent) + " on axis " +
                            std::to_string(axis) + ")"};
        if (extent != 0) nonzero_product *= extent;
        shape.push_back(static_cast<std::size_t>(extent));
    }
    return shape;
}

Checkpoint parse_records(Reader& reader, std::vector<std::string>& problems) {
    const auto count = reader.integer<std::uint64_t>("tensor count");
    if (count > reader.remaining() / min_record_size)
        throw ParseStop{"truncated or corrupt: tensor count " + std::to_string(count) + " cannot fit in the " +
                        std::to_string(reader.remaining()) + " bytes after the header"};
    Checkpoint result;
    std::set<std::string> seen[2];
    for (std::uint64_t index = 0; index < count; ++index) {
        const std::string where = "record " + std::to_string(index + 1) + " of " + std::to_string(count);
        const auto section = reader.integer<std::uint8_t>(where + " section");
        if (section != parameter_section && section != state_section)
            throw ParseStop{where + ": unknown section code " + std::to_string(section)};
        const auto name_length = reader.integer<std::uint32_t>(where + " name length");
        if (name_length == 0 || name_length > max_name_length)
            throw ParseStop{where + ": name length " + std::to_string(name_length) + " is outside 1.." +
                            std::to_string(max_name_length)};
        const auto* name_bytes = reader.bytes(name_length, where + " name");
        std::string name(reinterpret_cast<const char*>(name_bytes), name_length);
        const std::string what = where + " (" + quote_name(name) + ")";
        const auto dtype_code = reader.integer<std::uint8_t>(what + " dtype");
        if (dtype_code != float32_code && dtype_code != float64_code)
            throw ParseStop{what + ": unknown dtype code " + std::to_string(dtype_code)};
        const std::size_t item_size = dtype_code == float32_code ? 4 : 8;
        const Shape shape = read_shape(reader, what, item_size);
        std::uint64_t elements = 1;
        for (const std::size_t extent : shape) elements *= extent;  // bounded by read_shape
        const auto* data = reader.bytes(elements * item_size, what + " data " + shape_str(shape));
        Tensor tensor =
            dtype_code == float32_code ? decode_tensor<float>(shape, data) : decode_tensor<double>(shape, data);
        if (!seen[section].insert(name).second)
            problems.push_back(what + ": duplicate " + section_noun(section) + " name");
        auto& target = section == parameter_section ? result.parameters : result.optimizer_state;
        target.emplace_back(std::move(name), std::move(tensor));
    }
    if (reader.remaining() != 0)
        throw ParseStop{std::to_string(reader.remaining()) +
                        " unexpected bytes after the last record, at offset " +
                        std::to_string(reader.offset())};
    return result;
}

/// Parses a whole file, appending every problem; nullopt if its structure is unreadable.
std::optional<Checkpoint> parse_checkpoint(const std::vector<unsigned char>& bytes,
                                           std::vector<std::string>& problems) {
    if (bytes.size() < header_size + crc_size) {
        problems.push_back("truncated: the file is " + std::to_string(bytes.size()) +
                           " bytes, shorter than the " + std::to_string(header_size + crc_size) +
                           "-byte header and CRC");
        return std::nullopt;
    }
    if (std::memcmp(bytes.data(), magic, sizeof magic) != 0) {
        std::string found;
        for (std::size_t i = 0; i < sizeof magic; ++i)
            found += hex(bytes[i], "%02x") + (i + 1 < sizeof magic ? " " : "");
        problems.push_back("not an xgrad checkpoint: magic bytes are " + found +
                           ", expected 89 58 47 43 4b 50 54 0a");
        return std::nullopt;
    }
    Reader reader(bytes.data(), bytes.size() - crc_size);
    reader.bytes(sizeof magic, "magic");
    const auto version = reader.integer<std::uint32_t>("version");
    if (version != format_version) {
        problems.push_back("unsupported format version " + std::to_string(version) +
                           " (this build reads version " + std::to_string(format_version) + ")");
        return std::nullopt;
    }
    const auto stored_crc = get_le<std::uint32_t>(bytes.data() + bytes.size() - crc_size);
    const auto computed_crc = crc_update(0, bytes.data(), bytes.size() - crc_size);
    if (stored_crc != computed_crc)
        problems.push_back("CRC mismatch: stored " + hex(stored_crc, "0x%08x") + ", computed " +
                           hex(computed_crc, "0x%08x") + " (corrupt or truncated file)");
    try {
        return parse_records(reader, problems);
    } catch (const ParseStop& stop) {
        problems.push_back(stop.problem);
        return std::nullopt;
    }
}

std::string describe(const Tensor& tensor) {
    return std::string(dtype_name(tensor.dtype())) + " " + shape_str(tensor.shape());
}

/// Pairs each target with the stored tensor of its name; appends a problem for each mismatch.
void match_section(std::uint8_t section, const NamedTensors& targets, const NamedTensors& stored,
                   std::vector<std::string>& problems, std::vector<std::pair<Tensor, Tensor>>& assignments) {
    const std::string noun = section_noun(section);
    std::unordered_map<std::string, const Tensor*> by_name;
    for (const auto& [name, tensor] : stored) by_name.emplace(name, &tensor);
    std::set<std::string> wanted;
    for (const auto& [name, target] : targets) {
        const std::string what = noun + " " + quote_name(name);
        if (!wanted.insert(name).second) {
            problems.push_back(what + " is listed twice among the tensors to load into");
            continue;
        }
        if (!target.defined()) {
            problems.push_back(what + ": the tensor to load into is undefined");
            continue;
        }
        const auto found = by_name.find(name);
        if (found == by_name.end()) {
            problems.push_back("missing " + what + " (" + describe(target) + ")");
            continue;
        }
        const Tensor& source = *found->second;
        bool fits = true;
        if (source.dtype() != target.dtype()) {
            problems.push_back(what + ": dtype " + dtype_name(source.dtype()) + " in the file, " +
                               dtype_name(target.dtype()) + " in the target");
            fits = false;
        }
        if (source.shape() != target.shape()) {
            problems.push_back(what + ": shape " + shape_str(source.shape()) + " in the file, " +
                               shape_str(target.shape()) + " in the target");
            fits = false;
        }
        if (fits) assignments.emplace_back(target, source);
    }
    for (const auto& [name, tensor] : stored) {
        if (wanted.count(name) == 0)
            problems.push_back("unexpected " + noun + " " + quote_name(name) + " (" + describe(tensor) + ")");
    }
}

/// "op: 'path': problem", or a count and one problem per line; just the problems if no op.
std::string format_problems(const std::string& operation, const std::filesystem::path& path,
                            const std::vector<std::string>& problems) {
    std::string text = operation.empty() ? "" : operation + ": '" + path.string() + "': ";
    if (problems.size() == 1) return text + problems.front();
    text += std::to_string(problems.size()) + " problems:";
    for (const auto& problem : problems) text += "\n  - " + problem;
    return text;
}

}  // namespace

// ---- Errors ------------------------------------------------------------------------------

checkpoint_error::checkpoint_error(const std::string& operation, std::filesystem::path path,
                                   std::vector<std::string> problems)
    : io_error(path, format_problems("", "", problems), format_problems(operation, path, problems)),
      problems_(std::move(problems)) {}

// ---- Public API --------------------------------------------------------------------------

void save_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                     const NamedTensors& optimizer_state) {
    const std::string operation = "save_checkpoint";
    std::vector<std::string> problems;
    check_section(parameter_section, parameters, problems);
    check_section(state_section, optimizer_state, problems);
    if (!problems.empty()) throw checkpoint_error(operation, path, std::move(problems));
    try {
        detail::write_atomically(path, operation, [&](const detail::ByteSink& sink) {
            std::uint32_t crc = 0;
            auto emit = [&](const void* data, std::size_t size) {
                crc = crc_update(crc, data, size);
                sink(data, size);
            };
            std::string header(magic, sizeof magic);
            put_le<std::uint32_t>(header, format_version);
            put_le<std::uint64_t>(header, parameters.size() + optimizer_state.size());
            emit(header.data(), header.size());
            for (const auto& [name, tensor] : parameters) write_record(parameter_section, name, tensor, emit);
            for (const auto& [name, tensor] : optimizer_state) write_record(state_section, name, tensor, emit);
            std::string trailer;
            put_le<std::uint32_t>(trailer, crc);
            sink(trailer.data(), trailer.size());
        });
    } catch (const io_error& error) {
        throw checkpoint_error(operation, path, {error.problem()});
    }
}

void save_checkpoint(const std::filesystem::path& path, const Module& module,
                     const NamedTensors& optimizer_state) {
    save_checkpoint(path, module.named_parameters(), optimizer_state);
}

Checkpoint read_checkpoint(const std::filesystem::path& path) {
    const std::string operation = "read_checkpoint";
    const std::vector<unsigned char> bytes = read_file(path, operation);
    std::vector<std::string> problems;
    std::optional<Checkpoint> checkpoint = parse_checkpoint(bytes, problems);
    if (!problems.empty()) throw checkpoint_error(operation, path, std::move(problems));
    return std::move(*checkpoint);
}

void load_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                     const NamedTensors* optimizer_state) {
    const std::string operation = "load_checkpoint";
    const std::vector<unsigned char> bytes = read_file(path, operation);
    std::vector<std::string> problems;
    const std::optional<Checkpoint> stored = parse_checkpoint(bytes, problems);
    std::vector<std::pair<Tensor, Tensor>> assignments;  // (target, source), all validated
    if (stored) {
        match_section(parameter_section, parameters, stored->parameters, problems, assignments);
        if (optimizer_state != nullptr)
            match_section(state_section, *optimizer_state, stored->optimizer_state, problems, assignments);
    }
    if (!problems.empty()) throw checkpoint_error(operation, path, std::move(problems));
    // Note: nothing below can fail, so the targets change all together or not at all.
    for (auto& assignment : assignments) {
        Tensor& target = assignment.first;
        visit(assignment.second, [&target](const auto& source) {
            using T = typename std::decay_t<decltype(source)>::value_type;
            std::copy(source.data(), source.data() + source.size(), target.mutable_value<T>().data());
        });
    }
}

void load_checkpoint(const std::filesystem::path& path, Module& module, const NamedTensors* optimizer_state) {
    load_checkpoint(path, module.named_parameters(), optimizer_state);
}

}  // namespace xgrad::nn
