#include "byteformer/io/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

namespace byteformer {

bool stderr_is_terminal() { return isatty(2) != 0; }

ProgressBar::ProgressBar(std::ostream* out, std::string label, int64_t total_batches, bool interactive,
                         int64_t log_every, std::string unit, double delay_s)
    : out_(out),
      label_(std::move(label)),
      total_(total_batches),
      interactive_(interactive),
      log_every_(log_every == 0 ? 1 : log_every),
      unit_(std::move(unit)),
      delay_s_(delay_s),
      start_(std::chrono::steady_clock::now()) {}

double ProgressBar::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::update(int64_t done, int64_t samples, double loss) {
  if (out_ == nullptr) return;
  const double t = elapsed_s();
  if (t < delay_s_) return;
  const double rate = t > 0 ? static_cast<double>(samples) / t : 0.0;
  const double eta = done > 0 ? t / static_cast<double>(done) * static_cast<double>(total_ - done) : 0.0;
  const int width = 24;
  const int filled = total_ > 0 ? static_cast<int>(width * done / total_) : width;
  const std::string line =
      fmt::format("{} [{}{}] {}/{} {:.1f} {}/s{} ETA {:.0f}s", label_, std::string(filled, '#'),
                  std::string(width - filled, '.'), done, total_, rate, unit_,
                  loss >= 0.0 ? fmt::format(" loss {:.4f}", loss) : std::string(), eta);
  if (interactive_) {
    *out_ << "\r" << line << "\033[K" << std::flush;
    drawn_ = true;
  } else if (log_every_ > 0 && (done % log_every_ == 0 || done == total_)) {
    *out_ << line << "\n" << std::flush;
  }
}

void ProgressBar::finish() {
  if (out_ != nullptr && interactive_ && drawn_) *out_ << "\n" << std::flush;
  drawn_ = false;
}

}  // namespace byteformer
