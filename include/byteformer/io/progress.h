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
  /// `log_every` < 0: no plain lines. `unit` names what `samples` counts ("samples", "files");
  /// `delay_s`: draw only once this much time has passed (a short run prints nothing).
  ProgressBar(std::ostream* out, std::string label, int64_t total_batches, bool interactive, int64_t log_every,
              std::string unit = "samples", double delay_s = 0.0);
  /// After batch `done` (1-based) with `samples` samples seen so far and the running loss
  /// (negative: no loss shown).
  void update(int64_t done, int64_t samples, double loss);
  void finish();
  double elapsed_s() const;

 private:
  std::ostream* out_;
  std::string label_;
  int64_t total_;
  bool interactive_;
  int64_t log_every_;
  std::string unit_;
  double delay_s_;
  std::chrono::steady_clock::time_point start_;
  bool drawn_ = false;
};

/// True when file descriptor 2 is a terminal.
bool stderr_is_terminal();

}  // namespace byteformer
