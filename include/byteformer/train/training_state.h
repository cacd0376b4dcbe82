// The file that lets a killed run continue: model, EMA and optimiser tensors, schedule and
// position counters, running epoch metrics and the global RNG state, in one LibTorch archive
// written atomically (temp file + rename), so a run never sees a half-written one.
#pragma once
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "byteformer/model/byteformer.h"
#include "byteformer/train/ema.h"
#include "byteformer/classify/metrics.h"

namespace byteformer {

struct TrainingCounters {
  int64_t epoch = 0;           // the epoch in progress (or the next one to start)
  int64_t batch_in_epoch = 0;  // batches of `epoch` already trained on
  int64_t iteration = 0;       // optimiser steps taken
  int64_t warmup_epochs = 0;   // CosineSchedule state
  double best_top1 = -1;       // best validation top1 so far (-1: none yet)
  double best_ema_top1 = -1;
  EpochMetrics epoch_metrics;  // running sums of the epoch in progress
  double epoch_seconds = 0;    // training time of the epoch in progress so far
  double lr = 0;               // the learning rate of the last batch trained
};

void save_training_state(const std::string& path, const TrainingCounters& counters, const ByteFormer& model,
                         const ModelEma* ema, const torch::optim::Optimizer& optimizer);

/// Restores everything save_training_state wrote into the given objects (which must have the
/// same shapes); errors name the path and what did not match.
TrainingCounters load_training_state(const std::string& path, ByteFormer& model, ModelEma* ema,
                                     torch::optim::Optimizer& optimizer);

}  // namespace byteformer
