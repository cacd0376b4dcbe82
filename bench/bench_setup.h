// What every small benchmark program does first: the process settings of the CLI (passive
// OpenMP waits, re-executing itself if need be; freed memory kept) and `--threads T` (default:
// the machine's cores).
#pragma once
#include <cstdlib>
#include <cstring>
#include <thread>

#include "byteformer/model/cpu/runtime.h"

namespace byteformer::bench {

inline int setup(int argc, char** argv) {
  reexec_with_passive_threads(argv);
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
  keep_freed_memory();
  return threads;
}

}  // namespace byteformer::bench
