// The server's counters and histograms, printed in Prometheus' text format (GET /metrics).
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace byteformer {

/// A Prometheus histogram: cumulative counts per upper bound, a sum and a count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  /// `name`_bucket{le=...}, `name`_sum, `name`_count lines (with # HELP / # TYPE).
  std::string prometheus(const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bound, not cumulative; one more for +Inf
  double sum_ = 0.0;
  int64_t count_ = 0;
};

/// Everything GET /metrics reports; safe to update from several threads.
class ServeMetrics {
 public:
  ServeMetrics();
  void request(const std::string& endpoint, int status);
  void batch(int64_t size, double compute_s);
  void queued(double wait_s);
  void set_queue_depth(int64_t depth);
  void set_model_load_seconds(double s);
  /// Inputs being decoded now (the decode budget, ServeOptions::max_decodes); keeps the peak.
  void set_decodes(int64_t in_flight);
  std::string prometheus() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;  // (endpoint, status) -> count
  Histogram queue_s_;
  Histogram compute_s_;
  Histogram batch_size_;
  int64_t queue_depth_ = 0;
  int64_t decodes_ = 0, decodes_peak_ = 0;
  double load_s_ = 0.0;
};

}  // namespace byteformer
