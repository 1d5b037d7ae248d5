#pragma once
/// A one-line progress bar for training loops, drawn with fmt:
///   epoch  3/20 [=========>          ]  215/430  loss 0.3123  45.2k samples/s  ETA 0:03
/// On a terminal it redraws in place (at most 10 times a second); elsewhere (a log, a pipe)
/// it prints only the finished line, so logs stay readable.

#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>

namespace xgrad::examples {

/// "0:07", "12:34", "1:02:03": whole seconds as [h:]mm:ss (m:ss under an hour).
std::string format_duration(double seconds);
/// "950", "45.2k", "1.3M": a count with an SI suffix, three significant digits.
std::string format_count(double count);

class ProgressBar {
public:
    /// Seconds since some fixed point; the default reads std::chrono::steady_clock.
    using Clock = std::function<double()>;

    /// A bar titled `title` for `total` steps, drawn to `out`; `live` redraws in place.
    ProgressBar(std::string title, std::size_t total, std::FILE* out = stdout, bool live = false,
                Clock clock = {});

    /// Records that `steps` steps are done (cumulative), `samples` samples processed so far,
    /// and the running loss; redraws when live.
    void update(std::size_t steps, std::size_t samples, double loss);
    /// Prints the final line followed by `suffix` (e.g. validation accuracy) and a newline.
    void finish(const std::string& suffix = "");
    /// The line as it would be drawn now, without carriage return or newline.
    std::string line() const;
    /// Seconds since construction.
    double elapsed() const;

private:
    std::string title_;
    std::size_t total_;
    std::FILE* out_;
    bool live_;
    Clock clock_;
    double start_;
    double last_draw_ = -1.0;
    std::size_t steps_ = 0;
    std::size_t samples_ = 0;
    double loss_ = 0.0;
};

/// True if `stream` is a terminal (live progress bars only make sense there).
bool is_terminal(std::FILE* stream);

}  // namespace xgrad::examples
