// Model throughput on the benchmark workloads (ByteFormer-Ti, 1000 classes), with the plain
// (CoreNet-like: embedding then Conv1d) and fused token reduction measured in the same run,
// per-stage FLOP/s, and the machine's fp32/bf16 matrix-product peak through LibTorch.
//
//   build/bench/bench_model [--threads T] [--quick] [--default-allocator] [--device cuda[:N]]
//                           [--profile tiff|jpeg|tiff-bf16|jpeg-bf16|tiff-train|jpeg-train|quickstart-train[-bf16]
//                                      |tiff-int8|jpeg-int8|quickstart-int8
//                            [--reps N | --trace FILE.json]
//                            [--no-first-block-lookup] [--libtorch-adamw]]
//
// --device cuda runs the four workloads (TIFF-224 and JPEG k=4, eval and train step, batch 4) on
// a GPU, float32 and bf16 autocast (scripts/gpu_check.sh). --profile runs only the fused eval forward (or, with -train, the train step; with
// -bf16 under bf16 autocast, as `eval --precision bf16`) of one workload
// (batch 4; quickstart-train: the Fashion-MNIST quickstart model's train step, batch 256, float32 or
// with -bf16 the recipe's bf16 autocast) N times and prints its samples/s: a target for `perf record`; with --trace it writes
// LibTorch's per-operator trace of one of them (chrome://tracing; bench/op_summary.py totals it
// per operator). --no-first-block-lookup computes the first block's qkv by its product (the
// model's default folds it into lookups for short kernels). The -int8 profiles run the eval
// forward in float32 and in int8 (as `eval --precision int8`) one after the other, N rounds of
// each, and print every round and the ratio of the medians (quickstart-int8: the quickstart
// model's eval forward, batch 256). BYTEFORMER_ONEDNN=0 in the
// environment runs the linear layers on OpenBLAS instead of oneDNN: both for A/B runs.
// Train steps use the trainer's optimiser (make_adamw: CoreNet's groups, the one-pass step);
// --libtorch-adamw steps the same groups with LibTorch's AdamW::step, for A/B runs.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include "byteformer/io/config.h"
#include "byteformer/model/byteformer.h"
#include "byteformer/model/device.h"
#include "model/cpu/fast_linear.h"
#include "byteformer/runtime/runtime.h"
#include "byteformer/model/precision.h"
#include "byteformer/train/optimizer.h"

namespace {

using Clock = std::chrono::steady_clock;
using byteformer::ByteFormer;
using byteformer::ByteFormerOptions;
using byteformer::keep_freed_memory;
using byteformer::set_compute_threads;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double matmul_gflops(torch::ScalarType dtype, int reps) {
  auto a = torch::randn({2048, 2048}).to(dtype), b = torch::randn({2048, 2048}).to(dtype);
  c10::InferenceMode guard;
  torch::mm(a, b);  // warm-up
  auto t = Clock::now();
  for (int i = 0; i < reps; ++i) torch::mm(a, b);
  return 2.0 * 2048.0 * 2048.0 * 2048.0 * reps / seconds_since(t) / 1e9;
}

ByteFormerOptions workload(int64_t kernel) {
  auto o = ByteFormerOptions::preset("tiny");
  o.n_classes = 1000;
  o.max_num_tokens = 50000;
  o.conv_kernel_size = kernel;
  o.window_sizes = {128};
  o.numerics = byteformer::Numerics::kCoreNet;
  return o;
}

// The Fashion-MNIST quickstart model, read from its recipe (configs/fashion_mnist/tiff.yaml: C=64,
// 4 layers, FFN 256, k=168, one window of 32), and the size of its inputs: a 28x28 RGB TIFF file.
constexpr int64_t kQuickstartBytes = 2492, kQuickstartBatch = 256;
ByteFormerOptions quickstart_workload() {
  return ByteFormerOptions::from_config(byteformer::Config::load_file(BYTEFORMER_CONFIGS_DIR "/fashion_mnist/tiff.yaml"));
}

struct Result {
  double samples_per_s = 0;
  std::map<std::string, double> stage_seconds;
};

// Waits for the device's queued work (a host copy of one value); nothing on the CPU.
void sync(const torch::Tensor& t) {
  if (t.device().is_cuda()) t.flatten()[0].item<double>();
}

Result eval_forward(ByteFormer& model, int64_t batch, int64_t bytes, int reps, bool fused, bool bf16 = false,
                    bool int8 = false) {
  const torch::Device device = byteformer::module_device(*model);
  byteformer::AutocastGuard autocast(bf16, device.type());  // bf16 autocast, as `eval --mixed-precision`
  byteformer::Int8InferenceGuard int8_products(int8);        // as `eval --precision int8`
  model->eval();
  model->set_fused_token_reduction(fused);
  auto x = torch::randint(0, 256, {batch, bytes}, torch::kLong).to(device);
  Result r;
  c10::InferenceMode guard;
  sync(model->forward(x));  // warm-up (and the inference table)
  auto last = Clock::now();
  model->set_stage_observer([&](const std::string& stage) {
    r.stage_seconds[stage] += seconds_since(last);
    last = Clock::now();
  });
  auto t = Clock::now();
  for (int i = 0; i < reps; ++i) {
    last = Clock::now();
    sync(model->forward(x));
  }
  r.samples_per_s = batch * reps / seconds_since(t);
  model->set_stage_observer(nullptr);
  for (auto& kv : r.stage_seconds) kv.second /= reps;
  return r;
}

// Seconds per step in each phase of a train step (forward with the loss, backward, AdamW).
struct StepPhases {
  double forward = 0, backward = 0, optimizer = 0;
  std::map<std::string, double> forward_stages;  // the forward's stages (as the eval's)
};

double train_step(ByteFormer& model, int64_t batch, int64_t bytes, int reps, bool fused, bool bf16 = false,
                  StepPhases* phases = nullptr, bool libtorch_adamw = false) {
  const torch::Device device = byteformer::module_device(*model);
  model->train();
  model->set_fused_token_reduction(fused);
  // The trainer's optimiser (CoreNet's groups, the one-pass step) or, with --libtorch-adamw, the
  // same groups through LibTorch's AdamW::step.
  byteformer::OptimizerOptions optim;
  optim.weight_decay = 0.05;
  optim.no_decay_bn_filter_bias = true;
  optim.beta2 = 0.999;
  optim.one_pass_step = !libtorch_adamw;
  auto opt_ptr = byteformer::make_adamw(*model, optim);
  byteformer::set_learning_rate(*opt_ptr, 1e-4);
  auto& opt = *opt_ptr;
  auto x = torch::randint(0, 256, {batch, bytes}, torch::kLong).to(device);
  auto y = torch::randint(0, model->options().n_classes, {batch}, torch::kLong).to(device);
  StepPhases sum;
  auto last = Clock::now();
  auto step = [&] {
    auto t0 = Clock::now();
    opt.zero_grad();
    last = Clock::now();
    torch::Tensor loss;
    {
      byteformer::AutocastGuard autocast(bf16, device.type());  // as common.mixed_precision
      loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    }
    sync(loss);
    auto t1 = Clock::now();
    loss.backward();
    sync(model->parameters().front());
    auto t2 = Clock::now();
    opt.step();
    sync(model->parameters().front());
    sum.forward += std::chrono::duration<double>(t1 - t0).count();
    sum.backward += std::chrono::duration<double>(t2 - t1).count();
    sum.optimizer += std::chrono::duration<double>(Clock::now() - t2).count();
  };
  step();
  sum = StepPhases{};
  if (phases != nullptr)
    model->set_stage_observer([&](const std::string& stage) {
      sum.forward_stages[stage] += seconds_since(last);
      last = Clock::now();
    });
  auto t = Clock::now();
  for (int i = 0; i < reps; ++i) step();
  const double rate = batch * reps / seconds_since(t);
  model->set_stage_observer(nullptr);
  if (phases != nullptr) {
    *phases = {sum.forward / reps, sum.backward / reps, sum.optimizer / reps, sum.forward_stages};
    for (auto& kv : phases->forward_stages) kv.second /= reps;
  }
  return rate;
}

// Seconds, GFLOP/s and % of the fp32 peak of each stage of a fused batch-4 eval forward.
void print_stages(const std::string& name, const std::vector<byteformer::StageCost>& costs, const Result& r,
                  double fp32, bool first_block_lookup) {
  fmt::print("per stage, {} batch 4 eval (fused): seconds, GFLOP/s, % of fp32 peak\n", name);
  double total_flops = 0, total_s = 0;
  for (const auto& c : costs) {
    std::string key = c.name == "classifier" ? "head" : c.name;
    auto it = r.stage_seconds.find(key);
    if (it == r.stage_seconds.end()) continue;
    // Stages done partly as lookups (the fused Conv1d; the first block's qkv where the model
    // folds it) count the FLOPs they replace.
    const double flops = c.flops * 4;
    total_flops += flops, total_s += it->second;
    const char* note = c.name == "conv1d"                                        ? "  (equivalent FLOPs, done as lookups)"
                       : (first_block_lookup && c.name == "transformer.0") ? "  (equivalent FLOPs: qkv as lookups)"
                                                                                 : "";
    fmt::print("  {:<16} {:>8.3f} s {:>8.1f} {:>6.1f}%{}\n", c.name, it->second, flops / it->second / 1e9,
               100 * flops / it->second / 1e9 / fp32, note);
  }
  fmt::print("  {:<16} {:>8.3f} s {:>8.1f} {:>6.1f}%\n\n", "total", total_s, total_flops / total_s / 1e9,
             100 * total_flops / total_s / 1e9 / fp32);
}

double peak_rss_gb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0 / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  byteformer::RuntimeOptions runtime = byteformer::RuntimeOptions::from_environment();  // BYTEFORMER_ONEDNN
  runtime.passive_threads = true;  // as `byteformer train` and `eval` run
  byteformer::apply_runtime_options(runtime, argv);
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  bool quick = false, default_allocator = false;
  std::string profile;
  int profile_reps = 3;
  std::string trace;
  bool first_block_lookup = true;
  bool libtorch_adamw = false;
  std::string device_spec = "cpu";
  CLI::App app("ByteFormer's throughput on the benchmark workloads (docs/PERFORMANCE.md, Benchmarks)");
  app.add_option("--threads", threads, "Compute threads")->check(CLI::PositiveNumber);
  app.add_flag("--quick", quick, "Fewer repetitions");
  app.add_flag("--default-allocator", default_allocator, "Leave glibc's allocator settings as they are");
  app.add_option("--profile", profile, "Run one workload alone: tiff, jpeg, tiff-bf16, jpeg-bf16, tiff-train, "
                                       "jpeg-train, quickstart-train, quickstart-train-bf16; tiff-int8, jpeg-int8, "
                                       "quickstart-int8 (float32 and int8 in alternating rounds)");
  app.add_option("--reps", profile_reps, "Repetitions of --profile")->check(CLI::PositiveNumber);
  app.add_option("--trace", trace, "Write LibTorch's per-operator trace of --profile to this file");
  app.add_option("--device", device_spec, "cpu, or cuda[:N]: the four workloads on a GPU");
  app.add_flag("--no-first-block-lookup{false}", first_block_lookup, "The first block's qkv by its product");
  app.add_flag("--libtorch-adamw", libtorch_adamw, "Step the optimiser groups with LibTorch's AdamW");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  set_compute_threads(threads);
  if (!default_allocator) keep_freed_memory();  // as `byteformer train` and `eval` do
  torch::manual_seed(0);
  if (device_spec != "cpu") {
    // The four workloads on a GPU, float32 (TF32 off, as the CUDA tests) and bf16 autocast, beside
    // CoreNet's figures on this CPU; bench/torch_byteformer.py times the same model in PyTorch.
    torch::Device device(torch::kCPU);
    try {
      device = byteformer::resolve_device(device_spec);
    } catch (const std::exception& e) {
      fmt::print(stderr, "bench_model: {}\n", e.what());
      return 2;
    }
    at::globalContext().setAllowTF32CuBLAS(false);
    const int r = quick ? 2 : std::max(profile_reps, 5);
    fmt::print("byteformer bench_model on {}: LibTorch {}, batch 4, {} reps\n", byteformer::device_name(device),
               TORCH_VERSION, r);
    ByteFormer tiff_model(workload(32)), jpeg_model(workload(4));
    tiff_model->to(device);
    jpeg_model->to(device);
    struct Row {
      const char* name;
      ByteFormer* model;
      int64_t bytes;
      bool train;
    };
    for (const Row& w : {Row{"eval forward, TIFF 224 (150,702 B), k=32, w=128", &tiff_model, 150702, false},
                         Row{"eval forward, 48,564 B JPEG, k=4, w=128", &jpeg_model, 48564, false},
                         Row{"train step (fwd+bwd+AdamW), TIFF 224, k=32", &tiff_model, 150702, true},
                         Row{"train step, 48,564 B JPEG, k=4", &jpeg_model, 48564, true}}) {
      double rate[2];
      for (const bool bf16 : {false, true})
        rate[bf16] = w.train ? train_step(*w.model, 4, w.bytes, r, true, bf16)
                             : eval_forward(*w.model, 4, w.bytes, r, true, bf16).samples_per_s;
      fmt::print("{:<52} fp32 {:>8.2f}/s  bf16 {:>8.2f}/s\n", w.name, rate[0], rate[1]);
    }
    return 0;
  }
  if (profile == "tiff-int8" || profile == "jpeg-int8" || profile == "quickstart-int8") {
    // float32 and int8 eval forwards of one model in alternating rounds (the machine's load moves
    // both alike), each round profile_reps forwards.
    fmt::print("{}\n", byteformer::cpu_description());
    if (!byteformer::int8_products()) {
      fmt::print(stderr, "bench_model: --profile {}: {}\n", profile, byteformer::int8_products_missing());
      return 2;
    }
    const bool quickstart = profile == "quickstart-int8", is_tiff = profile == "tiff-int8";
    const int64_t bytes = quickstart ? kQuickstartBytes : is_tiff ? 150702 : 48564;
    const int64_t batch = quickstart ? kQuickstartBatch : 4;
    ByteFormer model(quickstart ? quickstart_workload() : workload(is_tiff ? 32 : 4));
    model->set_first_block_lookup(first_block_lookup);
    const int rounds = 5;
    std::vector<double> rate[2];
    Result last[2];
    for (int round = 0; round < rounds; ++round) {
      for (const bool int8 : {false, true}) {
        last[int8] = eval_forward(model, batch, bytes, profile_reps, true, false, int8);
        rate[int8].push_back(last[int8].samples_per_s);
      }
      fmt::print("round {}: fp32 {:.2f}/s, int8 {:.2f}/s ({:.2f}x)\n", round + 1, rate[0].back(), rate[1].back(),
                 rate[1].back() / rate[0].back());
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    fmt::print("{} eval forward, batch {}, {} rounds of {}: medians fp32 {:.2f}, int8 {:.2f} samples/s: {:.2f}x "
               "(first block's qkv {})\n",
               profile, batch, rounds, profile_reps, median(rate[0]), median(rate[1]),
               median(rate[1]) / median(rate[0]), model->first_block_lookup() ? "from lookups" : "from its product");
    fmt::print("  stage seconds, last round:      fp32     int8\n");
    for (const auto& kv : last[0].stage_seconds)
      fmt::print("  {:<26} {:>8.3f} {:>8.3f}\n", kv.first, kv.second, last[1].stage_seconds[kv.first]);
    return 0;
  }
  if (!profile.empty()) {
    const bool quickstart = profile.rfind("quickstart-train", 0) == 0;
    if (profile != "tiff" && profile != "jpeg" && profile != "tiff-bf16" && profile != "jpeg-bf16" &&
        profile != "tiff-train" && profile != "jpeg-train" && profile != "quickstart-train" &&
        profile != "quickstart-train-bf16") {
      fmt::print(stderr, "bench_model: --profile '{}': expected tiff, jpeg, tiff-bf16, jpeg-bf16, tiff-train, "
                         "jpeg-train, quickstart-train, quickstart-train-bf16, tiff-int8, jpeg-int8 or "
                         "quickstart-int8\n", profile);
      return 2;
    }
    const bool is_tiff = profile.rfind("tiff", 0) == 0;
    const bool is_train = quickstart || (profile.size() > 6 && profile.compare(profile.size() - 6, 6, "-train") == 0);
    const bool bf16 = profile.size() > 5 && profile.compare(profile.size() - 5, 5, "-bf16") == 0;
    const int64_t bytes = quickstart ? kQuickstartBytes : is_tiff ? 150702 : 48564;
    const int64_t batch = quickstart ? kQuickstartBatch : 4;
    ByteFormer model(quickstart ? quickstart_workload() : workload(is_tiff ? 32 : 4));
    model->set_first_block_lookup(first_block_lookup);
    StepPhases phases;
    auto run = [&](int n) {
      return is_train ? Result{train_step(model, batch, bytes, n, true, bf16, &phases, libtorch_adamw), {}}
                      : eval_forward(model, batch, bytes, n, true, bf16);
    };
    Result r;
    if (!trace.empty()) {
      // One traced forward or train step (after an untraced warm-up): chrome://tracing JSON.
      run(1);
      torch::autograd::profiler::RecordProfile guard(trace);
      r = run(1);
    } else {
      r = run(profile_reps);
    }
    fmt::print("{} {}, batch {}, fused: {:.2f} samples/s (OpenMP {}, linear layers on {}, first block's qkv {})\n",
               profile, is_train ? "train step" : "eval forward", batch, r.samples_per_s,
               byteformer::passive_openmp() ? "passive" : "spinning",
               byteformer::onednn_enabled() ? "oneDNN" : "OpenBLAS",
               model->first_block_lookup() ? "from lookups" : "from its product");
    if (bf16 && !is_train)
      fmt::print("  linear layers' products: {}\n", byteformer::bf16_products()
                                                        ? "bf16 through oneDNN (the inference paths)"
                                                        : "autocast's (no bf16 arithmetic here, or oneDNN off)");
    for (const auto& kv : r.stage_seconds) fmt::print("  {:<16} {:>8.3f} s\n", kv.first, kv.second);
    if (is_train) {
      fmt::print("  per step: forward {:.1f} ms, backward {:.1f} ms, AdamW {:.1f} ms; forward stages:",
                 phases.forward * 1e3, phases.backward * 1e3, phases.optimizer * 1e3);
      for (const auto& kv : phases.forward_stages) fmt::print(" {} {:.1f}", kv.first, kv.second * 1e3);
      fmt::print(" ms\n");
    }
    return 0;
  }
  const int reps = quick ? 1 : 3;
  fmt::print("byteformer bench_model: {} threads, LibTorch {}, {}{}; inference linear layers on {}\n", threads,
             TORCH_VERSION,
             byteformer::blas_description().empty() ? "BLAS not OpenBLAS" : byteformer::blas_description(),
             default_allocator ? ", glibc's default allocator settings" : "",
             byteformer::onednn_enabled() ? "oneDNN" : "OpenBLAS");
  const double fp32 = matmul_gflops(torch::kFloat, quick ? 3 : 10);
  const double bf16 = matmul_gflops(torch::kBFloat16, quick ? 3 : 10);
  fmt::print("matrix product 2048^3: fp32 {:.1f} GFLOP/s, bf16 {:.1f} GFLOP/s\n\n", fp32, bf16);

  const int64_t tiff = 150702, jpeg = 48564;
  ByteFormer tiff_model(workload(32)), jpeg_model(workload(4));
  fmt::print("{:<58} {:>10} {:>10} {:>8} {:>8}\n", "workload (ByteFormer-Ti, 1000 classes)", "plain/s", "fused/s", "speedup",
             "CoreNet");
  auto row = [](const std::string& name, double plain, double fused, const char* corenet) {
    fmt::print("{:<58} {:>10.2f} {:>10.2f} {:>7.2f}x {:>8}\n", name, plain, fused, fused / plain, corenet);
  };
  auto e4p = eval_forward(tiff_model, 4, tiff, reps, false), e4f = eval_forward(tiff_model, 4, tiff, reps, true);
  row("eval forward, TIFF 224 (150,702 B), k=32, w=128, batch 4", e4p.samples_per_s, e4f.samples_per_s, "1.14");
  auto e8f = eval_forward(tiff_model, 8, tiff, quick ? 1 : 2, true);
  auto e8p = eval_forward(tiff_model, 8, tiff, quick ? 1 : 2, false);
  row("eval forward, same, batch 8", e8p.samples_per_s, e8f.samples_per_s, "0.87");
  row("train step (fwd+bwd+AdamW), same, batch 4", train_step(tiff_model, 4, tiff, reps, false),
      train_step(tiff_model, 4, tiff, reps, true), "0.40");
  auto j4p = eval_forward(jpeg_model, 4, jpeg, reps, false), j4f = eval_forward(jpeg_model, 4, jpeg, reps, true);
  row("eval forward, 48,564 B (avg ImageNet JPEG), k=4, w=128, batch 4", j4p.samples_per_s, j4f.samples_per_s, "0.87");
  row("train step, same", train_step(jpeg_model, 4, jpeg, reps, false), train_step(jpeg_model, 4, jpeg, reps, true),
      "0.27");
  // The Fashion-MNIST quickstart model's training step (a small model), float32 and bf16
  // autocast (the recipe's common.mixed_precision), batch 256 as the recipe.
  {
    ByteFormer qs(quickstart_workload());
    const int qreps = quick ? 2 : 5;
    const double q32 = train_step(qs, kQuickstartBatch, kQuickstartBytes, qreps, true);
    const double q16 = train_step(qs, kQuickstartBatch, kQuickstartBytes, qreps, true, true);
    fmt::print("train step, Fashion-MNIST quickstart model (C=64, 4 layers, k=168, 2,492 B TIFF), batch 256: "
               "fp32 {:.0f}/s, bf16 autocast {:.0f}/s\n",
               q32, q16);
  }
  // Optional bf16 (autocast, as `byteformer eval --precision bf16`: the inference paths with bf16
  // products where the CPU has bf16 arithmetic, else autocast's modules): other numbers out.
  const double t4b = eval_forward(tiff_model, 4, tiff, reps, true, true).samples_per_s;
  const double j4b = eval_forward(jpeg_model, 4, jpeg, reps, true, true).samples_per_s;
  fmt::print("bf16 autocast eval forward (fused), batch 4: TIFF {:.2f}/s ({:.2f}x fp32), "
             "JPEG k=4 {:.2f}/s ({:.2f}x fp32)\n",
             t4b, t4b / e4f.samples_per_s, j4b, j4b / j4f.samples_per_s);
  fmt::print("peak RSS of this process: {:.2f} GB\n\n", peak_rss_gb());

  // Per-stage FLOP/s of the fused batch-4 forwards against the fp32 peak above.
  print_stages("TIFF-224", tiff_model->stage_costs(tiff), e4f, fp32, false);
  print_stages("JPEG k=4", jpeg_model->stage_costs(jpeg), j4f, fp32, jpeg_model->first_block_lookup());
  return 0;
}
