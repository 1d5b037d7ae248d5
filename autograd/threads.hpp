#pragma once
/// The threads behind matrix products. xgrad starts no threads of its own: OpenBLAS's pool is
/// the only one, so it never competes with another pool for the cores.

namespace xgrad {

/// Sets how many threads BLAS uses for matmul (OpenBLAS; also OPENBLAS_NUM_THREADS at start).
/// Throws value_error for threads < 1, or for threads > 1 when the BLAS in use cannot be told.
void set_num_threads(int threads);
/// The threads BLAS uses for matmul (1 when the BLAS in use cannot be asked).
int num_threads();

}  // namespace xgrad
