// Process-wide compute settings: threads of LibTorch and of the BLAS under it, the OpenMP and
// OpenBLAS wait policy, the allocator and the library switches. A program decides them once, at
// its start, as a RuntimeOptions (the CLI: per command, apps/byteformer/process_tuning.cpp) and
// applies it; the library itself reads no environment variable. Each call is cheap.
#pragma once

#include <string>

namespace byteformer {

/// What a process sets before its first forward pass. The thread count comes later, from the
/// command's --threads (set_compute_threads), once the command line is parsed.
struct RuntimeOptions {
  bool passive_threads = false;    // reexec_with_passive_threads
  bool keep_freed_memory = false;  // keep_freed_memory
  bool one_heap = false;           // one_heap_for_all_threads
  /// float32 products through oneDNN where built (set_onednn_enabled); BYTEFORMER_ONEDNN=0 off.
  bool onednn = true;

  /// The defaults with the environment's library switches (BYTEFORMER_ONEDNN): the one place
  /// the library's switches are read. Throws std::invalid_argument on a value other than 0 or 1.
  static RuntimeOptions from_environment();
};

/// Whether this build can call oneDNN (found at configure time: Debian's libdnnl-dev, the
/// oneDNN that Debian's LibTorch itself links).
bool onednn_built();
/// Whether the model's products use oneDNN for float32 (default: onednn_built(); programs apply
/// RuntimeOptions::onednn, which BYTEFORMER_ONEDNN=0 turns off). Process-wide; for A/B runs and
/// tests of both paths.
bool onednn_enabled();
void set_onednn_enabled(bool enabled);

/// Applies `options`: the re-exec first (returns only when none was needed), then the
/// allocator and the switches.
void apply_runtime_options(const RuntimeOptions& options, char** argv);

/// Sets LibTorch's intra-op (OpenMP) threads to `threads` (<= 0: every core) and, when the
/// BLAS is OpenBLAS, OpenBLAS's own thread pool to the same number, so that `--threads 1`
/// really means one thread (OpenBLAS otherwise starts one thread per core for every matrix
/// product, whatever LibTorch was told). Returns the number set.
int set_compute_threads(int threads);

/// Physical memory of this machine in bytes (sysconf: pages x page size); +inf when unknown.
double physical_memory_bytes();

/// Whether OpenMP threads sleep while they wait (OMP_WAIT_POLICY=PASSIVE).
bool passive_openmp();

/// Threads that spin while they wait take the cores from the threads with work on a small
/// machine. OpenMP's: from OpenBLAS's threads and from data loaders. OpenBLAS's (pthreads
/// build): for about 2^28 cycles after each product, from the OpenMP threads of the elementwise
/// ops that follow it (docs/PERFORMANCE.md gives the figures). libgomp and OpenBLAS read their settings only when they load, so
/// when OMP_WAIT_POLICY is unset this re-executes the program (/proc/self/exe, same argv) with
/// OMP_WAIT_POLICY=PASSIVE and OPENBLAS_THREAD_TIMEOUT=4 (unless set); it returns only when
/// the policy was already set or the exec failed. Costs one more start of LibTorch (~0.3 s).
/// The same re-execution sets OPENBLAS_CORETYPE (unless set) where OpenBLAS fell back to its
/// generic kernels (openblas_coretype_for): Debian's OpenBLAS 0.3.21 does not know every newer
/// CPU's model number and then multiplies with its SSE3 "Prescott" kernels, several times
/// slower than its AVX-512 or AVX2 ones.
void reexec_with_passive_threads(char** argv);

/// The OpenBLAS kernels to ask for (OPENBLAS_CORETYPE) given the core OpenBLAS detected and the
/// CPU's features: "SkylakeX" (AVX-512 F/BW/VL/DQ/CD) or "Haswell" (AVX2 and FMA) when it fell
/// back to "Prescott", else "" (keep OpenBLAS's own choice).
std::string openblas_coretype_for(const std::string& detected_core, bool avx512, bool avx2_fma);

/// While alive, OpenBLAS runs every product on the calling thread (no-op for another BLAS).
/// For loops that already spread many small products over LibTorch's threads, where
/// OpenBLAS's own threads would only oversubscribe the cores. Restores the previous count.
/// Process-wide: products that other threads run meanwhile are single-threaded too.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int previous_ = 0;
};

/// The BLAS that LibTorch's matrix products reach, as OpenBLAS reports it (for example
/// "OpenBLAS 0.3.21 ... Cooperlake MAX_THREADS=64"), or "" when it is not OpenBLAS.
std::string blas_description();

/// Keeps large freed blocks in the process (glibc): without it every tensor over 32 MiB is
/// mapped afresh and page-faulted in, which costs more than the arithmetic of most elementwise
/// ops on it. Raises peak memory a little
/// (fragmentation), so `predict` on a few files keeps the default.
void keep_freed_memory();
/// One malloc arena for every thread (glibc's M_ARENA_MAX=1), for a process whose forward passes
/// run on a thread other than main (serve's batcher): a thread's own arena holds at most 64 MiB
/// blocks, so with keep_freed_memory its large tensors would still be fresh mappings, faulted in
/// on every forward.
void one_heap_for_all_threads();

}  // namespace byteformer
