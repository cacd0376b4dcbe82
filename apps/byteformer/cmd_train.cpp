// `byteformer train`: train a ByteFormer from a CoreNet YAML config (see the library's Trainer).
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <cstdlib>
#include <csignal>
#include <iostream>
#include <memory>

#include "byteformer/classify/thresholds.h"
#include "byteformer/io/run_folder.h"
#include "byteformer/runtime/runtime.h"
#include "byteformer/model/device.h"
#include "byteformer/train/distributed.h"
#include "byteformer/train/folder_training.h"
#include "byteformer/train/recipe.h"
#include "byteformer/train/trainer.h"
#include "cli_common.h"
#include "commands.h"
#include "byteformer/train/launch.h"

namespace byteformer::cli {

namespace {

namespace fs = std::filesystem;

// Signal handlers can only reach process-wide state; the trainer reads it through a pointer.
std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int sig) {
  g_stop_signal.store(sig);
  std::signal(sig, SIG_DFL);  // a second signal ends the process at once
}

// The calibrated "unknown" of the finished run (thresholds.json): predict and serve use it.
void calibrate(const std::string& run_dir) {
  const ClassThresholds t = calibrate_run(run_dir, /*progress=*/nullptr);
  std::vector<double> sorted = t.per_class;
  std::sort(sorted.begin(), sorted.end());
  std::cerr << fmt::format("calibrated: per-class thresholds for {:.0f}% precision on {} validation samples "
                           "(median {:.3f}, highest {:.3f}) in {}\n",
                           100.0 * t.target_precision, t.samples, sorted.empty() ? 0.0 : sorted[sorted.size() / 2],
                           sorted.empty() ? 0.0 : sorted.back(), RunFiles(run_dir).thresholds());
}

}  // namespace

void add_train_command(CLI::App& app) {
  struct Args {
    ModelFlags model;
    bool dry_run = false;
    LaunchOptions launch;
    FolderTraining folder;
    int64_t epochs = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("train", "Train a ByteFormer on a folder of your files (--data), or from a CoreNet YAML config");
  add_model_flags(cmd, args->model, /*weights=*/false);
  auto* config = cmd->get_option("--config");
  config->required(false);
  auto* data = cmd->add_option("--data", args->folder.data_dir,
                               "A folder of class folders (DIR/<class>/<file>, or DIR/train/, val/, test/ of them): "
                               "classes, the validation split and the schedule come from it")
                   ->excludes(config);
  cmd->add_option("--recipe", args->folder.recipe,
                  "With --data: image, audio, file-types (any file, by its bytes), or a YAML config")
      ->capture_default_str()
      ->needs(data);
  cmd->add_option("--epochs", args->epochs, "With --data: epochs (default: scaled to the folder)")
      ->check(positive_int())
      ->needs(data);
  cmd->add_option("--out", args->folder.out, "With --data: the run folder (default: runs/<DIR's name>)")->needs(data);
  cmd->add_flag("--dry-run", args->dry_run, "Check the config, build model and pipelines, then exit");
  auto& l = args->launch;
  cmd->add_option("--nproc-per-node", l.nproc_per_node, "Data parallel: worker processes on this node (like torchrun)");
  cmd->add_option("--nnodes", l.nnodes, "Data parallel: number of nodes");
  cmd->add_option("--node-rank", l.node_rank, "Data parallel: this node's rank (0 hosts the rendezvous)");
  cmd->add_option("--master-addr", l.master_addr, "Data parallel: address of node 0");
  cmd->add_option("--master-port", l.master_port, "Data parallel: rendezvous port on node 0");
  cmd->add_option("--dist-timeout", l.timeout_s, "Data parallel: seconds before a silent rank stops the job (300)");
  cmd->callback([args] {
    // RANK/WORLD_SIZE set (by torchrun or our launcher): this process is one worker.
    const auto env = DistributedEnv::from_environment();
    const auto& l = args->launch;
    if (!env && !args->dry_run && (l.nproc_per_node > 1 || l.nnodes > 1)) {
      if (const int rc = launch_workers(l, std::cerr); rc != 0) throw CLI::RuntimeError(rc);
      return;
    }
    const bool distributed = env && env->world_size > 1;
    apply_threads(args->model, distributed ? env->local_world_size : 1);
    const ModelSpec spec = args->model.spec(env ? env->local_rank : 0);  // overrides, device
    Config config;
    if (!args->folder.data_dir.empty()) {
      FolderTraining folder = args->folder;
      if (args->epochs > 0) folder.epochs = args->epochs;
      folder.overrides = spec.overrides;
      FolderConfig made = folder_training_config(folder);
      if (!env || env->rank == 0)
        for (const auto& note : made.notes) std::cerr << note << "\n";
      config = std::move(made.config);
    } else if (!args->model.config.empty()) {
      config = load_config(args->model.config, spec.overrides);
    } else {
      throw CLI::RequiredError("--data DIR (a folder of class folders) or --config FILE (a CoreNet YAML config)");
    }
    const Recipe recipe = Recipe::from_config(std::move(config));
    if (args->dry_run) {
      std::cout << recipe.summary();
      std::cout << "device: " << device_name(spec.device) << "\n";
      auto env_or = [](const char* name) {
        const char* v = std::getenv(name);
        return v != nullptr ? std::string(v) : std::string("(unset)");
      };
      std::cout << fmt::format("threads: {} intra-op; OMP_WAIT_POLICY={} OPENBLAS_THREAD_TIMEOUT={}\n",
                               torch::get_num_threads(), env_or("OMP_WAIT_POLICY"), env_or("OPENBLAS_THREAD_TIMEOUT"));
      std::cout << fmt::format("BLAS: {}; OPENBLAS_CORETYPE={}\n", blas_description(), env_or("OPENBLAS_CORETYPE"));
      return;
    }
    const TrainerOptions& options = recipe.trainer;
    std::unique_ptr<DistributedContext> dist;
    DistributedOptions dopt;
    if (distributed) {
      dopt = DistributedOptions::from_environment();
      if (l.timeout_s > 0) dopt.timeout = std::chrono::seconds(l.timeout_s);
      dist = std::make_unique<DistributedContext>(*env, dopt);
      if (dist->is_main())
        std::cerr << fmt::format("distributed: {} ranks; global batch {} = train_batch_size0 {} x {} ranks x accum_freq {}\n",
                                 env->world_size, options.train_batch_size * env->world_size * options.accum_freq,
                                 options.train_batch_size, env->world_size, options.accum_freq);
    }
    Trainer trainer(recipe, spec.device, dist ? dist->hooks() : DistributedHooks{}, &std::cerr);
    const std::atomic<int>* stop = &g_stop_signal;
    if (dist) {
      dist->prepare(trainer.model(), /*overlap=*/options.accum_freq == 1 && dopt.overlap);
      stop = dist->agree_on_stop(&g_stop_signal);
    }
    g_stop_signal.store(0);
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    const TrainResult r = trainer.run(stop);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (dist) {
      dist->barrier();
      const DistributedStats st = dist->stats();
      if (dist->is_main())
        std::cerr << fmt::format("distributed: {} over {} ranks, {} steps, {:.2f} MB of gradients in {} bucket(s) per step "
                                 "({} launched during backward), all-reduce exposed {:.2f} ms/step\n",
                                 dist->backend(), dist->world_size(), st.steps, st.bytes_per_step / 1048576.0, st.buckets,
                                 st.buckets_overlapped, st.exposed_ms_per_step());
    }
    if (r.stop_signal != 0) {
      std::cerr << fmt::format("interrupted: checkpoint saved in {}; run again with common.auto_resume=true to continue\n",
                               trainer.files().dir);
      throw CLI::RuntimeError(128 + r.stop_signal);
    }
    if (dist && !dist->is_main()) return;  // rank 0 reports the result
    if (r.already_complete) {
      if (!fs::exists(trainer.files().thresholds())) calibrate(trainer.files().dir);
      std::cout << fmt::format("run already complete ({} epochs, {} steps; best top1 {:.2f}{}): weights in {}{}; "
                               "to train again, set another common.run_label or delete {}\n",
                               r.epochs_done, r.iterations, r.best_top1,
                               r.best_ema_top1 >= 0 ? fmt::format(", ema {:.2f}", r.best_ema_top1) : "",
                               trainer.files().best(),
                               r.best_ema_top1 >= 0 ? " (EMA: " + trainer.files().ema_best() + ")" : "",
                               trainer.files().dir);
      return;
    }
    calibrate(trainer.files().dir);
    std::cout << fmt::format("best top1 {:.2f}", r.best_top1);
    if (r.best_ema_top1 >= 0) std::cout << fmt::format(" (ema {:.2f})", r.best_ema_top1);
    std::cout << fmt::format(" after {} epochs, {} steps; weights in {}\n", r.epochs_done, r.iterations,
                             trainer.files().dir);
  });
}

}  // namespace byteformer::cli
