// libFuzzer target: the idx reader on arbitrary bytes (see targets.hpp).

#include <unistd.h>

#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string path = "/tmp/xgrad-fuzz-idx-" + std::to_string(getpid());
    xgrad::fuzz::idx_input(path, data, size);
    return 0;
}
