// Datasets, the seeded loader, splitting, standardisation, one_hot and accuracy.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include <nn/data.hpp>

#include "support/check.hpp"

using namespace xgrad;
using namespace xgrad::nn;
using xgrad::testing::check_throws_with;

namespace {

/// n samples whose input row i is (i, -i) and whose label is i, so a batch shows its ids.
Dataset numbered(std::size_t n) {
    auto inputs = xt::xarray<double>::from_shape({n, 2});
    auto labels = Labels::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) {
        inputs(i, 0) = static_cast<double>(i);
        inputs(i, 1) = -static_cast<double>(i);
        labels(i) = static_cast<std::int64_t>(i);
    }
    return Dataset(Tensor(std::move(inputs)), std::move(labels));
}

/// The sample ids of a batch of `numbered`, checking that inputs and labels stay aligned.
std::vector<std::int64_t> ids(const Batch& batch) {
    const auto& inputs = batch.inputs().value<double>();
    std::vector<std::int64_t> result(batch.labels().begin(), batch.labels().end());
    for (std::size_t i = 0; i < result.size(); ++i) {
        CHECK(inputs(i, 0) == static_cast<double>(result[i]));
        CHECK(inputs(i, 1) == -static_cast<double>(result[i]));
    }
    return result;
}

/// One range-for pass: the ids in visiting order and the size of each batch.
std::vector<std::int64_t> pass(DataLoader& loader, std::vector<std::size_t>* sizes = nullptr) {
    std::vector<std::int64_t> order;
    for (const Batch& batch : loader) {
        const auto batch_ids = ids(batch);
        if (sizes != nullptr) sizes->push_back(batch_ids.size());
        order.insert(order.end(), batch_ids.begin(), batch_ids.end());
    }
    return order;
}

std::vector<std::int64_t> iota_ids(std::size_t n) {
    std::vector<std::int64_t> result(n);
    std::iota(result.begin(), result.end(), 0);
    return result;
}

std::vector<std::int64_t> sorted(std::vector<std::int64_t> values) {
    std::sort(values.begin(), values.end());
    return values;
}

}  // namespace

TEST_CASE("a dataset checks that inputs and targets have the same number of rows") {
    const Tensor inputs = zeros({3, 2});
    check_throws_with<shape_error>([&] { Dataset(inputs, Labels{1, 2, 3, 4}); }, {"(3, 2)", "4 labels"});
    check_throws_with<shape_error>([&] { Dataset(inputs, zeros({2, 1})); }, {"(3, 2)", "(2, 1)"});
    check_throws_with<shape_error>([&] { Dataset(scalar(1.0), Labels{}); }, {"shape ()"});

    const Dataset regression(inputs, ones({3, 1}));
    CHECK(regression.size() == 3);
    CHECK_FALSE(regression.has_labels());
    check_throws_with<value_error>([&] { regression.labels(); }, {"regression"});
    const Dataset picked = numbered(5).subset({4, 1, 1});
    CHECK(ids(picked) == std::vector<std::int64_t>{4, 1, 1});
    check_throws_with<value_error>([&] { numbered(5).subset({5}); }, {"index 5", "5 rows"});
}

TEST_CASE("every epoch visits every sample exactly once, the last batch partial") {
    DataLoader loader(numbered(10), 3, true, 7);
    CHECK(loader.size() == 4);
    for (int epoch = 0; epoch < 3; ++epoch) {
        std::vector<std::size_t> sizes;
        CHECK(sorted(pass(loader, &sizes)) == iota_ids(10));
        CHECK(sizes == std::vector<std::size_t>{3, 3, 3, 1});
    }
    CHECK(loader.epochs_started() == 3);
}

TEST_CASE("drop_last leaves out the partial batch") {
    DataLoader loader(numbered(10), 3, true, 7, true);
    CHECK(loader.size() == 3);
    std::vector<std::size_t> sizes;
    const auto visited = pass(loader, &sizes);
    CHECK(sizes == std::vector<std::size_t>{3, 3, 3});
    CHECK(std::set<std::int64_t>(visited.begin(), visited.end()).size() == 9);
    CHECK(DataLoader(numbered(2), 3, true, 0, true).size() == 0);
}

TEST_CASE("the same seed gives the same orders; another seed or epoch reshuffles") {
    DataLoader first(numbered(20), 4, true, 42);
    DataLoader again(numbered(20), 4, true, 42);
    DataLoader other(numbered(20), 4, true, 43);
    const auto epoch0 = pass(first);
    const auto epoch1 = pass(first);
    CHECK(epoch0 == pass(again));
    CHECK(epoch1 == pass(again));
    CHECK(epoch0 != epoch1);
    CHECK(epoch0 != pass(other));
    CHECK(epoch0 != iota_ids(20));

    DataLoader in_order(numbered(20), 4, false);
    CHECK(pass(in_order) == iota_ids(20));
    CHECK(pass(in_order) == iota_ids(20));
}

TEST_CASE("next_epoch gives an epoch to index or iterate, which outlives the loader") {
    DataLoader::Epoch epoch;
    std::vector<std::int64_t> by_range_for;
    {
        DataLoader loader(numbered(5), 2, true, 3);
        DataLoader twin(numbered(5), 2, true, 3);
        epoch = loader.next_epoch();
        CHECK(loader.epochs_started() == 1);
        by_range_for = pass(twin);  // the first epoch of an identically seeded loader
    }
    CHECK(epoch.size() == 3);
    std::vector<std::int64_t> by_index;
    for (std::size_t b = 0; b < epoch.size(); ++b) {
        const auto batch_ids = ids(epoch[b]);
        by_index.insert(by_index.end(), batch_ids.begin(), batch_ids.end());
    }
    CHECK(by_index == by_range_for);
    CHECK(by_index == std::vector<std::int64_t>(epoch.order().begin(), epoch.order().end()));
    std::size_t batches = 0;
    for (auto& batch : epoch) batches += batch.size() > 0;
    CHECK(batches == 3);
    check_throws_with<value_error>([&] { epoch[3]; }, {"batch 3", "3 batches"});
}

TEST_CASE("regression targets travel with their inputs") {
    const Tensor inputs(xt::xarray<double>{{0, 9}, {1, 9}, {2, 9}, {3, 9}});
    const Tensor targets(xt::xarray<float>{{0, 0}, {10, 11}, {20, 22}, {30, 33}});
    DataLoader loader(Dataset(inputs, targets), 3, true, 5);
    for (const Batch& batch : loader) {
        const auto& x = batch.inputs().value<double>();
        const auto& y = batch.target_values().value<float>();
        REQUIRE(y.shape()[0] == x.shape()[0]);
        for (std::size_t i = 0; i < x.shape()[0]; ++i) CHECK(y(i, 1) == 11.0f * float(x(i, 0)));
    }
}

TEST_CASE("batch_size 0 throws and an empty dataset has zero batches") {
    check_throws_with<value_error>([] { DataLoader(numbered(3), 0); }, {"batch_size", "0"});
    for (const Dataset& empty : {Dataset(), Dataset(zeros({0, 4}), Labels{})}) {
        DataLoader loader(empty, 8);
        CHECK(loader.size() == 0);
        CHECK(pass(loader).empty());
        CHECK(loader.next_epoch().size() == 0);
    }
}

TEST_CASE("random_permutation is a fixed function of the generator state") {
    Generator generator(0);
    const Indices order = random_permutation(8, generator);
    std::vector<std::int64_t> as_ids(order.begin(), order.end());
    CHECK(sorted(as_ids) == iota_ids(8));
    // Our own Fisher-Yates over mt19937_64 (both fully specified), not std::shuffle, whose
    // algorithm differs between standard libraries. Derived independently in Python.
    CHECK(order == Indices{4, 5, 2, 0, 7, 1, 3, 6});
    CHECK(random_permutation(0, generator).empty());
}

TEST_CASE("train_validation_split is seeded, sized by rounding, and disjoint") {
    const Dataset data = numbered(10);
    const auto [train, validation] = train_validation_split(data, 0.25, 11);
    CHECK(validation.size() == 3);  // round(2.5) = 3
    CHECK(train.size() == 7);
    auto all = ids(train);
    const auto held_out = ids(validation);
    CHECK(std::is_sorted(all.begin(), all.end()));
    CHECK(std::is_sorted(held_out.begin(), held_out.end()));
    all.insert(all.end(), held_out.begin(), held_out.end());
    CHECK(sorted(all) == iota_ids(10));

    CHECK(ids(train_validation_split(data, 0.25, 11).validation) == held_out);
    CHECK(ids(train_validation_split(data, 0.25, 12).validation) != held_out);
    CHECK(train_validation_split(data, 0.0, 1).validation.size() == 0);
    CHECK(train_validation_split(data, 1.0, 1).train.size() == 0);
    for (double bad : {-0.1, 1.5, std::nan("")}) {
        check_throws_with<value_error>([&] { train_validation_split(data, bad, 1); }, {"[0, 1]"});
    }
}

TEST_CASE("standardize uses the training statistics and only centres constant columns") {
    const Tensor train(xt::xarray<double>{{1, 10, 0.1}, {3, 20, 0.1}, {2, 15, 0.1}});
    const ColumnStats stats = column_stats(train);
    CHECK(stats.mean(0) == doctest::Approx(2.0));
    CHECK(stats.mean(1) == doctest::Approx(15.0));
    CHECK(stats.scale(0) == doctest::Approx(std::sqrt(2.0 / 3.0)));
    CHECK(stats.scale(2) == 1.0);  // constant, although 0.1 * 3 / 3 rounds away from 0.1

    const Tensor scaled = standardize(train, stats);
    const auto& values = scaled.value<double>();
    CHECK(values(1, 0) == doctest::Approx(1.0 / std::sqrt(2.0 / 3.0)));
    CHECK(values(0, 1) == doctest::Approx(-std::sqrt(1.5)));
    CHECK(std::abs(values(0, 2)) < 1e-15);

    const Tensor other(xt::xarray<float>{{2, 25, 3.1f}});
    const Tensor applied = standardize(other, stats);
    CHECK(applied.dtype() == Dtype::float32);
    CHECK(applied.value<float>()(0, 0) == doctest::Approx(0.0));
    CHECK(applied.value<float>()(0, 2) == doctest::Approx(3.0));

    check_throws_with<shape_error>([&] { standardize(zeros({2, 4}), stats); }, {"(2, 4)", "(N, 3)"});
    check_throws_with<shape_error>([&] { column_stats(zeros({4})); }, {"(4,)"});
    check_throws_with<value_error>([&] { column_stats(zeros({0, 3})); }, {"(0, 3)"});
}

TEST_CASE("one_hot puts a 1 at each label and rejects labels out of range") {
    CHECK(one_hot(Labels{2, 0}, 3).value<float>() == xt::xarray<float>{{0, 0, 1}, {1, 0, 0}});
    CHECK(one_hot(Labels{1}, 2, Dtype::float64).dtype() == Dtype::float64);
    check_throws_with<value_error>([] { one_hot(Labels{0, 3}, 3); }, {"label 3", "position 1", "[0, 3)"});
    check_throws_with<value_error>([] { one_hot(Labels{-1}, 3); }, {"label -1", "position 0"});
}

TEST_CASE("accuracy takes the argmax of each row, the first on ties") {
    const Tensor scores(xt::xarray<double>{{0.1, 0.9}, {0.8, 0.2}, {0.5, 0.5}});
    CHECK(accuracy(scores, Labels{1, 1, 0}) == doctest::Approx(2.0 / 3.0));
    CHECK(accuracy(scores, Labels{1, 0, 0}) == 1.0);
    check_throws_with<shape_error>([&] { accuracy(scores, Labels{1, 0}); }, {"(3, 2)", "2 labels"});
    check_throws_with<shape_error>([] { accuracy(zeros({3}), Labels{1, 0, 0}); }, {"(3,)"});
    check_throws_with<value_error>([] { accuracy(zeros({0, 2}), Labels{}); }, {"no rows"});
}
