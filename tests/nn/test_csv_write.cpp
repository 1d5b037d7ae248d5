// CSV writing: tables round-trip exactly through read_csv; bad shapes and headers are refused.

#include <doctest/doctest.h>

#include <string>

#include <nn/csv.hpp>

#include "support/check.hpp"
#include "support/temp_dir.hpp"

using namespace xgrad;
using namespace xgrad::nn;
using xgrad::testing::TempDir;
using xgrad::testing::check_throws_with;
using xgrad::testing::read_bytes;

TEST_CASE("write_csv writes a header and values that read back exactly") {
    TempDir dir;
    const std::string path = dir.file("curve.csv");
    const Tensor table({{1.0, 0.1}, {2.0, 1.0 / 3.0}, {3.0, -2e-300}}, Dtype::float64);
    write_csv(path, table, {"epoch", "loss"});
    CHECK(read_bytes(path).rfind("epoch,loss\n1,0.1", 0) == 0);
    CHECK(read_csv(path, 1).value<double>() == table.value<double>());

    const Tensor narrow({{0.1, 1.0 / 3.0}}, Dtype::float32);
    write_csv(path, narrow);
    CHECK(read_csv(path, 0, ',', Dtype::float32).value<float>() == narrow.value<float>());
}

TEST_CASE("write_csv refuses tensors that are not tables and headers that do not fit") {
    TempDir dir;
    const std::string path = dir.file("bad.csv");
    check_throws_with<shape_error>([&] { write_csv(path, ones({3})); }, {"write_csv", path, "2-D", "(3,)"});
    check_throws_with<shape_error>([&] { write_csv(path, ones({2, 3}), {"a", "b"}); },
                                   {"2 header names", "(2, 3)"});
    check_throws_with([&] { write_csv(path, ones({1, 2}), {"a,b", "c"}); }, {"'a,b'", "comma"});
    CHECK(dir.entries().empty());
    write_csv(path, ones({1, 2}), {"a", "b"});
    CHECK(read_bytes(path) == "a,b\n1,1\n");
}
