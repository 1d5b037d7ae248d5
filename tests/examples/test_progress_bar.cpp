// The examples' progress bar: its line, throughput and ETA, with a fake clock.

#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "support/progress_bar.hpp"

using namespace xgrad::examples;

namespace {

/// What `write` prints to a temporary FILE*.
template <class F>
std::string captured(F&& write) {
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    write(file);
    std::rewind(file);
    std::string text;
    for (int c; (c = std::fgetc(file)) != EOF;) text += static_cast<char>(c);
    std::fclose(file);
    return text;
}

}  // namespace

TEST_CASE("format_duration and format_count") {
    CHECK(format_duration(0) == "0:00");
    CHECK(format_duration(7.4) == "0:07");
    CHECK(format_duration(754) == "12:34");
    CHECK(format_duration(3723) == "1:02:03");
    CHECK(format_duration(-1) == "--:--");
    CHECK(format_count(950) == "950");
    CHECK(format_count(45210) == "45.2k");
    CHECK(format_count(1.3e6) == "1.30M");
    CHECK(format_count(999.7) == "1.00k");
}

TEST_CASE("the line shows progress, loss, throughput and the time left") {
    double now = 100.0;
    ProgressBar bar("epoch 1/2", 400, stdout, false, [&] { return now; });
    CHECK(bar.line() == "epoch 1/2 [                    ]   0/400  loss 0.0000  - samples/s  ETA --:--");
    now += 10.0;
    bar.update(100, 12800, 0.52345);
    CHECK(bar.line() == "epoch 1/2 [=====>              ] 100/400  loss 0.5234  1.28k samples/s  ETA 0:30");
    now += 30.0;
    bar.update(400, 51200, 0.25);
    CHECK(bar.line() == "epoch 1/2 [====================] 400/400  loss 0.2500  1.28k samples/s  took 0:40");
    CHECK(bar.elapsed() == 40.0);
}

TEST_CASE("a live bar redraws in place at most ten times a second; a log gets one line") {
    double now = 0.0;
    const std::string live = captured([&](std::FILE* out) {
        ProgressBar bar("e", 3, out, true, [&] { return now; });
        bar.update(1, 1, 1.0);
        now += 0.05;
        bar.update(2, 2, 1.0);  // too soon: not drawn
        now += 0.05;
        bar.update(3, 3, 1.0);  // the last step is always drawn
        bar.finish("  done");
    });
    CHECK(live.find("\r") == 0);
    CHECK(live.find(" 2/3") == std::string::npos);
    CHECK(live.find(" 3/3") != std::string::npos);
    CHECK(live.substr(live.size() - 10) == "  done\033[K\n");

    const std::string log = captured([&](std::FILE* out) {
        ProgressBar bar("e", 2, out, false, [&] { return now; });
        bar.update(1, 1, 1.0);
        bar.update(2, 2, 1.0);
        bar.finish("  val acc 0.9");
    });
    CHECK(log.find('\r') == std::string::npos);
    CHECK(log.find('\n') == log.size() - 1);
    CHECK(log.find("2/2  loss 1.0000") != std::string::npos);
    CHECK(log.find("val acc 0.9") != std::string::npos);
}
