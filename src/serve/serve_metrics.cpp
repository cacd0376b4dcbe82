#include "byteformer/serve/serve_metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace byteformer {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  ++counts_[static_cast<size_t>(at)];
  sum_ += value;
  ++count_;
}

std::string Histogram::prometheus(const std::string& name, const std::string& help) const {
  std::string out = fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  int64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  cumulative += counts_.back();
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cumulative, name, sum_, name,
                     count_);
  return out;
}

namespace {
const std::vector<double> kSeconds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const std::vector<double> kSizes{1, 2, 4, 8, 16, 32, 64, 128};
}  // namespace

ServeMetrics::ServeMetrics() : queue_s_(kSeconds), compute_s_(kSeconds), batch_size_(kSizes) {}

void ServeMetrics::request(const std::string& endpoint, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{endpoint, status}];
}

void ServeMetrics::batch(int64_t size, double compute_s) {
  std::lock_guard<std::mutex> lock(mutex_);
  batch_size_.observe(static_cast<double>(size));
  compute_s_.observe(compute_s);
}

void ServeMetrics::queued(double wait_s) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_s_.observe(wait_s);
}

void ServeMetrics::set_queue_depth(int64_t depth) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_depth_ = depth;
}

void ServeMetrics::set_decodes(int64_t in_flight) {
  std::lock_guard<std::mutex> lock(mutex_);
  decodes_ = in_flight;
  decodes_peak_ = std::max(decodes_peak_, in_flight);
}

void ServeMetrics::set_model_load_seconds(double s) {
  std::lock_guard<std::mutex> lock(mutex_);
  load_s_ = s;
}

std::string ServeMetrics::prometheus() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out =
      "# HELP byteformer_requests_total HTTP requests by endpoint and status.\n"
      "# TYPE byteformer_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += fmt::format("byteformer_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
  out += "# HELP byteformer_request_failures_total HTTP requests answered with a status >= 400.\n"
         "# TYPE byteformer_request_failures_total counter\n";
  std::map<std::string, int64_t> failures;
  for (const auto& [key, n] : requests_)
    if (key.second >= 400) failures[key.first] += n;
  for (const auto& [endpoint, n] : failures)
    out += fmt::format("byteformer_request_failures_total{{endpoint=\"{}\"}} {}\n", endpoint, n);
  out += queue_s_.prometheus("byteformer_queue_seconds", "Time a request waited for its batch.");
  out += compute_s_.prometheus("byteformer_compute_seconds", "Forward time of a batch.");
  out += batch_size_.prometheus("byteformer_batch_size", "Rows per forward pass.");
  out += fmt::format(
      "# HELP byteformer_queue_depth Requests waiting for a batch.\n# TYPE byteformer_queue_depth gauge\n"
      "byteformer_queue_depth {}\n"
      "# HELP byteformer_decodes_in_flight Inputs being decoded now (at most --max-decodes).\n"
      "# TYPE byteformer_decodes_in_flight gauge\nbyteformer_decodes_in_flight {}\n"
      "# HELP byteformer_decodes_in_flight_max The most inputs decoded at once since the start.\n"
      "# TYPE byteformer_decodes_in_flight_max gauge\nbyteformer_decodes_in_flight_max {}\n"
      "# HELP byteformer_model_load_seconds Time to load and warm the model.\n"
      "# TYPE byteformer_model_load_seconds gauge\nbyteformer_model_load_seconds {}\n",
      queue_depth_, decodes_, decodes_peak_, load_s_);
  return out;
}

}  // namespace byteformer
