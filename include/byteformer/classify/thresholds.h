// A calibrated "unknown": per class, the top probability below which an answer of that class
// is not trusted, calibrated on the validation split after training and kept in the run folder
// (thresholds.json). predict and serve use it unless a threshold is asked for; Magika keeps
// one threshold per content type the same way.
//
// The rule, for class c: among the validation samples predicted c, ordered by their top
// probability, the threshold is the lowest probability at which the predictions at or above it
// are right at least `target_precision` of the time (where none is: just above the highest
// wrong one), and never below `floor`; a class that no validation sample was predicted as gets
// the floor.
//
//   const ClassThresholds t = ClassThresholds::calibrate(eval_result.samples, n_classes);
//   write_thresholds(run + "/thresholds.json", t, classes);
//   verdict(classification, t.for_class(classification.top[0].index));
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "byteformer/classify/evaluator.h"

namespace byteformer {

struct ClassThresholds {
  static constexpr double kTargetPrecision = 0.99;
  static constexpr double kFloor = 0.5;

  std::vector<double> per_class;  // class index -> threshold; empty: none calibrated
  double target_precision = kTargetPrecision;
  double floor = kFloor;
  int64_t samples = 0;  // validation samples calibrated on

  /// The threshold of class `c`; 0 (every answer stands) when none was calibrated.
  double for_class(int64_t c) const;
  bool empty() const { return per_class.empty(); }

  static ClassThresholds calibrate(const std::vector<SampleOutcome>& samples, int64_t n_classes,
                                   double target_precision = kTargetPrecision, double floor = kFloor);
};

/// Calibrates the run folder's chosen weights (find_run_folder) on its validation split and
/// writes DIR/thresholds.json; returns the thresholds. `progress`: a progress bar stream or none.
ClassThresholds calibrate_run(const std::string& run_dir, std::ostream* progress);

/// {"target_precision": .., "floor": .., "samples": .., "thresholds": {"<class>": p, ...}}.
void write_thresholds(const std::string& path, const ClassThresholds& thresholds, const std::vector<std::string>& classes);
/// Reads write_thresholds' file for a model of `classes`; throws std::runtime_error naming the
/// path and what is wrong (a class missing, a value outside [0, 1], not JSON).
ClassThresholds read_thresholds(const std::string& path, const std::vector<std::string>& classes);

}  // namespace byteformer
