#pragma once
/// The engine's per-thread caches of freed memory (Note [Block pools], Note [Storage cache]).
/// Nodes, tensor handles and small arrays freed by one graph are reused by the next, so a
/// training loop stops calling the heap after its first step. A cache never holds more than
/// the thread's graphs once used at the same time, and at most 256 MiB per block size and
/// 128 MiB of small arrays per thread (a 300,000-node chain of scalars fits). Like memory
/// freed to malloc, it stays in the process; these functions report it and give it back.

#include <cstddef>

namespace xgrad {

/// Bytes this thread keeps in its caches for reuse.
std::size_t cached_bytes();

/// Returns everything this thread keeps in its caches to the heap (the caches stay usable).
void release_cached_memory();

}  // namespace xgrad
