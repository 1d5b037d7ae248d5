#pragma once
// The per-thread cache of small storages (Note [Storage cache] in storage_cache.cpp).
// Internal to autograd.

#include <memory>

#include "tensor.hpp"

namespace xgrad::detail {

/// Makes `out` (empty) a Storage holding an uninitialised xt::xarray<T> of `shape`: a recycled
/// one of the same dtype and element count when there is one, else a new one that will be
/// recycled. Built in place: a shared_ptr returned and then moved in is written as two words
/// and read back as one, a store-forwarding stall (perf: detail::uninitialized had 9.6% of a
/// W0 step's samples, nearly all on that load; 1.8% since).
template <class T>
void make_storage(const Shape& shape, std::shared_ptr<Storage>& out);

}  // namespace xgrad::detail
