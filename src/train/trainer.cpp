#include "byteformer/train/trainer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "byteformer/data/byte_pipeline.h"
#include "byteformer/data/loader.h"
#include "byteformer/data/sampler.h"
#include "byteformer/io/checkpoint.h"
#include "byteformer/io/config_schema.h"
#include "byteformer/model/device.h"
#include "byteformer/model/model_loader.h"
#include "byteformer/model/precision.h"
#include "byteformer/train/ema.h"
#include "byteformer/classify/evaluator.h"
#include "byteformer/train/lr_schedule.h"
#include "byteformer/train/optimizer.h"
#include "byteformer/io/progress.h"
#include "byteformer/train/training_state.h"

namespace byteformer {

namespace fs = std::filesystem;

namespace {
/// One numbering for where a run stands, used when it stops and when it resumes: the 1-based
/// epoch, the batches of it done, the optimiser steps done in all.
std::string run_position(int64_t epoch0, int64_t batches_done, int64_t steps) {
  return fmt::format("epoch {} batch {} (step {})", epoch0 + 1, batches_done, steps);
}
}  // namespace

struct Trainer::State {
  Recipe recipe;
  TrainerOptions opt;  // the recipe's, mixed_precision cleared where bf16 autocast cannot run
  torch::Device device{torch::kCPU};
  DistributedHooks hooks;
  std::ostream* log = nullptr;
  RunFiles files{""};
  std::shared_ptr<DatasetIndex> train_index, val_index;
  std::unique_ptr<DataLoader> train_loader, val_loader;
  ByteFormer model{nullptr};
  std::unique_ptr<ModelEma> ema;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<CosineSchedule> schedule;
  SamplerOptions train_sampler, val_sampler;
  std::set<std::string> reported_errors;

  bool main() const { return hooks.is_main(); }
  std::ostream* out() const { return main() ? log : nullptr; }
  void say(const std::string& line) const {
    if (out()) *out() << line << "\n" << std::flush;
  }
  void report_errors(const std::vector<std::string>& errors) {
    for (const auto& e : errors)
      if (reported_errors.insert(e).second) say("warning: skipped undecodable sample: " + e);
  }
  void save_weights(const std::string& path, const ByteFormer& m) const {
    save_state_dict(path, m->state_dict());
    WeightsSidecar sidecar;
    sidecar.numerics = m->options().numerics;
    sidecar.labels = train_index->classes;
    write_weights_sidecar(path, sidecar);
  }

  /// One epoch's training pass, as Trainer::run needs it afterwards.
  struct EpochPass {
    EpochMetrics train;  // this rank's counters
    double seconds = 0;
    double lr = 0;       // at the last batch
    bool stopped = false;
  };

  /// The validation of one epoch: the model's and, with EMA, the EMA model's.
  struct EpochValidation {
    EvalResult val;
    std::optional<EvalResult> ema;
  };

  /// The run folder exists, temporary files of an interrupted write are gone, config.yaml is
  /// this run's config.
  void prepare_run_folder();
  /// Loads common.resume, or the run folder's training state (common.auto_resume), into `c`.
  bool resume(TrainingCounters& c);
  void save_state(TrainingCounters& c);
  bool iterations_done(const TrainingCounters& c) const {
    return opt.max_iterations && c.iteration >= *opt.max_iterations;
  }
  EpochPass train_epoch(TrainingCounters& c, const std::atomic<int>* stop);
  EpochValidation validate();
  void end_epoch(TrainingCounters& c, const EpochMetrics& train, const EpochPass& pass, const EpochValidation& v);
};

Trainer::Trainer(const Recipe& recipe, torch::Device device, DistributedHooks hooks, std::ostream* log)
    : s_(std::make_unique<State>()) {
  auto& s = *s_;
  s.recipe = recipe;
  s.opt = recipe.trainer;
  s.device = device;
  s.hooks = std::move(hooks);
  s.log = log;
  s.files = RunFiles(s.opt.run_dir);
  if (!recipe.check.ignored.empty()) s.say(describe_ignored(recipe.check));

  const ByteFormerOptions& model_options = recipe.model;
  const Config& config = recipe.config;
  s.train_index = std::make_shared<DatasetIndex>(load_dataset(config, Split::kTrain, s.opt.seed));
  s.val_index =
      std::make_shared<DatasetIndex>(load_dataset(config, Split::kValidation, /*seed=*/0, s.train_index->classes));
  if (s.train_index->modality != recipe.modality || s.val_index->modality != recipe.modality)
    throw std::logic_error("Trainer: the dataset's modality differs from the recipe's");
  if (s.val_index->classes != s.train_index->classes)
    throw std::runtime_error(fmt::format("dataset: validation classes ({}) differ from training classes ({})",
                                         s.val_index->classes.size(), s.train_index->classes.size()));
  const auto n_classes = static_cast<int64_t>(s.train_index->classes.size());
  if (n_classes != model_options.n_classes)
    throw std::invalid_argument(fmt::format("config {}: model.classification.n_classes is {} but {} has {} classes",
                                            config.path(), model_options.n_classes, s.train_index->description,
                                            n_classes));
  s.say("train: " + s.train_index->description);
  s.say("val:   " + s.val_index->description);
  {
    const int64_t batches = (static_cast<int64_t>(s.train_index->size()) + s.opt.train_batch_size * s.hooks.world_size - 1) /
                            (s.opt.train_batch_size * s.hooks.world_size);
    const int64_t steps = std::max<int64_t>(batches / s.opt.accum_freq, 1) * s.opt.max_epochs;
    if (recipe.schedule.warmup_iterations >= steps)
      s.say(fmt::format("warning: scheduler.warmup_iterations {} is not below the run's {} optimiser steps ({} epochs of "
                        "{} batches): the learning rate never leaves its warmup (scheduler.warmup_init_lr {}); lower the "
                        "warmup or train longer",
                        recipe.schedule.warmup_iterations, steps, s.opt.max_epochs, batches,
                        recipe.schedule.warmup_init_lr));
    if (batches < s.opt.accum_freq)
      s.say(fmt::format("warning: common.accum_freq {} is more than the {} batches of an epoch: the optimiser never "
                        "steps",
                        s.opt.accum_freq, batches));
  }

  auto train_pipe = std::make_shared<BytePipeline>(recipe.train_pipeline, s.train_index);
  auto val_pipe = std::make_shared<BytePipeline>(recipe.eval_pipeline, s.val_index);
  for (const auto& w : train_pipe->warnings()) s.say("warning: " + w);
  s.say("pipeline: " + train_pipe->options().describe() + " | " + val_pipe->options().describe());
  s.train_loader = std::make_unique<DataLoader>(train_pipe, LoaderOptions{s.opt.workers, s.opt.prefetch, s.opt.seed});
  s.val_loader = std::make_unique<DataLoader>(val_pipe, LoaderOptions{s.opt.workers, s.opt.prefetch, s.opt.seed});

  s.train_sampler.batch_size = s.opt.train_batch_size;
  s.train_sampler.shuffle = true;
  s.train_sampler.seed = s.opt.seed;
  s.train_sampler.rank = s.hooks.rank;
  s.train_sampler.world_size = s.hooks.world_size;
  s.train_sampler.bucket_by_length = s.opt.length_bucketing;
  if (s.opt.length_bucketing)
    for (const auto& x : s.train_index->samples) s.train_sampler.lengths.push_back(x.file_bytes);
  s.val_sampler.batch_size = s.opt.val_batch_size;
  s.val_sampler.shuffle = false;
  s.val_sampler.rank = s.hooks.rank;
  s.val_sampler.world_size = s.hooks.world_size;

  torch::manual_seed(s.opt.seed);
  s.model = ByteFormer(model_options);
  configure_cuda_matmul(model_options.allow_tf32, s.device);
  s.model->to(s.device);
  s.model->train();
  if (s.opt.mixed_precision) {
    // Probe one forward/backward under bf16 autocast; where this LibTorch or the model cannot
    // run it, train in float32 rather than fail hours into a run.
    try {
      const int64_t L = std::max<int64_t>(model_options.conv_kernel_size, 1) * 4;
      const auto probe =
          torch::arange(2 * L, torch::kInt64).remainder(256).view({2, L}).to(s.device);  // (2, L), no RNG draw
      s.model->eval();
      torch::Tensor out;
      {
        AutocastGuard autocast(true, s.device.type());
        out = s.model->forward(probe);
      }
      out.to(torch::kFloat32).sum().backward();
      s.model->zero_grad();
      s.model->train();
    } catch (const std::exception& e) {
      std::string why = e.what();
      why = why.substr(0, why.find('\n'));
      s.say("warning: common.mixed_precision: bf16 autocast failed on this build (" + why + "); training in float32");
      s.opt.mixed_precision = false;
      s.model->zero_grad();
      s.model->train();
    }
  }
  if (s.opt.ema) s.ema = std::make_unique<ModelEma>(s.model, s.opt.ema_momentum);
  s.optimizer = make_adamw(*s.model, recipe.optimizer);
  s.schedule = std::make_unique<CosineSchedule>(recipe.schedule);
  s.say(fmt::format("model: ByteFormer {} C={} layers={} classes={} params={} numerics={}; batch {} x accum {} x {} "
                    "rank(s) = {}{}{}",
                    model_options.mode, model_options.embed_dim, model_options.num_layers, n_classes,
                    s.model->parameter_count(), to_string(model_options.numerics), s.opt.train_batch_size,
                    s.opt.accum_freq, s.hooks.world_size,
                    s.opt.train_batch_size * s.opt.accum_freq * s.hooks.world_size,
                    s.opt.mixed_precision ? "; mixed precision: bf16 autocast" : "",
                    s.device.is_cpu() ? "" : "; device " + device_name(s.device)));
}

Trainer::~Trainer() = default;

ByteFormer& Trainer::model() { return s_->model; }
const std::vector<std::string>& Trainer::classes() const { return s_->train_index->classes; }
const RunFiles& Trainer::files() const { return s_->files; }

void Trainer::State::prepare_run_folder() {
  if (!main()) return;
  fs::create_directories(files.dir);
  // A kill -9 during a checkpoint write leaves write_file_atomic's temp file behind.
  if (const auto stale = remove_stale_temp_files(files.dir); !stale.empty())
    say(fmt::format("note: removed {} temporary file(s) an interrupted write left in {}: {}", stale.size(), files.dir,
                    fmt::join(stale, ", ")));
  // Data roots as absolute paths: `eval --model RUN` and `predict` work from any folder.
  Config config = recipe.config;
  for (const char* key : {"dataset.root_train", "dataset.root_val", "dataset.root_test"}) {
    if (!config.is_set(key)) continue;
    const fs::path root(config.get_string(key, ""));
    if (root.is_relative()) config.set(key, YAML::Node(fs::absolute(root).lexically_normal().string()), config.origin(key));
  }
  const std::string yaml = config.to_yaml();
  write_file_atomic(files.config(), yaml.data(), yaml.size());
}

bool Trainer::State::resume(TrainingCounters& c) {
  std::string resume_from = opt.resume;
  if (resume_from.empty() && opt.auto_resume && fs::exists(files.state())) resume_from = files.state();
  if (resume_from.empty()) return false;
  try {
    c = load_training_state(resume_from, model, ema.get(), *optimizer);
  } catch (const std::invalid_argument& e) {  // a key or shape that this config's model lacks
    const std::string why = e.what();
    throw std::runtime_error(
        fmt::format("{} holds the training state of a different model than the config builds ({}); to start fresh, set "
                    "another common.run_label (or common.results_loc){} or delete {}",
                    resume_from, why.substr(0, why.find('\n')), opt.resume.empty() ? "" : ", or another common.resume",
                    opt.resume.empty() ? files.dir : resume_from));
  }
  schedule->set_warmup_epochs(c.warmup_epochs);
  say(fmt::format("resumed from {} at {}", resume_from, run_position(c.epoch, c.batch_in_epoch, c.iteration)));
  return true;
}

void Trainer::State::save_state(TrainingCounters& c) {
  if (!main()) return;
  c.warmup_epochs = schedule->warmup_epochs();
  save_training_state(files.state(), c, model, ema.get(), *optimizer);
}

TrainResult Trainer::run(const std::atomic<int>* stop) {
  auto& s = *s_;
  TrainResult result;
  TrainingCounters c;
  s.prepare_run_folder();
  result.resumed = s.resume(c);
  result.already_complete = result.resumed && (c.epoch >= s.opt.max_epochs || s.iterations_done(c));

  for (; c.epoch < s.opt.max_epochs && !s.iterations_done(c);
       ++c.epoch, c.batch_in_epoch = 0, c.epoch_metrics = {}, c.epoch_seconds = 0) {
    const State::EpochPass pass = s.train_epoch(c, stop);
    if (pass.stopped) {
      result.stop_signal = stop->load();
      result.iterations = c.iteration;
      result.epochs_done = c.epoch;
      result.best_top1 = c.best_top1;
      result.best_ema_top1 = c.best_ema_top1;
      s.say(fmt::format("stopped by signal {} at {}; state saved to {}", result.stop_signal,
                        run_position(c.epoch, c.batch_in_epoch, c.iteration), s.files.state()));
      return result;
    }
    EpochMetrics train = pass.train;
    if (s.hooks.reduce_metrics) s.hooks.reduce_metrics(train);
    const State::EpochValidation v = s.validate();
    s.end_epoch(c, train, pass, v);
    result.epochs_done = c.epoch + 1;
  }
  result.best_top1 = c.best_top1;
  result.best_ema_top1 = c.best_ema_top1;
  result.iterations = c.iteration;
  result.epochs_done = std::min(c.epoch, s.opt.max_epochs);
  return result;
}

/// Trains epoch c.epoch from batch c.batch_in_epoch on: forward, loss and backward per batch,
/// an optimiser step (after the gradient all-reduce) every accumulation window. On a stop
/// request: saves the training state and the last weights, and says so in the result.
Trainer::State::EpochPass Trainer::State::train_epoch(TrainingCounters& c, const std::atomic<int>* stop) {
  EpochPass pass;
  // A resumed epoch carries on from the stopped run's time and learning rate (a stop after the
  // epoch's last batch leaves no batch to train here).
  pass.lr = c.lr;
  const double seconds_before = c.epoch_seconds;
  const int64_t epoch = c.epoch;
  auto batches = make_epoch_batches(static_cast<int64_t>(train_index->size()), train_sampler, epoch);
  const int64_t total = static_cast<int64_t>(batches.size());
  train_loader->start(std::move(batches), epoch, c.batch_in_epoch);
  const int64_t accum = epoch >= opt.accum_after_epoch ? opt.accum_freq : 1;
  ProgressBar bar(out(), fmt::format("epoch {}/{}", epoch + 1, opt.max_epochs), total, stderr_is_terminal(),
                  opt.log_freq);
  model->train();
  // Gradients are released, not zeroed (PyTorch 2's default): the backward then hands each
  // parameter its new gradient instead of adding it to zeros.
  model->zero_grad(/*set_to_none=*/true);
  bool window_has_grad = false;
  while (auto batch = train_loader->next()) {
    const int64_t b = batch->position;
    c.epoch_metrics.skipped += static_cast<int64_t>(batch->errors.size());
    report_errors(batch->errors);
    pass.lr = c.lr = schedule->lr(epoch, c.iteration);
    set_learning_rate(*optimizer, pass.lr);
    if (batch->size() > 0) {
      torch::Tensor logits, loss;
      {
        AutocastGuard autocast(opt.mixed_precision, device.type());
        logits = model->forward(batch->bytes.to(device));  // (B, K)
        const auto soft = batch->soft_targets.defined() ? batch->soft_targets.to(device) : torch::Tensor();
        loss = classification_loss(logits, batch->labels.to(device), soft, opt.label_smoothing);
      }
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value))
        throw std::runtime_error(fmt::format("training diverged: loss {} at epoch {} batch {}", loss_value, epoch, b));
      loss.backward();  // CoreNet sums (does not average) the accumulated micro-batch gradients
      window_has_grad = true;
      c.epoch_metrics.add(logits.detach().to(torch::kCPU, torch::kFloat32), batch->labels, loss_value);
    }
    c.batch_in_epoch = b + 1;
    if ((b + 1) % accum == 0) {
      // Data parallel: every rank joins the gradient all-reduce and steps, even one whose
      // window held no decodable sample (it contributes zeros), so collectives stay matched.
      if (window_has_grad || hooks.world_size > 1) {
        if (hooks.after_backward) hooks.after_backward(model);
        if (opt.grad_clip) torch::nn::utils::clip_grad_norm_(model->parameters(), *opt.grad_clip);
        optimizer->step();
        model->zero_grad(/*set_to_none=*/true);
        ++c.iteration;
        if (ema) ema->update(model);
      }
      window_has_grad = false;
      const bool stop_now = stop != nullptr && stop->load() != 0;
      if (stop_now || (opt.save_interval_freq > 0 && c.iteration % opt.save_interval_freq == 0)) {
        c.epoch_seconds = seconds_before + bar.elapsed_s();
        save_state(c);
      }
      if (stop_now) {
        bar.finish();
        if (main()) save_weights(files.last(), model);
        train_loader->stop();
        pass.stopped = true;
        return pass;
      }
      if (iterations_done(c)) break;
    }
    bar.update(b + 1, c.epoch_metrics.samples, c.epoch_metrics.loss());
  }
  bar.finish();
  train_loader->stop();
  pass.seconds = seconds_before + bar.elapsed_s();
  pass.train = c.epoch_metrics;
  return pass;
}

/// The model (and the EMA model) on the validation split, summed over ranks.
Trainer::State::EpochValidation Trainer::State::validate() {
  EvalOptions eval_opts;
  eval_opts.mixed_precision = opt.mixed_precision;
  eval_opts.progress = out();
  eval_opts.log_every = opt.log_freq;
  eval_opts.label = "  val";
  const int64_t n_val = static_cast<int64_t>(val_index->size());
  EpochValidation v;
  v.val = evaluate(model, *val_loader, make_epoch_batches(n_val, val_sampler, 0), eval_opts);
  if (hooks.reduce_metrics) hooks.reduce_metrics(v.val.metrics);
  report_errors(v.val.errors);
  if (ema) {
    eval_opts.label = "  ema";
    v.ema = evaluate(ema->model(), *val_loader, make_epoch_batches(n_val, val_sampler, 0), eval_opts);
    if (hooks.reduce_metrics) hooks.reduce_metrics(v.ema->metrics);
  }
  return v;
}

/// The end of an epoch: the best and last weights, the state marked "epoch done" (a kill from
/// here on resumes at the next epoch), a metrics.jsonl line and the log line.
void Trainer::State::end_epoch(TrainingCounters& c, const EpochMetrics& train, const EpochPass& pass,
                               const EpochValidation& v) {
  const bool is_best = v.val.metrics.top1_pct() > c.best_top1;
  if (is_best) c.best_top1 = v.val.metrics.top1_pct();
  const bool is_ema_best = v.ema && v.ema->metrics.top1_pct() > c.best_ema_top1;
  if (is_ema_best) c.best_ema_top1 = v.ema->metrics.top1_pct();
  if (main()) {
    if (is_best) save_weights(files.best(), model);
    if (v.ema) save_weights(files.ema_last(), ema->model());
    if (is_ema_best) save_weights(files.ema_best(), ema->model());
    save_weights(files.last(), model);
  }
  TrainingCounters next = c;
  next.epoch = c.epoch + 1;
  next.batch_in_epoch = 0;
  next.epoch_metrics = {};
  next.epoch_seconds = 0;
  save_state(next);

  const int64_t epoch = c.epoch;
  const double rate = pass.seconds > 0 ? static_cast<double>(train.samples) / pass.seconds : 0;
  if (main()) {
    nlohmann::json j;
    j["epoch"] = epoch + 1;
    j["iterations"] = c.iteration;
    j["lr"] = pass.lr;
    j["train_loss"] = train.loss();
    j["train_top1"] = train.top1_pct();
    j["val_loss"] = v.val.metrics.loss();
    j["val_top1"] = v.val.metrics.top1_pct();
    j["val_top5"] = v.val.metrics.top5_pct();
    if (v.ema) {
      j["ema_val_loss"] = v.ema->metrics.loss();
      j["ema_val_top1"] = v.ema->metrics.top1_pct();
      j["ema_val_top5"] = v.ema->metrics.top5_pct();
    }
    j["train_samples"] = train.samples;
    j["skipped"] = train.skipped + v.val.metrics.skipped;
    j["train_samples_per_s"] = rate;
    j["train_seconds"] = pass.seconds;
    try {
      append_json_line(files.metrics(), j);
    } catch (const std::runtime_error& e) {  // the weights are saved; a lost metrics line is not fatal
      say(fmt::format("warning: {}", e.what()));
    }
  }
  say(fmt::format(
      "epoch {}/{}: train loss {:.4f} top1 {:.2f} | val loss {:.4f} top1 {:.2f} top5 {:.2f}{} | "
      "lr {:.3g} | {:.1f} samples/s | skipped {} | {:.1f}s{}{}",
      epoch + 1, opt.max_epochs, train.loss(), train.top1_pct(), v.val.metrics.loss(), v.val.metrics.top1_pct(),
      v.val.metrics.top5_pct(), v.ema ? fmt::format(" | ema top1 {:.2f}", v.ema->metrics.top1_pct()) : "", pass.lr,
      rate, train.skipped + v.val.metrics.skipped, pass.seconds, is_best ? " *best" : "",
      is_ema_best ? " *ema_best" : ""));
}

}  // namespace byteformer
