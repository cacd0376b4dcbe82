// The process settings of each command (RuntimeOptions, byteformer/model/cpu/runtime.h), decided
// once, at start-up, and applied before LibTorch runs anything.
#pragma once
#include <string>

#include "byteformer/model/cpu/runtime.h"

namespace byteformer::cli {

/// The settings for `command` (the subcommand's name; "" for none), with the environment's
/// library switches (RuntimeOptions::from_environment):
/// - train, eval, predict, serve keep large freed blocks in the process: glibc otherwise
///   returns every allocation over 32 MiB to the kernel on free and faults it back in on the
///   next batch (measured: training 17 -> 97 samples/s on the quickstart; serve: a TIFF-224
///   request's byte embeddings are ~115 MB).
/// - the same four re-execute once with OMP_WAIT_POLICY=PASSIVE and OPENBLAS_THREAD_TIMEOUT=4:
///   threads that spin while waiting starve the others on a small machine (train and eval:
///   loader threads beside OpenMP's and OpenBLAS's, 47 -> 187 samples/s; predict: 23.5 s
///   against 2.7 s for ten small files on a loaded machine; serve: against the HTTP threads).
/// - serve runs its forward passes on the batcher's thread, whose own malloc arena would map
///   them afresh: one heap for all threads.
RuntimeOptions runtime_options_for(const std::string& command);

}  // namespace byteformer::cli
