#include "byteformer/train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "byteformer/io/config.h"

namespace byteformer {

CosineScheduleOptions CosineScheduleOptions::from_config(const Config& c) {
  CosineScheduleOptions o;
  o.warmup_iterations = std::max<int64_t>(0, c.get_int("scheduler.warmup_iterations", 0));
  o.warmup_init_lr = c.get_double("scheduler.warmup_init_lr", o.warmup_init_lr);
  o.max_lr = c.get_double("scheduler.cosine.max_lr", o.max_lr);
  o.min_lr = c.get_double("scheduler.cosine.min_lr", o.min_lr);
  o.max_epochs = c.get_int("scheduler.max_epochs", o.max_epochs);
  o.iteration_based = c.get_bool("scheduler.is_iteration_based", o.iteration_based);
  o.max_iterations = c.get_int("scheduler.max_iterations", o.max_iterations);
  o.adjust_period = c.get_bool("scheduler.adjust_period_for_epochs", o.adjust_period);
  if (o.max_epochs <= 0)
    throw std::invalid_argument(fmt::format("config: {}: must be > 0", c.describe("scheduler.max_epochs")));
  if (o.max_lr < 0 || o.min_lr < 0)
    throw std::invalid_argument(fmt::format("config {}: scheduler.cosine.max_lr/min_lr must be >= 0", c.path()));
  return o;
}

CosineSchedule::CosineSchedule(CosineScheduleOptions options) : options_(options) {}

double CosineSchedule::lr(int64_t epoch, int64_t iteration) {
  const auto& o = options_;
  double lr;
  if (iteration < o.warmup_iterations) {
    const double step = (o.max_lr - o.warmup_init_lr) / static_cast<double>(o.warmup_iterations);
    lr = o.warmup_init_lr + static_cast<double>(iteration) * step;
    warmup_epochs_ = epoch;
  } else if (o.iteration_based) {
    const double period = static_cast<double>(o.max_iterations - o.warmup_iterations + 1);
    const double t = static_cast<double>(iteration - o.warmup_iterations);
    lr = o.min_lr + 0.5 * (o.max_lr - o.min_lr) * (1 + std::cos(M_PI * t / period));
  } else {
    const double num = o.adjust_period ? static_cast<double>(warmup_epochs_ + 1) : 0.0;
    const double den = o.adjust_period ? static_cast<double>(warmup_epochs_) : 0.0;
    lr = o.min_lr + 0.5 * (o.max_lr - o.min_lr) *
                        (1 + std::cos(M_PI * (static_cast<double>(epoch) - num) / (static_cast<double>(o.max_epochs) - den)));
  }
  lr = std::max(0.0, lr);
  return std::round(lr * 1e8) / 1e8;
}

}  // namespace byteformer
