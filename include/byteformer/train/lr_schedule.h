// Learning rate: linear warmup then cosine (CoreNet corenet/optims/scheduler/cosine.py and
// base_scheduler.py; docs/TRAINING.md).
#pragma once
#include <cstdint>

namespace byteformer {

class Config;

struct CosineScheduleOptions {
  int64_t warmup_iterations = 0;    // scheduler.warmup_iterations
  double warmup_init_lr = 1e-7;     // scheduler.warmup_init_lr
  double max_lr = 0.1;              // scheduler.cosine.max_lr
  double min_lr = 1e-5;             // scheduler.cosine.min_lr
  int64_t max_epochs = 350;         // scheduler.max_epochs
  bool iteration_based = true;      // scheduler.is_iteration_based (CoreNet's default)
  int64_t max_iterations = 150000;  // scheduler.max_iterations
  bool adjust_period = false;       // scheduler.adjust_period_for_epochs

  static CosineScheduleOptions from_config(const Config& config);
};

/// CoreNet's CosineScheduler. It remembers the last epoch seen in warmup (`warmup_epochs`),
/// which the epoch-based period adjustment uses, so that number is part of the training state.
class CosineSchedule {
 public:
  explicit CosineSchedule(CosineScheduleOptions options);

  /// The rate for optimiser step `iteration` (0-based count of steps taken) in `epoch`:
  /// warmup_init_lr + iteration * (max_lr - warmup_init_lr) / warmup_iterations during warmup,
  /// then min_lr + (max_lr - min_lr)(1 + cos(pi t / T)) / 2 with t the epoch (or the steps after
  /// warmup) and T max_epochs (or max_iterations - warmup + 1); clamped at 0 and rounded to 8
  /// decimals as CoreNet's update_lr does.
  double lr(int64_t epoch, int64_t iteration);

  int64_t warmup_epochs() const { return warmup_epochs_; }
  void set_warmup_epochs(int64_t e) { warmup_epochs_ = e; }
  const CosineScheduleOptions& options() const { return options_; }

 private:
  CosineScheduleOptions options_;
  int64_t warmup_epochs_ = 0;
};

}  // namespace byteformer
