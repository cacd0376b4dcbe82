// `byteformer train`: train a ByteFormer from a CoreNet YAML config (see the library's Trainer).
#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>

#include "byteformer/train/trainer.h"
#include "cli_common.h"
#include "commands.h"

namespace byteformer::cli {

namespace {

// Signal handlers can only reach process-wide state; the trainer reads it through a pointer.
std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int sig) {
  g_stop_signal.store(sig);
  std::signal(sig, SIG_DFL);  // a second signal ends the process at once
}

}  // namespace

void add_train_command(CLI::App& app) {
  struct Args {
    ModelFlags model;
    bool dry_run = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("train", "Train a ByteFormer from a CoreNet YAML config");
  add_model_flags(cmd, args->model, /*weights=*/false);
  cmd->add_flag("--dry-run", args->dry_run, "Check the config, build model and pipelines, then exit");
  cmd->callback([args] {
    apply_threads(args->model.threads);
    Config config = load_config(args->model.config, args->model.spec().overrides);
    if (args->dry_run) {
      std::cout << check_training_config(config);
      return;
    }
    Trainer trainer(config, TrainerOptions::from_config(config), DistributedHooks{}, &std::cerr);
    g_stop_signal.store(0);
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    const TrainResult r = trainer.run(&g_stop_signal);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (r.stop_signal != 0) {
      std::cerr << fmt::format("interrupted: checkpoint saved in {}; run again with common.auto_resume=true to continue\n",
                               trainer.files().dir);
      throw CLI::RuntimeError(128 + r.stop_signal);
    }
    std::cout << fmt::format("best top1 {:.2f}", r.best_top1);
    if (r.best_ema_top1 >= 0) std::cout << fmt::format(" (ema {:.2f})", r.best_ema_top1);
    std::cout << fmt::format(" after {} epochs, {} steps; weights in {}\n", r.epochs_done, r.iterations,
                             trainer.files().dir);
  });
}

}  // namespace byteformer::cli
