// Options shared by the commands that load a model, in our spelling and CoreNet's.
#pragma once
#include <CLI/CLI.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "byteformer/model/model_loader.h"
#include "byteformer/model/precision.h"

namespace byteformer::cli {

/// Holds the raw flag values until the callback turns them into a ModelSpec.
struct ModelFlags {
  std::string config;
  std::vector<std::string> overrides;
  std::vector<std::string> corenet_overrides;
  std::string weights;
  std::string numerics;
  std::string labels;
  std::string run_dir;  // --model RUN_DIR (commands that take a run folder)
  int threads = 0;
  std::string device = "auto";  // --device cpu|cuda|cuda:N|gpu|auto
  /// Set by add_model_flags(weights=true): the command refuses to run without weights.
  bool weights_required = false;

  /// The model to load; a run folder gives its config and best weights (find_run_folder).
  /// The device is resolved here (resolve_device; `local_rank` picks a worker's GPU).
  ModelSpec spec(int64_t local_rank = 0) const;
  /// With a run folder allowed: throws CLI::RequiredError unless --config or --model is given.
  void check_source() const;
};

/// --config/--common.config-file, --override, --common.override-kwargs; with `weights`, also
/// --weights/--model.classification.pretrained (required, from the flag or the config's key),
/// --numerics, --labels; with `run_dir`, also --model RUN_DIR in place of --config and --weights
/// (then --config is not required: call check_source); always --threads (0 = all cores) and
/// --device.
void add_model_flags(CLI::App* cmd, ModelFlags& flags, bool weights, bool run_dir = false);

/// --precision fp32|bf16|int8|auto and its older spelling --mixed-precision (= bf16), for eval,
/// predict, serve and identify: the forward pass's arithmetic. Neither given: the config's
/// common.mixed_precision (resolve_precision's default rule).
struct PrecisionFlags {
  std::string precision;
  bool mixed_precision = false;
  /// What was asked on the command line for a model on `device`; nullopt: nothing (the config
  /// decides). auto is resolved here (choose_auto_precision), and its choice printed on stderr
  /// once: "precision auto: int8 (oneDNN with AVX512-VNNI)". Call once per command.
  std::optional<Precision> requested(c10::DeviceType device = c10::DeviceType::CPU) const;
  /// True when either flag was given.
  bool given() const { return !precision.empty() || mixed_precision; }
};
/// `allow_auto` false (eval, whose numbers stay exact unless told): --precision auto is refused
/// with a message that says so.
void add_precision_flags(CLI::App* cmd, PrecisionFlags& flags, bool allow_auto = true);

/// The one place the compute threads are decided: --threads, or (0) every core, or under a
/// data-parallel launch with `workers_on_this_node` > 1 their share of the cores. Sets LibTorch's
/// intra-op threads and OpenBLAS's (set_compute_threads); returns the number set.
int apply_threads(const ModelFlags& flags, int64_t workers_on_this_node = 1);

/// Integer validators whose message a user can read: "--batch-size: expected a positive
/// integer, got 0" (CLI11's PositiveNumber prints a range of 309 digits).
CLI::Validator positive_int();
/// A number from `lo` to `hi` (an integer when `integer`): "expected a number from 0 to 1, got 1.5"
/// (CLI::Range prints its bounds as 0.000000 to 1.000000).
CLI::Validator number_in(double lo, double hi, bool integer = false);
/// A number above 0.
CLI::Validator positive_number();
/// An existing file that is not a directory: "PATH: is a directory, expected a file".
CLI::Validator existing_file();
CLI::Validator non_negative_int();
/// More threads than cores only wait on each other (1,000 on 2 cores ran 50 times slower, and
/// OpenMP cannot start 2^31): --threads takes 0 (every core) to kThreadsPerCore per core.
constexpr int64_t kThreadsPerCore = 4;
inline int64_t max_compute_threads() {
  return kThreadsPerCore * std::max<int64_t>(1, std::thread::hardware_concurrency());
}
/// --threads: 0 to max_compute_threads(); the error names the bound and the cores.
CLI::Validator thread_count();
/// --device: cpu, cuda, gpu, cuda:N or auto (whether that device exists is resolve_device's check).
CLI::Validator device_spelling();

}  // namespace byteformer::cli
