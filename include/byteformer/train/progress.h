// A one-line progress bar per epoch (samples/s, loss, ETA) on a terminal; plain lines every
// `log_every` batches when the stream is not one (logs, tests).
#pragma once
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace byteformer {

class ProgressBar {
 public:
  ProgressBar(std::ostream* out, std::string label, int64_t total_batches, bool interactive, int64_t log_every);
  /// After batch `done` (1-based) with `samples` samples seen so far and the running loss.
  void update(int64_t done, int64_t samples, double loss);
  void finish();
  double elapsed_s() const;

 private:
  std::ostream* out_;
  std::string label_;
  int64_t total_;
  bool interactive_;
  int64_t log_every_;
  std::chrono::steady_clock::time_point start_;
  bool drawn_ = false;
};

/// True when file descriptor 2 is a terminal.
bool stderr_is_terminal();

}  // namespace byteformer
