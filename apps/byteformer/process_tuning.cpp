#include "process_tuning.h"

#include <cstring>

#include "byteformer/model/runtime.h"

namespace byteformer::cli {

namespace {
bool loads_data(int argc, char** argv) {
  return argc >= 2 && (!std::strcmp(argv[1], "train") || !std::strcmp(argv[1], "eval"));
}
bool runs_forward(int argc, char** argv) {
  return loads_data(argc, argv) ||
         (argc >= 2 && (!std::strcmp(argv[1], "predict") || !std::strcmp(argv[1], "serve")));
}
}  // namespace

void tune_allocator(int argc, char** argv) {
  // serve too: a TIFF-224 request's byte embeddings are ~115 MB, which glibc would unmap after
  // every forward and page-fault back in on the next one.
  if (runs_forward(argc, argv)) keep_freed_memory();
  // serve runs its forward passes on the batcher's thread, whose own arena would map them afresh.
  if (argc >= 2 && !std::strcmp(argv[1], "serve")) one_heap_for_all_threads();
}

void prefer_passive_threads(int argc, char** argv) {
  // predict too: its batches are small, and spinning OpenMP threads on a loaded machine cost it
  // 23.5 s against 2.7 s passive for ten small files (issue 19's probe).
  // serve: its OpenMP threads would spin between requests, against the HTTP threads.
  if (runs_forward(argc, argv)) reexec_with_passive_threads(argv);
}

}  // namespace byteformer::cli
