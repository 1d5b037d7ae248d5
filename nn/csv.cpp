// CSV reading. Note [xt::load_csv]: measured with xtensor 0.24.3, load_csv on its own
//   - parses each field with std::stod/stof, which accept a numeric prefix: "1.5abc" is 1.5;
//   - reports a non-numeric or empty field as std::invalid_argument("stod"): no line, no path;
//   - checks only rows x (fields of the LAST row) == values read, so "1,2,3 / 4 / 5,6" loads
//     silently as a 3x2 table, and a blank line throws "Inconsistent row lengths in CSV";
//   - drops a trailing delimiter ("1,2," is two fields) and throws std::out_of_range for a
//     subnormal such as 1e-320;
//   - gives shape (0, 0) for a stream that failed to open.
// So read_csv checks every line first, keeping line numbers for the messages, and passes
// load_csv only the validated data rows; its result is then exactly the validated table.

#include "csv.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <xtensor/xcsv.hpp>

namespace xgrad::nn {

namespace {

/// `text` without leading and trailing spaces and tabs.
std::string trim(const std::string& text) {
    const std::size_t first = text.find_first_not_of(" \t");
    if (first == std::string::npos) return "";
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

/// True if all of `field` is one number representable in T (strtof/strtod, no ERANGE).
template <class T>
bool parses_as(const std::string& field) {
    if (field.empty()) return false;
    char* end = nullptr;
    errno = 0;
    if constexpr (std::is_same_v<T, float>) {
        std::strtof(field.c_str(), &end);
    } else {
        std::strtod(field.c_str(), &end);
    }
    return errno != ERANGE && end == field.c_str() + field.size();
}

/// The fields of one line split at `delimiter`; a trailing delimiter gives an empty field.
std::vector<std::string> split(const std::string& line, char delimiter) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    while (true) {
        const std::size_t stop = line.find(delimiter, start);
        fields.push_back(trim(line.substr(start, stop - start)));
        if (stop == std::string::npos) return fields;
        start = stop + 1;
    }
}

/// Validates the file line by line and returns its data rows, one per line, for load_csv.
template <class T>
std::string validated_rows(const std::string& path, std::size_t skip_rows, char delimiter,
                           std::size_t& rows, std::size_t& cols) {
    const std::string where = "read_csv: '" + path + "'";
    std::error_code ignored;
    if (std::filesystem::is_directory(path, ignored)) throw value_error(where + " is a directory");
    errno = 0;
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        throw value_error("read_csv: cannot open '" + path + "': " +
                          (errno != 0 ? std::strerror(errno) : "unknown error"));
    }
    std::string data;
    std::string line;
    std::size_t line_number = 0;
    std::size_t first_data_line = 0;
    rows = cols = 0;
    while (std::getline(file, line)) {
        ++line_number;
        if (line_number <= skip_rows) continue;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line_number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // BOM
        if (trim(line).empty() || line[0] == '#') continue;
        const std::vector<std::string> fields = split(line, delimiter);
        if (rows == 0) {
            cols = fields.size();
            first_data_line = line_number;
        } else if (fields.size() != cols) {
            throw value_error(where + " line " + std::to_string(line_number) + " has " +
                              std::to_string(fields.size()) + " fields, but line " +
                              std::to_string(first_data_line) + " has " + std::to_string(cols));
        }
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (!parses_as<T>(fields[i])) {
                throw value_error(where + " line " + std::to_string(line_number) + ", field " +
                                  std::to_string(i + 1) + ": '" + fields[i] + "' is not a " +
                                  dtype_name(dtype_of<T>()) + " number");
            }
            data += fields[i];
            data += i + 1 < fields.size() ? delimiter : '\n';
        }
        ++rows;
    }
    if (file.bad()) throw value_error(where + ": read error after line " +
                                      std::to_string(line_number));
    return data;
}

template <class T>
Tensor load_validated(const std::string& path, std::size_t skip_rows, char delimiter) {
    std::size_t rows = 0;
    std::size_t cols = 0;
    std::istringstream data(validated_rows<T>(path, skip_rows, delimiter, rows, cols));
    if (rows == 0) return Tensor(xt::xarray<T>::from_shape({0, 0}));
    xt::xtensor<T, 2> table;
    try {
        table = xt::load_csv<T>(data, delimiter);
    } catch (const std::exception& error) {
        throw value_error("read_csv: xt::load_csv failed on '" + path + "' after validation: " +
                          error.what());
    }
    if (table.shape()[0] != rows || table.shape()[1] != cols) {
        throw value_error("read_csv: xt::load_csv read '" + path + "' as shape " +
                          shape_str(Shape(table.shape().begin(), table.shape().end())) + ", validation found (" +
                          std::to_string(rows) + ", " + std::to_string(cols) + ")");
    }
    return Tensor(xt::xarray<T>(std::move(table)));
}

}  // namespace

Tensor read_csv(const std::string& path, std::size_t skip_rows, char delimiter, Dtype dtype) {
    if (delimiter == '\n' || delimiter == '\r' || delimiter == '#') {
        throw value_error(std::string("read_csv: delimiter may not be a line break or '#' (") +
                          "reading '" + path + "')");
    }
    return dtype == Dtype::float32 ? load_validated<float>(path, skip_rows, delimiter)
                                   : load_validated<double>(path, skip_rows, delimiter);
}

Dataset split_label_column(const Tensor& table, std::size_t label_column) {
    if (!table.defined()) throw value_error("split_label_column: table is undefined");
    if (table.dim() != 2 || label_column >= table.shape()[1]) {
        throw shape_error("split_label_column: column " + std::to_string(label_column) +
                          " does not exist in a table of shape " + shape_str(table.shape()) +
                          " (need 2-D)");
    }
    const std::size_t rows = table.shape()[0];
    const std::size_t cols = table.shape()[1];
    auto labels = Labels::from_shape({rows});
    Tensor inputs = visit(table, [&](const auto& array) {
        using T = typename std::decay_t<decltype(array)>::value_type;
        auto out = xt::xarray<T>::from_shape({rows, cols - 1});
        T* to = out.data();
        for (std::size_t i = 0; i < rows; ++i) {
            for (std::size_t j = 0; j < cols; ++j) {
                const T value = array.data()[i * cols + j];
                if (j != label_column) {
                    *to++ = value;
                    continue;
                }
                if (!(value >= 0 && value < T(9.2e18) && std::floor(value) == value)) {
                    throw value_error("split_label_column: row " + std::to_string(i) +
                                      " has label " + std::to_string(value) +
                                      ", not a whole number >= 0");
                }
                labels(i) = static_cast<std::int64_t>(value);
            }
        }
        return Tensor(std::move(out));
    });
    return Dataset(std::move(inputs), std::move(labels));
}

}  // namespace xgrad::nn
