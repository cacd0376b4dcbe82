#include "process_tuning.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace byteformer::cli {

namespace {
bool loads_data(int argc, char** argv) {
  return argc >= 2 && (!std::strcmp(argv[1], "train") || !std::strcmp(argv[1], "eval"));
}
}  // namespace

void tune_allocator(int argc, char** argv) {
  if (!loads_data(argc, argv)) return;
  mallopt(M_MMAP_MAX, 0);                       // large blocks from the heap, not mmap
  mallopt(M_TRIM_THRESHOLD, 1 << 30);           // keep up to 1 GiB of free heap top
}

void prefer_passive_openmp(int argc, char** argv) {
  if (!loads_data(argc, argv) || std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  ::execv("/proc/self/exe", argv);  // on failure, carry on with the current settings
}

}  // namespace byteformer::cli
