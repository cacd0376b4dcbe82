#include "process_tuning.h"

#include <cstring>

#include "byteformer/model/runtime.h"

namespace byteformer::cli {

namespace {
bool loads_data(int argc, char** argv) {
  return argc >= 2 && (!std::strcmp(argv[1], "train") || !std::strcmp(argv[1], "eval"));
}
}  // namespace

void tune_allocator(int argc, char** argv) {
  if (loads_data(argc, argv) || (argc >= 2 && !std::strcmp(argv[1], "predict"))) keep_freed_memory();
}

void prefer_passive_threads(int argc, char** argv) {
  // predict too: its batches are small, and spinning OpenMP threads on a loaded machine cost it
  // 23.5 s against 2.7 s passive for ten small files (issue 19's probe).
  if (loads_data(argc, argv) || (argc >= 2 && !std::strcmp(argv[1], "predict"))) reexec_with_passive_threads(argv);
}

}  // namespace byteformer::cli
