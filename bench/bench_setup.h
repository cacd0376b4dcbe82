// What every small benchmark program does first: the process settings of the CLI (passive
// OpenMP waits, re-executing itself if need be; freed memory kept) and its one flag,
// `--threads T` (default: the machine's cores), parsed by CLI11 as the CLI's flags are.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <thread>

#include "byteformer/runtime/runtime.h"

namespace byteformer::bench {

/// Parses `--threads T`; --help prints the usage and exits 0, a bad flag exits non-zero with
/// CLI11's message.
inline int setup(int argc, char** argv, const char* description) {
  reexec_with_passive_threads(argv);
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  CLI::App app(description);
  app.add_option("--threads", threads, "Compute threads")->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  keep_freed_memory();
  return threads;
}

}  // namespace byteformer::bench
