// The fashion_mnist example, end to end on synthetic IDX files (always) and on a small subset
// of the real dataset (when dataset-fashion-mnist is installed).

#include <doctest/doctest.h>

#include <filesystem>

#include <nn/nn.hpp>

#include "support/run.hpp"
#include "support/temp_dir.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace fs = std::filesystem;

namespace {

/// `count` 28x28 images in Fashion-MNIST's files: class c is a bright 6x6 square at its own
/// place on a noisy background, so a small MLP can learn it in a few epochs.
void write_synthetic(const fs::path& dir, const std::string& split, std::size_t count, std::uint64_t seed) {
    Generator generator(seed);
    std::uniform_int_distribution<int> noise(0, 60), klass(0, 9);
    auto images = xt::xarray<std::uint8_t>::from_shape({count, 28, 28});
    auto labels = xt::xarray<std::uint8_t>::from_shape({count});
    for (std::size_t n = 0; n < count; ++n) {
        const int c = klass(generator);
        labels(n) = static_cast<std::uint8_t>(c);
        for (std::size_t r = 0; r < 28; ++r)
            for (std::size_t k = 0; k < 28; ++k) images(n, r, k) = static_cast<std::uint8_t>(noise(generator));
        const std::size_t top = (c / 5) * 12 + 4, left = (c % 5) * 5 + 1;
        for (std::size_t r = top; r < top + 6; ++r)
            for (std::size_t k = left; k < left + 6; ++k) images(n, r, k) = 255;
    }
    nn::write_idx(dir / (split + "-images-idx3-ubyte.gz"), images, nn::IdxCompression::gzip);
    nn::write_idx(dir / (split + "-labels-idx1-ubyte.gz"), labels, nn::IdxCompression::gzip);
}

}  // namespace

TEST_CASE("fashion_mnist trains, reports, checkpoints and writes curves (synthetic IDX files)") {
    TempDir dir;
    write_synthetic(dir.path(), "train", 1200, 1);
    write_synthetic(dir.path(), "t10k", 300, 2);
    const fs::path out = dir.path() / "out";
    const RunResult result = run(std::string(EXAMPLE_PATH) + " --data-dir " + dir.path().string() +
                                 " --output-dir " + out.string() +
                                 " --epochs 3 --hidden 32 --batch-size 64 --validation 200 --threads 1");
    REQUIRE_MESSAGE(result.exit_code == 0, result.output);
    const std::string& text = result.output;
    CHECK(text.find("1000 training, 200 validation, 300 test images; MLP 784-32-10") != std::string::npos);
    CHECK(numbers_after(text, R"(epoch +\d/3 .* val acc ([0-9.]+))").size() == 3);
    CHECK(number_after(text, R"(test accuracy ([0-9.]+))") >= 0.95);
    CHECK(text.find("took ") != std::string::npos);

    // The checkpoint loads into a model of the same architecture and gives the same accuracy.
    nn::MLP model({784, 32, 10});
    nn::load_checkpoint(out / "model.xgck", model);
    const nn::Dataset test(nn::read_idx_images((dir.path() / "t10k-images-idx3-ubyte.gz").string()),
                           nn::read_idx_labels((dir.path() / "t10k-labels-idx1-ubyte.gz").string()));
    CHECK(nn::evaluate_classifier(model, test).accuracy ==
          doctest::Approx(number_after(text, R"(test accuracy ([0-9.]+))")).epsilon(1e-3));

    const Tensor curves = nn::read_csv((out / "curves.csv").string(), 1);
    REQUIRE(curves.shape() == Shape{3, 5});
    for (std::size_t epoch = 0; epoch < 3; ++epoch) {
        CHECK(curves.value<double>()(epoch, 0) == epoch + 1.0);
        CHECK(curves.value<double>()(epoch, 3) > 0.0);
        CHECK(curves.value<double>()(epoch, 3) <= 1.0);
    }
    CHECK(curves.value<double>()(2, 1) < curves.value<double>()(0, 1));  // the training loss fell
}

TEST_CASE("fashion_mnist names the package to install when the dataset is missing") {
    TempDir dir;
    const RunResult result = run(std::string(EXAMPLE_PATH) + " --data-dir " + dir.file("absent"));
    CHECK(result.exit_code == 2);
    CHECK(result.output.find("apt-get install dataset-fashion-mnist") != std::string::npos);
    CHECK(result.output.find(dir.file("absent")) != std::string::npos);
}

TEST_CASE("fashion_mnist learns a subset of the real dataset") {
    const fs::path data = "/usr/share/datasets/fashion-mnist";
    if (!fs::exists(data / "train-images-idx3-ubyte.gz")) {
        MESSAGE("dataset-fashion-mnist is not installed; only the synthetic run was checked");
        return;
    }
    TempDir dir;
    const RunResult result = run(std::string(EXAMPLE_PATH) + " --output-dir " + dir.path().string() +
                                 " --limit 10000 --test-limit 2000 --validation 1000 --epochs 2 --hidden 128 --threads 1");
    REQUIRE_MESSAGE(result.exit_code == 0, result.output);
    CHECK(number_after(result.output, R"(test accuracy ([0-9.]+))") >= 0.75);
}
