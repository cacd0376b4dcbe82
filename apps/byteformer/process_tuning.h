// The process settings of each command (RuntimeOptions, byteformer/runtime/runtime.h), decided
// once, at start-up, and applied before LibTorch runs anything.
#pragma once
#include <string>

#include "byteformer/runtime/runtime.h"

namespace byteformer::cli {

/// The settings for `command` (the subcommand's name; "" for none), with the environment's
/// library switches (RuntimeOptions::from_environment):
/// - train, eval, predict, serve keep large freed blocks in the process: glibc otherwise
///   returns every allocation over 32 MiB to the kernel on free and faults it back in on the
///   next batch (a TIFF-224 request's byte embeddings alone are ~115 MB).
/// - the same four re-execute once with OMP_WAIT_POLICY=PASSIVE and OPENBLAS_THREAD_TIMEOUT=4:
///   threads that spin while waiting starve the others on a small machine (train and eval:
///   loader threads beside OpenMP's and OpenBLAS's; serve: the HTTP threads).
/// - serve runs its forward passes on the batcher's thread, whose own malloc arena would map
///   them afresh: one heap for all threads.
RuntimeOptions runtime_options_for(const std::string& command);

}  // namespace byteformer::cli
