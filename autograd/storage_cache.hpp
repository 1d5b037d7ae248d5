#pragma once
// The per-thread cache of small storages (Note [Storage cache] in storage_cache.cpp).
// Internal to autograd.

#include <memory>

#include "tensor.hpp"

namespace xgrad::detail {

/// Makes `out` (empty) a handle on a Storage holding an uninitialised xt::xarray<T> of `shape`:
/// a recycled one of the same dtype, rank and element count when there is one, else a new one
/// that will be recycled. Built in place: a handle returned and then moved in was a
/// store-forwarding stall when it was a shared_ptr (two words written, one 16-byte load; perf:
/// detail::uninitialized had 9.6% of a W0 step's samples, nearly all on that load).
template <class T>
void make_storage(const Shape& shape, StoragePtr& out);

}  // namespace xgrad::detail
