#include "broadcast.hpp"

#include <algorithm>

namespace xgrad {

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
    if (a == b) return a;
    const std::size_t rank = std::max(a.size(), b.size());
    Shape result(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        // Axes are aligned from the right; a missing axis counts as extent 1.
        const std::size_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const std::size_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da != db && da != 1 && db != 1) {
            throw shape_error(std::string(op) + ": shapes " + shape_str(a) + " and " +
                              shape_str(b) + " cannot be broadcast together");
        }
        result[i] = da == 1 ? db : da;
    }
    return result;
}

bool can_sum_to(const Shape& from, const Shape& to) {
    if (to.size() > from.size()) return false;
    const std::size_t lead = from.size() - to.size();
    for (std::size_t i = 0; i < to.size(); ++i) {
        if (to[i] != from[lead + i] && to[i] != 1) return false;
    }
    return true;
}

}  // namespace xgrad
