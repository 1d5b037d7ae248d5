#pragma once
/// Counts heap bytes taken through operator new / delete (every xtensor array, tensor handle
/// and graph node; not OpenBLAS's own buffers, which it maps itself for both sides alike).
/// The benchmark executable replaces the global operators (heap_counter.cpp); outside a
/// counting window they cost one relaxed load. Bytes are malloc_usable_size, what the heap
/// really hands out, so a 0-d tensor's tiny arrays are charged at their true size.

#include <cstdint>

namespace xgrad::bench {

/// Starts a counting window: live and peak bytes restart from zero.
void start_counting();
/// Ends the window; the figures stay readable.
void stop_counting();
/// Bytes allocated minus bytes freed inside the window (negative if it freed older memory).
std::int64_t live_bytes();
/// The highest live_bytes() seen since start_counting() or the last reset_peak().
std::int64_t peak_bytes();
/// Restarts the peak from the current live_bytes().
void reset_peak();

}  // namespace xgrad::bench
