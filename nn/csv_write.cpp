// CSV writing: a header line of our own, then the numbers through xt::dump_csv.

#include <limits>
#include <sstream>

#include <xtensor/xcsv.hpp>

#include "csv.hpp"

namespace xgrad::nn {

void write_csv(const std::filesystem::path& path, const Tensor& table, const std::vector<std::string>& header) {
    const std::string where = "write_csv: '" + path.string() + "': ";
    if (table.dim() != 2) {
        throw shape_error(where + "a CSV table needs a 2-D tensor, got shape " + shape_str(table.shape()));
    }
    if (!header.empty() && header.size() != table.shape()[1]) {
        throw shape_error(where + std::to_string(header.size()) + " header names for a table of shape " +
                          shape_str(table.shape()));
    }
    std::ostringstream text;
    for (std::size_t i = 0; i < header.size(); ++i) {
        if (header[i].find_first_of(",\"\r\n") != std::string::npos) {
            throw value_error(where + "header name '" + header[i] +
                              "' holds a comma, quote or line break, which plain CSV cannot hold");
        }
        text << (i ? "," : "") << header[i];
    }
    if (!header.empty()) text << '\n';
    visit(table, [&](const auto& array) {
        using T = typename std::decay_t<decltype(array)>::value_type;
        text.precision(std::numeric_limits<T>::max_digits10);
        xt::dump_csv(text, array);
    });
    const std::string bytes = text.str();
    detail::write_atomically(path, "write_csv", [&](const detail::ByteSink& sink) {
        sink(bytes.data(), bytes.size());
    });
}

}  // namespace xgrad::nn
