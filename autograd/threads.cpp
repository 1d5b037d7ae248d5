#include "threads.hpp"

#include <string>

#include "error.hpp"

#ifdef XGRAD_HAVE_OPENBLAS
extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
}
#endif

namespace xgrad {

void set_num_threads(int threads) {
    if (threads < 1) {
        throw value_error("set_num_threads: threads must be >= 1, got " + std::to_string(threads));
    }
#ifdef XGRAD_HAVE_OPENBLAS
    openblas_set_num_threads(threads);
#else
    if (threads > 1) {
        throw value_error("set_num_threads: the BLAS xgrad was built with is not OpenBLAS, so its "
                          "threads cannot be set (asked for " + std::to_string(threads) + ")");
    }
#endif
}

int num_threads() {
#ifdef XGRAD_HAVE_OPENBLAS
    return openblas_get_num_threads();
#else
    return 1;
#endif
}

}  // namespace xgrad
