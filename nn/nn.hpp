#pragma once
/// xgrad nn: the one header users include for layers, losses, optimisers, checkpoints and data.

#include <autograd/autograd.hpp>  // IWYU pragma: export

#include "activation.hpp"    // IWYU pragma: export
#include "atomic_file.hpp"   // IWYU pragma: export
#include "checkpoint.hpp"    // IWYU pragma: export
#include "csv.hpp"           // IWYU pragma: export
#include "data.hpp"          // IWYU pragma: export
#include "evaluate.hpp"      // IWYU pragma: export
#include "idx.hpp"           // IWYU pragma: export
#include "init.hpp"          // IWYU pragma: export
#include "linear.hpp"        // IWYU pragma: export
#include "loss.hpp"          // IWYU pragma: export
#include "lr_schedule.hpp"   // IWYU pragma: export
#include "module.hpp"        // IWYU pragma: export
#include "npy.hpp"           // IWYU pragma: export
#include "optim.hpp"         // IWYU pragma: export
#include "sequential.hpp"    // IWYU pragma: export
