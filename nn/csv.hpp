#pragma once
/// Numeric CSV files read through xt::load_csv, with the validation it lacks.

#include <filesystem>
#include <string>
#include <vector>

#include <autograd/autograd.hpp>

#include "atomic_file.hpp"
#include "data.hpp"

namespace xgrad::nn {

/// A (rows, columns) tensor of `dtype` from a plain numeric CSV file (no quoting).
/// The first `skip_rows` lines are skipped verbatim (headers); after them, lines starting
/// with '#' and blank lines are ignored, a trailing '\r' is dropped, and spaces or tabs
/// around a field are allowed. A file without data rows gives shape (0, 0).
/// Throws value_error naming the path (and the line and field where there is one) for a
/// missing or unreadable file, an empty or non-numeric field, a value out of the dtype's
/// range, or a row whose field count differs from the first data row's.
Tensor read_csv(const std::string& path, std::size_t skip_rows = 0, char delimiter = ',',
                Dtype dtype = Dtype::float64);

/// A classification dataset from a (N, D) table: column `label_column` becomes the labels
/// and the other D - 1 columns, in order, the inputs (same dtype). Throws shape_error if the
/// table is not 2-D or the column does not exist, value_error naming the row if a label is
/// not a whole number >= 0.
Dataset split_label_column(const Tensor& table, std::size_t label_column);

/// Writes a (rows, columns) tensor as CSV through xt::dump_csv, every value with enough digits
/// to read back exactly, after one header line of `header` joined by commas (none if empty),
/// atomically (see atomic_file.hpp). Throws shape_error for a tensor that is not 2-D or a
/// header whose length is not the column count, value_error for a header name holding a comma,
/// quote or line break, io_error if the file cannot be written.
void write_csv(const std::filesystem::path& path, const Tensor& table,
               const std::vector<std::string>& header = {});

}  // namespace xgrad::nn
