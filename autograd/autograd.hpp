#pragma once
/// xgrad autograd: the one header users (and nn) include.

#include "anomaly.hpp"        // IWYU pragma: export
#include "dtype.hpp"          // IWYU pragma: export
#include "engine.hpp"         // IWYU pragma: export
#include "error.hpp"          // IWYU pragma: export
#include "gradcheck.hpp"      // IWYU pragma: export
#include "grad_mode.hpp"      // IWYU pragma: export
#include "graphviz.hpp"       // IWYU pragma: export
#include "memory.hpp"         // IWYU pragma: export
#include "node.hpp"           // IWYU pragma: export
#include "ops.hpp"            // IWYU pragma: export
#include "tensor.hpp"         // IWYU pragma: export
#include "threads.hpp"        // IWYU pragma: export
