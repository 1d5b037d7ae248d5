#pragma once
/// xgrad nn: the one header users include for layers, losses, optimisers, checkpoints and data.

#include <autograd/autograd.hpp>  // IWYU pragma: export

#include "activation.hpp"    // IWYU pragma: export
#include "init.hpp"          // IWYU pragma: export
#include "linear.hpp"        // IWYU pragma: export
#include "loss.hpp"          // IWYU pragma: export
#include "module.hpp"        // IWYU pragma: export
#include "sequential.hpp"    // IWYU pragma: export