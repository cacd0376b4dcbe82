// Process-wide settings that LibTorch on glibc + libgomp needs for speed, applied at start-up.
#pragma once

namespace byteformer::cli {

/// Keeps large tensors' memory in the process: glibc otherwise returns every allocation over
/// 32 MiB to the kernel on free and faults it back in on the next batch (measured: training
/// 17 -> 97 samples/s on the quickstart). mallopt works at run time, no environment needed.
/// For `train`, `eval` and `predict` (`predict` of 8 TIFF-224 files in one batch, with
/// OMP_WAIT_POLICY=PASSIVE: 3.5 -> 3.0 s, peak 0.77 -> 0.79 GB).
void tune_allocator(int argc, char** argv);

/// For `train` and `eval` (loader threads beside LibTorch's OpenMP threads and OpenBLAS's):
/// threads that spin while waiting starve the others on a small machine (measured: 47 -> 187
/// samples/s). Re-executes the program once with OMP_WAIT_POLICY=PASSIVE and
/// OPENBLAS_THREAD_TIMEOUT=4 (reexec_with_passive_threads). Returns only if no re-exec.
void prefer_passive_threads(int argc, char** argv);

}  // namespace byteformer::cli
