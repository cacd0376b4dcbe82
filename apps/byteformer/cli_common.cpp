#include "cli_common.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <thread>

#include "byteformer/classify/classifier.h"
#include "byteformer/model/device.h"
#include "byteformer/runtime/runtime.h"

namespace byteformer::cli {

namespace {

CLI::Validator int_at_least(int64_t min, const std::string& expected, const std::string& name) {
  return CLI::Validator(
      [min, expected](std::string& text) -> std::string {
        int64_t v = 0;
        if (!CLI::detail::lexical_cast(text, v)) return "expected " + expected + ", got '" + text + "'";
        if (v < min) return "expected " + expected + ", got " + text;
        return "";
      },
      name);
}

}  // namespace

CLI::Validator existing_file() {
  return CLI::Validator(
      [](std::string& path) -> std::string {
        std::error_code ec;
        const auto st = std::filesystem::status(path, ec);
        if (ec || !std::filesystem::exists(st)) return path + ": no such file";
        if (std::filesystem::is_directory(st)) return path + ": is a directory, expected a file";
        return "";
      },
      "FILE");
}

CLI::Validator device_spelling() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        return is_device_spelling(text) ? "" : "expected cpu, cuda, cuda:N or auto, got '" + text + "'";
      },
      "DEVICE");
}

CLI::Validator number_in(double lo, double hi, bool integer) {
  const std::string expected = fmt::format("{} from {:g} to {:g}", integer ? "an integer" : "a number", lo, hi);
  return CLI::Validator(
      [lo, hi, integer, expected](std::string& text) -> std::string {
        double v = 0;
        int64_t i = 0;
        const bool ok = integer ? CLI::detail::lexical_cast(text, i) : CLI::detail::lexical_cast(text, v);
        if (integer) v = static_cast<double>(i);
        if (!ok || !(v >= lo && v <= hi)) return "expected " + expected + ", got '" + text + "'";
        return "";
      },
      integer ? "INT" : "NUMBER");
}

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v) || !(v > 0)) return "expected a number above 0, got '" + text + "'";
        return "";
      },
      "POSITIVE");
}

CLI::Validator positive_int() { return int_at_least(1, "a positive integer", "POSITIVE"); }
CLI::Validator non_negative_int() { return int_at_least(0, "an integer >= 0", "NONNEGATIVE"); }

CLI::Validator thread_count() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (std::string at_least = non_negative_int()(text); !at_least.empty()) return at_least;
        const int64_t most = max_compute_threads();
        if (std::stoll(text) > most)
          return fmt::format("expected at most {} ({} per core, {} cores here), got {}", most, kThreadsPerCore,
                             std::max(1u, std::thread::hardware_concurrency()), text);
        return "";
      },
      "THREADS");
}

void ModelFlags::check_source() const {
  if (config.empty() && run_dir.empty())
    throw CLI::RequiredError("--config (or --model RUN_DIR): the model to use");
}

ModelSpec ModelFlags::spec(int64_t local_rank) const {
  ModelSpec s;
  s.config_path = config;
  if (!run_dir.empty()) {
    const RunFolder run = find_run_folder(run_dir);
    s.config_path = run.config;
    s.weights = run.weights;
  }
  s.overrides = corenet_overrides;
  s.overrides.insert(s.overrides.end(), overrides.begin(), overrides.end());
  if (run_dir.empty()) s.weights = weights;
  s.require_weights = weights_required;
  if (!numerics.empty()) s.numerics = parse_numerics(numerics);
  s.labels_path = labels;
  s.device = resolve_device(device, local_rank);
  return s;
}

void add_model_flags(CLI::App* cmd, ModelFlags& f, bool weights, bool run_dir) {
  auto* config = cmd->add_option("--config,--common.config-file", f.config, "CoreNet YAML config (keys: docs/CONFIG.md)")
                     ->check(existing_file());
  if (!run_dir) config->required();
  cmd->add_option("--override", f.overrides, "Set a config key: key=value (repeatable)")->take_all();
  cmd->add_option("--common.override-kwargs", f.corenet_overrides, "CoreNet's spelling: key=value ...")->take_all();
  if (weights) {
    f.weights_required = true;
    auto* w = cmd->add_option("--weights,--model.classification.pretrained", f.weights,
                              "Weights (.pt, CoreNet's format); required unless the config sets "
                              "model.classification.pretrained")
                  ->check(existing_file());
    if (run_dir) {
      cmd->add_option("--model", f.run_dir,
                      "A training run folder (instead of --config and --weights): its config.yaml and the better of "
                      "checkpoint_best.pt / checkpoint_ema_best.pt by validation top-1")
          ->excludes(config)
          ->excludes(w);
    }
    cmd->add_option("--numerics", f.numerics, "corenet | masked (docs/MODEL.md)")
        ->check(CLI::IsMember({"corenet", "masked"}));
    cmd->add_option("--labels", f.labels, "Class names, one a line")->check(existing_file());
  }
  cmd->add_option("--threads", f.threads, "Intra-op threads (0: all cores)")
      ->check(thread_count())
      ->default_str("0 (all cores)");
  cmd->add_option("--device", f.device,
                  "cpu | cuda | cuda:N | auto (CoreNet's rule: CUDA when a GPU is visible, else the CPU)")
      ->check(device_spelling())
      ->capture_default_str();
}

namespace {

CLI::Validator precision_choice(bool allow_auto) {
  return CLI::Validator(
      [allow_auto](std::string& text) -> std::string {
        const auto spellings = precision_spellings();
        if (std::find(spellings.begin(), spellings.end(), text) != spellings.end()) return "";
        if (text == "auto")
          return allow_auto ? "" : "auto is for predict, serve and identify; eval runs fp32 unless told, for exact "
                                   "numbers: expected fp32, bf16 or int8";
        return fmt::format("expected fp32 (float32), bf16 (bfloat16), int8{}, got '{}'", allow_auto ? " or auto" : "",
                           text);
      },
      allow_auto ? "fp32|bf16|int8|auto" : "fp32|bf16|int8");
}

}  // namespace

void add_precision_flags(CLI::App* cmd, PrecisionFlags& f, bool allow_auto) {
  auto* precision =
      cmd->add_option("--precision", f.precision,
                      std::string("Forward pass arithmetic: fp32; bf16 (autocast on the model's device; weights "
                                  "stay float32); or int8 (the CPU's linear layers as u8 x s8 products, needs "
                                  "oneDNN and VNNI)") +
                          (allow_auto ? "; auto: int8 where it runs, else bf16 where the CPU runs it at full rate, "
                                        "else fp32 (`byteformer --version` shows the choice)"
                                      : ""))
          ->check(precision_choice(allow_auto))
          ->default_str("fp32 on the CPU; on CUDA bf16 when the config sets common.mixed_precision");
  cmd->add_flag("--mixed-precision", f.mixed_precision, "The same as --precision bf16")->excludes(precision);
}

std::optional<Precision> PrecisionFlags::requested(c10::DeviceType device) const {
  if (mixed_precision) return Precision::kBFloat16;
  if (precision.empty()) return std::nullopt;
  AutoPrecision chosen;
  const std::optional<Precision> p = parse_requested_precision(precision, device, &chosen);
  if (precision == "auto")
    std::cerr << fmt::format("precision auto: {} ({})\n", p ? to_string(*p) : "as without --precision",
                             chosen.reason);
  return p;
}

int apply_threads(const ModelFlags& flags, int64_t workers_on_this_node) {
  int threads = flags.threads;
  // Workers of one node share its cores unless told otherwise (torchrun sets OMP_NUM_THREADS=1).
  if (threads <= 0 && workers_on_this_node > 1)
    threads = std::max<int>(1, static_cast<int>(std::thread::hardware_concurrency() / workers_on_this_node));
  return set_compute_threads(threads);
}

}  // namespace byteformer::cli
