// What the data-parallel code (distributed.cpp, heartbeat.cpp, gradient_buckets.cpp) takes from
// LibTorch's c10d, the C++ core of torch.distributed, and the small helpers they share.
#pragma once
#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>
#include <string>

// ProcessGroupGloo.hpp includes Gloo's own headers (Debian: libgloo-dev); without them the
// library still builds and DistributedContext says what is missing.
#if __has_include(<gloo/algorithm.h>)
#define BYTEFORMER_HAVE_GLOO 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if defined(BYTEFORMER_HAVE_GLOO) && defined(USE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace byteformer::dist {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

/// The first line of a c10d error (they carry a C++ backtrace after it).
inline std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

#ifdef BYTEFORMER_HAVE_GLOO
// LibTorch 2.x moved the collectives from ProcessGroup to Backend (ProcessGroupGloo/NCCL derive
// from it); 1.13's derive from ProcessGroup. Both have the same allreduce/broadcast/barrier.
#if TORCH_VERSION_MAJOR >= 2
using CommBackend = c10d::Backend;
#else
using CommBackend = c10d::ProcessGroup;
#endif
using WorkPtr = c10::intrusive_ptr<c10d::Work>;
#endif

}  // namespace byteformer::dist
