#pragma once
// The per-thread cache of small storages (Note [Storage cache] in storage_cache.cpp).
// Internal to autograd.

#include <memory>

#include "tensor.hpp"

namespace xgrad::detail {

/// A Storage holding an uninitialised xt::xarray<T> of `shape`: a recycled one of the same
/// dtype and element count when there is one, else a new one that will be recycled.
template <class T>
std::shared_ptr<Storage> make_storage(const Shape& shape);

}  // namespace xgrad::detail
