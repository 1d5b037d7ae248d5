#include "progress_bar.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/core.h>

namespace xgrad::examples {

namespace {

constexpr std::size_t bar_width = 20;
constexpr double redraw_interval = 0.1;  // seconds

double steady_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "--:--";
    const auto total = static_cast<long long>(std::llround(seconds));
    const long long hours = total / 3600, minutes = total / 60 % 60, secs = total % 60;
    if (hours > 0) return fmt::format("{}:{:02}:{:02}", hours, minutes, secs);
    return fmt::format("{}:{:02}", minutes, secs);
}

std::string format_count(double count) {
    if (!std::isfinite(count)) return "-";
    const char* suffixes[] = {"", "k", "M", "G"};
    std::size_t power = 0;
    while (std::abs(count) >= 999.5 && power < 3) {
        count /= 1000.0;
        ++power;
    }
    if (power == 0) return fmt::format("{:.0f}", count);
    return fmt::format("{:.{}f}{}", count, std::abs(count) < 9.995 ? 2 : std::abs(count) < 99.95 ? 1 : 0,
                       suffixes[power]);
}

bool is_terminal(std::FILE* stream) { return ::isatty(::fileno(stream)) == 1; }

ProgressBar::ProgressBar(std::string title, std::size_t total, std::FILE* out, bool live, Clock clock)
    : title_(std::move(title)),
      total_(total),
      out_(out),
      live_(live),
      clock_(clock ? std::move(clock) : Clock(steady_seconds)),
      start_(clock_()) {}

double ProgressBar::elapsed() const { return clock_() - start_; }

std::string ProgressBar::line() const {
    const double fraction = total_ == 0 ? 1.0 : std::min(1.0, static_cast<double>(steps_) / total_);
    const auto filled = static_cast<std::size_t>(fraction * bar_width);
    std::string bar(filled, '=');
    if (filled < bar_width) bar += steps_ > 0 ? ">" : " ";
    bar.resize(bar_width, ' ');

    const double seconds = elapsed();
    const double rate = seconds > 0 ? samples_ / seconds : NAN;
    const double eta = steps_ > 0 ? seconds / steps_ * (total_ - std::min(steps_, total_)) : NAN;
    const int width = static_cast<int>(std::to_string(total_).size());
    return fmt::format("{} [{}] {:>{}}/{}  loss {:.4f}  {} samples/s  {} {}", title_, bar, steps_, width,
                       total_, loss_, format_count(rate), steps_ >= total_ ? "took" : "ETA",
                       format_duration(steps_ >= total_ ? seconds : eta));
}

void ProgressBar::update(std::size_t steps, std::size_t samples, double loss) {
    steps_ = steps;
    samples_ = samples;
    loss_ = loss;
    if (!live_) return;
    const double now = clock_();
    if (last_draw_ >= 0 && now - last_draw_ < redraw_interval && steps_ < total_) return;
    last_draw_ = now;
    fmt::print(out_, "\r{}\033[K", line());  // \033[K clears what a longer line left behind
    std::fflush(out_);
}

void ProgressBar::finish(const std::string& suffix) {
    fmt::print(out_, "{}{}{}{}\n", live_ ? "\r" : "", line(), suffix, live_ ? "\033[K" : "");
    std::fflush(out_);
}

}  // namespace xgrad::examples
