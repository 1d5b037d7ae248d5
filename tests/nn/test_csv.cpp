// CSV reading: good files, skipped headers, and each kind of malformed input that
// xt::load_csv alone would misreport or accept silently (see Note [xt::load_csv]).

#include <doctest/doctest.h>

#include <string>

#include <nn/csv.hpp>

#include "support/check.hpp"
#include "support/temp_dir.hpp"

using namespace xgrad;
using namespace xgrad::nn;
using xgrad::testing::TempDir;
using xgrad::testing::check_throws_with;
TEST_CASE("a numeric CSV file reads as float64, or float32 on request") {
    TempDir dir;
    const std::string path = dir.write("good.csv", "1,2,3\n4.5,-5e-1,6\n");
    const Tensor table = read_csv(path);
    CHECK(table.dtype() == Dtype::float64);
    CHECK(table.value<double>() == xt::xarray<double>{{1, 2, 3}, {4.5, -0.5, 6}});
    const Tensor narrow = read_csv(path, 0, ',', Dtype::float32);
    CHECK(narrow.value<float>() == xt::xarray<float>{{1, 2, 3}, {4.5f, -0.5f, 6}});
}

TEST_CASE("headers are skipped; comments, blank lines, CRLF and padding are tolerated") {
    TempDir dir;
    const std::string header = dir.write("header.csv", "150,4,setosa,versicolor\n5.1,3.5,1.4,0\n");
    CHECK(read_csv(header, 1).value<double>() == xt::xarray<double>{{5.1, 3.5, 1.4, 0}});
    check_throws_with([&] { read_csv(header); }, {header, "line 1, field 3: 'setosa'"});

    const std::string messy = dir.write("messy.csv",
                                        "# comment\r\n 1 ;\t2\r\n\r\n   \n3;4\r\n# end\n5;6");
    CHECK(read_csv(messy, 0, ';').value<double>() == xt::xarray<double>{{1, 2}, {3, 4}, {5, 6}});
}

TEST_CASE("a file without data rows gives shape (0, 0)") {
    TempDir dir;
    CHECK(read_csv(dir.write("empty.csv", "")).shape() == Shape{0, 0});
    CHECK(read_csv(dir.write("only_header.csv", "x,y\n"), 1).shape() == Shape{0, 0});
}

TEST_CASE("ragged rows name both lines, even where xt::load_csv would accept them") {
    TempDir dir;
    // xt::load_csv loads this silently as a 3x2 table: 6 values = 3 rows x 2 (last row).
    const std::string six = dir.write("six.csv", "1,2,3\n4\n5,6\n");
    check_throws_with([&] { read_csv(six); }, {six, "line 2 has 1 fields, but line 1 has 3"});
    const std::string late = dir.write("late.csv", "a,b\n1,2\n\n3,4\n5,6,7\n");
    check_throws_with([&] { read_csv(late, 1); }, {late, "line 5 has 3 fields, but line 2 has 2"});
}

TEST_CASE("a non-numeric, partial, empty or out-of-range field names its line and field") {
    TempDir dir;
    const std::string word = dir.write("word.csv", "1,2\n3,x\n");
    check_throws_with([&] { read_csv(word); }, {word, "line 2, field 2: 'x' is not a float64"});
    // std::stod, inside xt::load_csv, would read "1.5abc" as 1.5.
    const std::string prefix = dir.write("prefix.csv", "1.5abc,2\n");
    check_throws_with([&] { read_csv(prefix); }, {prefix, "line 1, field 1: '1.5abc'"});
    const std::string gap = dir.write("gap.csv", "1,,2\n");
    check_throws_with([&] { read_csv(gap); }, {gap, "line 1, field 2: ''"});
    const std::string trailing = dir.write("trailing.csv", "1,2,\n");
    check_throws_with([&] { read_csv(trailing); }, {trailing, "line 1, field 3: ''"});
    const std::string huge = dir.write("huge.csv", "1e39\n");
    CHECK(read_csv(huge).value<double>()(0, 0) == 1e39);
    check_throws_with([&] { read_csv(huge, 0, ',', Dtype::float32); }, {huge, "'1e39' is not a float32"});
    check_throws_with([&] { read_csv(dir.write("huger.csv", "1e999\n")); }, {"'1e999'"});
}

TEST_CASE("a missing file, a directory and a bad delimiter are value errors") {
    TempDir dir;
    const std::string absent = dir.file("absent.csv");
    check_throws_with([&] { read_csv(absent); }, {"cannot open", absent, "No such file"});
    check_throws_with([&] { read_csv(dir.file("")); }, {"is a directory"});
    check_throws_with([&] { read_csv(dir.write("a.csv", "1\n"), 0, '\n'); }, {"delimiter"});
}

TEST_CASE("split_label_column separates whole-number labels from the inputs") {
    const Tensor table(xt::xarray<double>{{5.1, 0, 3.5}, {4.9, 2, 3.0}});
    const Dataset data = split_label_column(table, 1);
    CHECK(data.labels() == Labels{0, 2});
    CHECK(data.inputs().value<double>() == xt::xarray<double>{{5.1, 3.5}, {4.9, 3.0}});

    check_throws_with([&] { split_label_column(table, 0); }, {"row 0", "5.1"});
    check_throws_with<shape_error>([&] { split_label_column(table, 3); }, {"column 3", "(2, 3)"});
    const Tensor negative(xt::xarray<float>{{1, -1}});
    check_throws_with([&] { split_label_column(negative, 1); }, {"row 0", "-1"});
}
