// libFuzzer target: the idx reader on arbitrary bytes (see targets.hpp).

#include <unistd.h>

#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Each input goes through a real file, as users read them; /dev/shm keeps that in memory.
    static const std::string path = std::string(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") +
                                    "/xgrad-fuzz-idx-" + std::to_string(getpid());
    xgrad::fuzz::idx_input(path, data, size);
    return 0;
}
