// Devices (`--device`, resolve_device) everywhere, and the model on CUDA against the CPU and
// CoreNet's own numbers. The tests that need a GPU skip, saying so, where none is visible (this
// project's machines have the CUDA toolkit but no GPU); scripts/gpu_check.sh runs them
// (`ctest -L cuda`) on a machine with one.
#include <gtest/gtest.h>

#include <ATen/Context.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "byteformer/model/device.h"
#include "byteformer/model/inference.h"
#include "byteformer/model/model_loader.h"
#include "byteformer/model/precision.h"
#include "byteformer/classify/metrics.h"
#include "model/predict_files.h"
#include "test_util.h"
#include "train/tiny_data.h"

namespace byteformer {
namespace {

const std::string kDir = test::fixtures_dir() + "/corenet-tiny-k8-w32";
constexpr double kTol = 1e-4;  // the bound, float32

std::string error_of(const std::string& spec) {
  try {
    resolve_device(spec);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

#define SKIP_WITHOUT_GPU()                                                                                  \
  if (cuda_device_count() == 0)                                                                             \
  GTEST_SKIP() << "no CUDA device visible to this LibTorch (" << (torch::cuda::is_available() ? "CUDA" : "no CUDA") \
               << "): run scripts/gpu_check.sh on a machine with a GPU"

TEST(Device, CpuAndAutoResolve) {
  EXPECT_TRUE(resolve_device("cpu").is_cpu());
  const auto a = resolve_device("auto");
  if (cuda_device_count() == 0) {
    EXPECT_TRUE(a.is_cpu());  // CoreNet's rule: no GPU, the CPU
  } else {
    EXPECT_TRUE(a.is_cuda());
    EXPECT_EQ(a.index(), 0);
  }
  EXPECT_EQ(device_name(torch::Device(torch::kCPU)), "cpu");
  EXPECT_EQ(device_name(torch::Device(torch::kCUDA, 3)), "cuda:3");
}

TEST(Device, MisspelledDeviceNamesTheFlagAndTheChoices) {
  for (const std::string bad : {"tpu", "cuda:", "cuda:x", "cuda:-1", "CUDA", "", "cuda:123456"}) {
    const std::string e = error_of(bad);
    EXPECT_NE(e.find("--device " + bad + ": expected cpu, cuda, cuda:N or auto"), std::string::npos) << bad << ": " << e;
  }
}

TEST(Device, CudaWithoutAGpuIsAClearError) {
  if (cuda_device_count() > 0) {
    const std::string e = error_of("cuda:" + std::to_string(cuda_device_count()));
    EXPECT_NE(e.find("visible"), std::string::npos) << e;
    return;
  }
  for (const std::string spec : {"cuda", "gpu", "cuda:0", "cuda:7"}) {
    const std::string e = error_of(spec);
    EXPECT_NE(e.find("--device " + spec + ": no CUDA device here"), std::string::npos) << e;
    EXPECT_NE(e.find("use --device cpu"), std::string::npos) << e;
  }
}

TEST(Device, LocalRankPicksTheWorkersGpu) {
  if (cuda_device_count() == 0) {
    EXPECT_TRUE(resolve_device("auto", /*local_rank=*/3).is_cpu());
    return;
  }
  const int64_t n = cuda_device_count();
  EXPECT_EQ(resolve_device("auto", n + 1).index(), (n + 1) % n);
  EXPECT_EQ(resolve_device("cuda:0", n - 1).index(), 0);  // an explicit index is kept
}

TEST(Device, CliRefusesAMissingOrMisspelledDevice) {
  const std::string base = test::cli_path() + " predict --raw --threads 1 --config " + kDir + "/config.yaml --weights " +
                           kDir + "/model.pt " + kDir + "/inputs/" +
                           nlohmann::json::parse(test::read_text(kDir + "/expected.json"))["files"][0]["file"]
                               .get<std::string>();
  const auto bad = test::run_command(base + " --device tpu");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("expected cpu, cuda, cuda:N or auto, got 'tpu'"), std::string::npos) << bad.err;
  const auto cpu = test::run_command(base + " --device cpu --json");
  ASSERT_EQ(cpu.exit_code, 0) << cpu.err;
  if (cuda_device_count() == 0) {
    const auto cuda = test::run_command(base + " --device cuda");
    EXPECT_NE(cuda.exit_code, 0);
    EXPECT_NE(cuda.err.find("--device cuda: no CUDA device here"), std::string::npos) << cuda.err;
    const auto train = test::run_command(test::cli_path() + " train --dry-run --device cuda:1 --config " +
                                         test::source_dir() + "/configs/test/tiny_image.yaml");
    EXPECT_NE(train.exit_code, 0);
    EXPECT_NE(train.err.find("--device cuda:1: no CUDA device here"), std::string::npos) << train.err;
  }
}

TEST(Device, AutocastGuardRestoresTheDevicesSetting) {
  {
    AutocastGuard on(true, c10::DeviceType::CPU);
    auto y = torch::mm(torch::ones({2, 2}), torch::ones({2, 2}));
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    {
      AutocastGuard off(false, c10::DeviceType::CPU);  // disabled: leaves the outer one alone
      EXPECT_EQ(torch::mm(torch::ones({2, 2}), torch::ones({2, 2})).scalar_type(), torch::kBFloat16);
    }
  }
  EXPECT_EQ(torch::mm(torch::ones({2, 2}), torch::ones({2, 2})).scalar_type(), torch::kFloat);
  {
    AutocastGuard cuda(true, c10::DeviceType::CUDA);  // CPU operations are not CUDA's autocast
    EXPECT_EQ(torch::mm(torch::ones({2, 2}), torch::ones({2, 2})).scalar_type(), torch::kFloat);
  }
}

// gpu_check.sh times our model against bench/torch_byteformer.py, a plain PyTorch ByteFormer:
// that it is the same model is checked here, on CoreNet's own logits (1e-4, each file alone).
TEST(Device, PythonReferenceModelMatchesCoreNet) {
  const auto r = test::run_command(std::string(BYTEFORMER_TEST_PYTHON) + " " + test::source_dir() +
                                   "/bench/torch_byteformer.py --check " + kDir);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("10 fixture files"), std::string::npos) << r.out;
}

// --- on a GPU ---------------------------------------------------------------------------------

struct NoTf32 {  // float32 products in float32: what the 1e-4 comparisons need
  bool was = at::globalContext().allowTF32CuBLAS();
  NoTf32() { at::globalContext().setAllowTF32CuBLAS(false); }
  ~NoTf32() { at::globalContext().setAllowTF32CuBLAS(was); }
};

LoadedModel load_fixture(Numerics numerics, const torch::Device& device) {
  ModelSpec spec;
  spec.config_path = kDir + "/config.yaml";
  spec.weights = kDir + "/model.pt";
  spec.numerics = numerics;
  spec.device = device;
  return load_model(spec);
}

std::vector<std::string> fixture_files() {
  std::vector<std::string> out;
  for (const auto& f : nlohmann::json::parse(test::read_text(kDir + "/expected.json"))["files"])
    out.push_back(kDir + "/inputs/" + f["file"].get<std::string>());
  return out;
}

TEST(Cuda, FixtureLogitsMatchCoreNetAndTheCpu) {
  SKIP_WITHOUT_GPU();
  NoTf32 no_tf32;
  const auto expected = nlohmann::json::parse(test::read_text(kDir + "/expected.json"));
  auto gpu = load_fixture(Numerics::kCoreNet, torch::Device(torch::kCUDA, 0));
  ASSERT_TRUE(module_device(*gpu.model).is_cuda());
  const auto files = fixture_files();
  for (const int64_t batch : {int64_t{1}, static_cast<int64_t>(files.size())}) {
    const auto preds = test::predict_files(gpu.model, files, batch, 3, {});
    ASSERT_EQ(preds.size(), files.size());
    for (size_t i = 0; i < preds.size(); ++i) {
      const auto& want = expected["files"][i]["logits"];
      ASSERT_EQ(preds[i].logits.size(), want.size());
      for (size_t c = 0; c < want.size(); ++c)
        EXPECT_NEAR(preds[i].logits[c], want[c].get<double>(), kTol) << files[i] << " batch " << batch << " class " << c;
    }
  }
  // Masked numerics (one padded batch), CUDA against the CPU.
  auto cpu = load_fixture(Numerics::kMasked, torch::Device(torch::kCPU));
  auto gpu_masked = load_fixture(Numerics::kMasked, torch::Device(torch::kCUDA, 0));
  const auto a = test::predict_files(cpu.model, files, static_cast<int64_t>(files.size()), 3, {});
  const auto b = test::predict_files(gpu_masked.model, files, static_cast<int64_t>(files.size()), 3, {});
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t c = 0; c < a[i].logits.size(); ++c) EXPECT_NEAR(b[i].logits[c], a[i].logits[c], kTol) << files[i];
}

torch::Tensor fixture_batch() {  // (B, L) the fixture's files padded with -1
  std::vector<std::vector<uint8_t>> rows;
  int64_t longest = 0;
  for (const auto& f : fixture_files()) {
    rows.push_back(test::read_bytes(f));
    longest = std::max<int64_t>(longest, static_cast<int64_t>(rows.back().size()));
  }
  auto out = torch::full({static_cast<int64_t>(rows.size()), longest}, -1, torch::kLong);
  for (size_t b = 0; b < rows.size(); ++b)
    for (size_t j = 0; j < rows[b].size(); ++j) out[static_cast<int64_t>(b)][static_cast<int64_t>(j)] = rows[b][j];
  return out;
}

// One training step's loss and gradients (train mode, no dropout in the fixture's config).
std::pair<double, std::vector<torch::Tensor>> train_step(ByteFormer& model, const torch::Tensor& bytes,
                                                         const torch::Tensor& labels, bool autocast) {
  const auto device = module_device(*model);
  model->train();
  model->zero_grad();
  torch::Tensor loss;
  {
    AutocastGuard guard(autocast, device.type());
    const auto logits = model->forward(bytes.to(device));
    loss = classification_loss(logits, labels.to(device), torch::Tensor(), 0.1);
  }
  loss.backward();
  std::vector<torch::Tensor> grads;
  for (const auto& p : model->parameters())
    grads.push_back(p.grad().defined() ? p.grad().to(torch::kCPU) : torch::zeros_like(p, torch::kCPU));
  return {loss.item<double>(), grads};
}

TEST(Cuda, TrainingStepGradientsMatchTheCpu) {
  SKIP_WITHOUT_GPU();
  NoTf32 no_tf32;
  auto cpu = load_fixture(Numerics::kMasked, torch::Device(torch::kCPU));
  auto gpu = load_fixture(Numerics::kMasked, torch::Device(torch::kCUDA, 0));
  const auto bytes = fixture_batch();
  const auto labels = torch::arange(bytes.size(0), torch::kLong).remainder(cpu.model->options().n_classes);
  const auto [loss_cpu, g_cpu] = train_step(cpu.model, bytes, labels, false);
  const auto [loss_gpu, g_gpu] = train_step(gpu.model, bytes, labels, false);
  EXPECT_NEAR(loss_gpu, loss_cpu, 1e-4);
  ASSERT_EQ(g_cpu.size(), g_gpu.size());
  for (size_t i = 0; i < g_cpu.size(); ++i) {
    // Relative to the gradient's own scale: 1e-4 of its largest entry (float32 sums in another order).
    const double scale = std::max(1e-3, g_cpu[i].abs().max().item<double>());
    EXPECT_LE((g_gpu[i] - g_cpu[i]).abs().max().item<double>(), kTol * scale) << "parameter " << i;
  }
}

TEST(Cuda, Bf16AutocastStaysNearFloat32AndTrains) {
  SKIP_WITHOUT_GPU();
  NoTf32 no_tf32;
  auto gpu = load_fixture(Numerics::kMasked, torch::Device(torch::kCUDA, 0));
  const auto bytes = fixture_batch().to(torch::Device(torch::kCUDA, 0));
  torch::Tensor f32, bf16;
  {
    torch::InferenceMode guard;
    gpu.model->eval();
    f32 = gpu.model->forward(bytes).to(torch::kCPU);
    AutocastGuard autocast(true, c10::DeviceType::CUDA);
    bf16 = gpu.model->forward(bytes).to(torch::kCPU);
  }
  EXPECT_EQ(bf16.scalar_type(), torch::kFloat);  // logits leave in float32
  // bf16 keeps 8 bits of mantissa: logits within a few percent of their range, same top-1.
  const double range = (f32.max() - f32.min()).item<double>();
  EXPECT_LE((bf16 - f32).abs().max().item<double>(), 0.05 * range);
  EXPECT_TRUE(bf16.argmax(1).equal(f32.argmax(1)));
  const auto labels = torch::zeros({bytes.size(0)}, torch::kLong);
  const auto [loss, grads] = train_step(gpu.model, bytes, labels, true);
  EXPECT_TRUE(std::isfinite(loss));
  for (const auto& g : grads) {
    EXPECT_EQ(g.scalar_type(), torch::kFloat);  // parameters and their gradients stay float32
    EXPECT_TRUE(torch::isfinite(g).all().item<bool>());
  }
}

TEST(Cuda, TrainOnTheGpuEvalAndResumeOnTheCpu) {
  SKIP_WITHOUT_GPU();
  const std::string root = test::make_temp_dir("cuda_e2e");
  test::make_tiny_images(root, 16, 4, /*broken=*/false);
  const std::string overrides = " --override dataset.root_train=" + root + "/train --override dataset.root_val=" +
                                root + "/val --override common.results_loc=" + root + "/runs";
  const std::string config = test::source_dir() + "/configs/test/tiny_image.yaml";
  const auto train = test::run_command(test::cli_path() + " train --device cuda --config " + config + overrides +
                                       " --override common.mixed_precision=true --override scheduler.max_epochs=2");
  ASSERT_EQ(train.exit_code, 0) << train.out << train.err;
  EXPECT_NE(train.err.find("device cuda:0"), std::string::npos) << train.err;
  EXPECT_NE(train.out.find("best top1"), std::string::npos) << train.out;
  // The weights are plain CPU tensors: the CPU evaluates them, and a CPU run resumes the GPU's state.
  const std::string run = root + "/runs/tiny_image";
  const auto eval = test::run_command(test::cli_path() + " eval --device cpu --json --model " + run + overrides);
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_EQ(nlohmann::json::parse(eval.out)["device"], "cpu");
  const auto eval_gpu = test::run_command(test::cli_path() + " eval --device cuda --json --model " + run + overrides);
  ASSERT_EQ(eval_gpu.exit_code, 0) << eval_gpu.err;
  EXPECT_EQ(nlohmann::json::parse(eval_gpu.out)["device"], "cuda:0");
  EXPECT_NEAR(nlohmann::json::parse(eval_gpu.out)["top1"].get<double>(),
              nlohmann::json::parse(eval.out)["top1"].get<double>(), 100.0 / 8 + 1e-9);  // at most one image of 8
  const auto resume = test::run_command(test::cli_path() + " train --device cpu --threads 1 --config " + config +
                                        overrides + " --override common.auto_resume=true --override scheduler.max_epochs=3 --override common.mixed_precision=true");
  ASSERT_EQ(resume.exit_code, 0) << resume.out << resume.err;
  EXPECT_NE(resume.err.find("resumed from"), std::string::npos) << resume.err;
}

}  // namespace
}  // namespace byteformer
