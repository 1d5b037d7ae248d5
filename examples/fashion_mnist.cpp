// The main demo: an MLP learns Fashion-MNIST (60,000 28x28 greyscale images of clothing in
// 10 classes) from Debian's dataset-fashion-mnist package. Each epoch shows a live progress
// bar and the validation accuracy; at the end it prints the test accuracy and the time
// taken, saves the model as a checkpoint, and writes the loss and accuracy curves as CSV
// (and as a PNG when gnuplot is installed).

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <xtensor/xview.hpp>

#include <nn/nn.hpp>

#include "support/progress_bar.hpp"
#include "support/tools.hpp"

using namespace xgrad;
namespace fs = std::filesystem;

namespace {

const char* class_names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

struct Options {
    std::vector<std::size_t> hidden = {512, 256};
    std::string activation = "relu";
    int epochs = 20;
    std::size_t batch_size = 128;
    std::string optimizer = "adamw";
    double lr = 1e-3;
    double weight_decay = 1e-2;
    std::uint64_t seed = 0;
    int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::string data_dir = "/usr/share/datasets/fashion-mnist";
    std::size_t limit = 0, test_limit = 0;
    std::size_t validation = 5000;
    std::string output_dir = "fashion_mnist_output";
};

/// Images and labels of one split ("train" or "t10k"), the first `limit` samples if limit > 0.
nn::Dataset load(const Options& o, const std::string& split, std::size_t limit) {
    const fs::path dir(o.data_dir);
    Tensor images = nn::read_idx_images((dir / (split + "-images-idx3-ubyte.gz")).string());
    Labels labels = nn::read_idx_labels((dir / (split + "-labels-idx1-ubyte.gz")).string());
    if (limit > 0 && limit < labels.size()) {
        images = slice_rows(images, 0, limit);
        labels = Labels(xt::view(labels, xt::range(0, limit)));
    }
    return nn::Dataset(images, labels);
}

std::unique_ptr<nn::Optimizer> make_optimizer(const Options& o, std::vector<Tensor> parameters) {
    if (o.optimizer == "sgd") return std::make_unique<nn::SGD>(std::move(parameters), o.lr, 0.9, 0.0, o.weight_decay, true);
    if (o.optimizer == "adam") return std::make_unique<nn::Adam>(std::move(parameters), o.lr, 0.9, 0.999, 1e-8, o.weight_decay);
    return std::make_unique<nn::AdamW>(std::move(parameters), o.lr, 0.9, 0.999, 1e-8, o.weight_decay);
}

/// Test accuracy per class: which garments the model confuses.
void print_class_accuracy(nn::MLP& model, const nn::Dataset& test) {
    NoGradGuard no_grad;
    const Tensor logits = model(test.inputs());
    const float* row = logits.value<float>().data();
    std::array<std::size_t, 10> correct{}, count{};
    for (std::size_t i = 0; i < test.size(); ++i, row += 10) {
        const auto label = static_cast<std::size_t>(test.labels()(i));
        ++count.at(label);
        correct[label] += static_cast<std::size_t>(std::max_element(row, row + 10) - row) == label;
    }
    std::string line = "per class:";
    for (std::size_t c = 0; c < 10; ++c) {
        if (count[c] > 0) line += fmt::format(" {} {:.2f}", class_names[c], double(correct[c]) / count[c]);
    }
    fmt::print("{}\n", line);
}

std::string plot_script(const fs::path& csv, const fs::path& png) {
    return fmt::format(
        "set terminal pngcairo size 1000,420\nset output '{1}'\nset datafile separator ','\n"
        "set multiplot layout 1,2 title 'Fashion-MNIST MLP'\nset xlabel 'epoch'\nset key top right\n"
        "set title 'loss'\nplot '{0}' skip 1 using 1:2 with linespoints title 'train', "
        "'' skip 1 using 1:3 with linespoints title 'validation'\n"
        "set title 'accuracy'\nset key bottom right\nplot '{0}' skip 1 using 1:4 with linespoints title 'validation'\n"
        "unset multiplot\n", csv.string(), png.string());
}

}  // namespace

/// Loads the data, trains, evaluates and writes the outputs; returns the exit code.
int train_and_report(const Options& o) {
    const fs::path probe = fs::path(o.data_dir) / "train-images-idx3-ubyte.gz";
    if (!fs::exists(probe)) {
        fmt::print(stderr, "Fashion-MNIST not found: {} does not exist.\nInstall it with: "
                           "apt-get install dataset-fashion-mnist (or pass --data-dir)\n", probe.string());
        return 2;
    }
    set_num_threads(o.threads);
    fs::create_directories(o.output_dir);

    const nn::Dataset all = load(o, "train", o.limit), test = load(o, "t10k", o.test_limit);
    if (o.validation >= all.size()) {
        fmt::print(stderr, "--validation {} leaves no training images out of {}\n", o.validation, all.size());
        return 2;
    }
    const auto split = nn::train_validation_split(all, static_cast<double>(o.validation) / all.size(), o.seed);
    std::vector<std::size_t> sizes = {784};
    sizes.insert(sizes.end(), o.hidden.begin(), o.hidden.end());
    sizes.push_back(10);
    nn::MLP model(sizes, {nn::parse_activation(o.activation), nn::Activation::identity, o.seed});
    std::unique_ptr<nn::Optimizer> optimizer = make_optimizer(o, model.parameters());
    nn::CosineAnnealingLR schedule(*optimizer, o.epochs);
    nn::DataLoader loader(split.train, o.batch_size, /*shuffle=*/true, o.seed);

    std::string layers;
    for (std::size_t size : sizes) layers += (layers.empty() ? "" : "-") + std::to_string(size);
    fmt::print("Fashion-MNIST: {} training, {} validation, {} test images; MLP {} ({}), {} lr {}, "
               "batch {}, {} BLAS thread(s)\n", split.train.size(), split.validation.size(), test.size(), layers,
               o.activation, o.optimizer, o.lr, o.batch_size, o.threads);

    const bool live = examples::is_terminal(stdout);
    std::vector<std::array<double, 5>> curves;  // epoch, train loss, validation loss, accuracy, seconds
    const auto start = std::chrono::steady_clock::now();
    for (int epoch = 1; epoch <= o.epochs; ++epoch) {
        const nn::DataLoader::Epoch batches = loader.next_epoch();
        examples::ProgressBar bar(fmt::format("epoch {:>2}/{}", epoch, o.epochs), batches.size(), stdout, live);
        double loss_sum = 0.0;
        std::size_t samples = 0;
        for (std::size_t i = 0; i < batches.size(); ++i) {
            const nn::Batch batch = batches[i];
            optimizer->zero_grad();
            const Tensor loss = nn::cross_entropy(model(batch.inputs()), batch.labels());
            loss.backward();
            optimizer->step();
            loss_sum += loss.item() * batch.size();
            samples += batch.size();
            bar.update(i + 1, samples, loss_sum / samples);
        }
        schedule.step();
        const nn::Evaluation validation = nn::evaluate_classifier(model, split.validation);
        bar.finish(fmt::format("  val loss {:.4f}  val acc {:.4f}", validation.loss, validation.accuracy));
        curves.push_back({double(epoch), loss_sum / samples, validation.loss, validation.accuracy, bar.elapsed()});
    }

    const nn::Evaluation result = nn::evaluate_classifier(model, test);
    fmt::print("test accuracy {:.4f} (loss {:.4f}) on {} images; took {}\n", result.accuracy, result.loss,
               result.samples, examples::format_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()));
    print_class_accuracy(model, test);

    const fs::path out(o.output_dir);
    nn::save_checkpoint(out / "model.xgck", model, optimizer->state());
    auto table = xt::xarray<double>::from_shape({curves.size(), 5});
    for (std::size_t r = 0; r < curves.size(); ++r)
        for (std::size_t c = 0; c < 5; ++c) table(r, c) = curves[r][c];
    nn::write_csv(out / "curves.csv", Tensor(std::move(table)),
                  {"epoch", "train_loss", "validation_loss", "validation_accuracy", "seconds"});
    fmt::print("wrote {}, {}", (out / "model.xgck").string(), (out / "curves.csv").string());
    if (examples::run_gnuplot(plot_script(out / "curves.csv", out / "curves.png")))
        fmt::print(", {}", (out / "curves.png").string());
    fmt::print("\n");
    return 0;
}

int main(int argc, char** argv) {
    Options o;
    CLI::App app("Trains an MLP on Fashion-MNIST (apt-get install dataset-fashion-mnist)");
    app.add_option("--hidden", o.hidden, "hidden layer sizes, e.g. 512,256")->delimiter(',')->capture_default_str();
    app.add_option("--activation", o.activation, "hidden activation")
        ->capture_default_str()->check(CLI::IsMember({"relu", "tanh", "sigmoid", "leaky_relu", "identity"}));
    app.add_option("--epochs", o.epochs, "passes over the training set")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--batch-size", o.batch_size, "samples per step")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--optimizer", o.optimizer, "adamw, adam or sgd (Nesterov momentum 0.9)")
        ->capture_default_str()->check(CLI::IsMember({"adamw", "adam", "sgd"}));
    app.add_option("--lr", o.lr, "initial learning rate (cosine-annealed to 0)")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--weight-decay", o.weight_decay, "decoupled for adamw, L2 otherwise")->capture_default_str()->check(CLI::NonNegativeNumber);
    app.add_option("--seed", o.seed, "initialisation, split and shuffling seed")->capture_default_str();
    app.add_option("--threads", o.threads, "BLAS threads")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--data-dir", o.data_dir, "directory of the *-ubyte.gz files")->capture_default_str();
    app.add_option("--limit", o.limit, "use only the first N training images (0: all)")->capture_default_str();
    app.add_option("--test-limit", o.test_limit, "use only the first N test images (0: all)")->capture_default_str();
    app.add_option("--validation", o.validation, "training images held out for validation")->capture_default_str();
    app.add_option("--output-dir", o.output_dir, "where the checkpoint and curves go")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    try {
        return train_and_report(o);
    } catch (const std::exception& error) {  // a damaged data file, an unwritable output directory
        fmt::print(stderr, "fashion_mnist: {}\n", error.what());
        return 1;
    }
}
