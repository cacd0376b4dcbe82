// The trainer's parts against CoreNet's formulas and LibTorch's own functions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <sstream>

#include "byteformer/io/config.h"
#include "byteformer/model/byteformer.h"
#include "byteformer/train/ema.h"
#include "byteformer/train/lr_schedule.h"
#include "byteformer/train/optimizer.h"
#include "byteformer/train/training_state.h"
#include "test_util.h"

namespace byteformer {
namespace {

// A 2-layer C=16 ByteFormer: enough structure (norms, biases, a merge) for the unit tests.
ByteFormerOptions tiny_model_options() {
  ByteFormerOptions o = ByteFormerOptions::preset("tiny");
  o.embed_dim = 16;
  o.num_heads = 2;
  o.ffn_dim = 32;
  o.num_layers = 2;
  o.window_shifts = {0, 8};
  o.downsample = {true, false};
  o.max_num_tokens = 100;
  o.n_classes = 3;
  return o;
}

TEST(CosineSchedule, WarmupThenPerEpochCosineAsCoreNet) {
  Config c = Config::load_string(
      "scheduler: {is_iteration_based: false, max_epochs: 300, warmup_iterations: 7500, warmup_init_lr: 1.0e-6,"
      " cosine: {max_lr: 0.001, min_lr: 2.0e-5}}");
  CosineSchedule s(CosineScheduleOptions::from_config(c));
  EXPECT_DOUBLE_EQ(s.lr(0, 0), 1e-6);
  EXPECT_NEAR(s.lr(0, 3750), 1e-6 + 3750 * (1e-3 - 1e-6) / 7500, 1e-8);
  // After warmup: min + (max - min)(1 + cos(pi * epoch / 300)) / 2, rounded to 8 decimals.
  const double expected = 2e-5 + 0.5 * (1e-3 - 2e-5) * (1 + std::cos(M_PI * 10 / 300.0));
  EXPECT_NEAR(s.lr(10, 8000), expected, 5e-9);
  EXPECT_NEAR(s.lr(300, 10'000'000), 2e-5, 1e-12);
}

TEST(Optimizer, NoDecayOnOneDimensionalParamsOnly) {
  ByteFormer model(tiny_model_options());
  OptimizerOptions opt;
  opt.weight_decay = 0.05;
  opt.no_decay_bn_filter_bias = true;
  std::vector<std::string> decay, no_decay;
  auto adamw = make_adamw(*model, opt, &decay, &no_decay);
  ASSERT_EQ(adamw->param_groups().size(), 2u);
  EXPECT_DOUBLE_EQ(static_cast<torch::optim::AdamWOptions&>(adamw->param_groups()[0].options()).weight_decay(), 0.05);
  EXPECT_DOUBLE_EQ(static_cast<torch::optim::AdamWOptions&>(adamw->param_groups()[1].options()).weight_decay(), 0.0);
  auto has = [](const std::vector<std::string>& v, const std::string& part) {
    return std::any_of(v.begin(), v.end(), [&](const std::string& n) { return n.find(part) != std::string::npos; });
  };
  EXPECT_TRUE(has(decay, "embeddings.weight"));  // 2-D: decayed, as in CoreNet
  EXPECT_TRUE(has(decay, "pos_embed"));
  EXPECT_TRUE(has(no_decay, "classifier.bias"));
  EXPECT_TRUE(has(no_decay, "post_transformer_norm.weight"));
  EXPECT_FALSE(has(decay, "classifier.bias"));
  set_learning_rate(*adamw, 0.125);
  EXPECT_DOUBLE_EQ(static_cast<torch::optim::AdamWOptions&>(adamw->param_groups()[1].options()).lr(), 0.125);
}

// make_adamw's one-pass step against LibTorch's AdamW::step on the same groups: five steps with
// the same gradients; float rounding differs only where the one pass fuses a multiply-add.
std::unique_ptr<torch::optim::AdamW> libtorch_adamw(ByteFormer& model, const std::vector<std::string>& decay_names,
                                                    double weight_decay) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& item : model->named_parameters())
    (std::find(decay_names.begin(), decay_names.end(), item.key()) != decay_names.end() ? decay : no_decay)
        .push_back(item.value());
  auto base = torch::optim::AdamWOptions(0.0).betas({0.9, 0.99}).eps(1e-8);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(base).weight_decay(weight_decay)));
  groups.emplace_back(no_decay,
                      std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(base).weight_decay(0.0)));
  return std::make_unique<torch::optim::AdamW>(std::move(groups), base);
}

void set_gradients(ByteFormer& model, int64_t step) {
  torch::manual_seed(100 + step);
  for (auto& p : model->parameters()) p.mutable_grad() = torch::randn_like(p) * (0.5 + step);
}

double max_param_difference(ByteFormer& a, ByteFormer& b) {
  double worst = 0;
  const auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>());
  return worst;
}

// Two models with the same weights in `dtype`: ours stepped by make_adamw, ref by LibTorch's
// AdamW over the same groups.
struct AdamWPair {
  ByteFormer ours{tiny_model_options()}, ref{tiny_model_options()};
  OptimizerOptions opt;
  std::vector<std::string> decay;
  std::unique_ptr<torch::optim::AdamW> fused, plain;
};

std::unique_ptr<AdamWPair> make_adamw_pair(torch::Dtype dtype) {
  auto p = std::make_unique<AdamWPair>();
  {
    torch::NoGradGuard g;
    p->ref->load_state_dict(p->ours->state_dict(), "model");
  }
  p->ours->to(dtype);
  p->ref->to(dtype);
  p->opt.weight_decay = 0.05;
  p->opt.no_decay_bn_filter_bias = true;
  p->opt.beta2 = 0.99;
  p->fused = make_adamw(*p->ours, p->opt, &p->decay);
  p->plain = libtorch_adamw(p->ref, p->decay, p->opt.weight_decay);
  return p;
}

TEST(Optimizer, OnePassStepFollowsLibTorchAdamW) {
  auto pair = make_adamw_pair(torch::kFloat32);
  auto &ours = pair->ours, &ref = pair->ref;
  auto &fused = pair->fused, &plain = pair->plain;
  const auto& opt = pair->opt;
  const auto& decay = pair->decay;
  const auto before = ours->classifier->weight.clone();
  const auto version_before = ours->classifier->weight._version();
  for (int64_t step = 0; step < 5; ++step) {
    set_learning_rate(*fused, 0.01 * (step + 1));
    set_learning_rate(*plain, 0.01 * (step + 1));
    set_gradients(ours, step);
    set_gradients(ref, step);
    fused->step();
    plain->step();
  }
  // Each step bumps the parameters' versions, as LibTorch's in-place operators do.
  EXPECT_GE(ours->classifier->weight._version() - version_before, 5u);
  // The parameters moved (about lr per step) and agree to float rounding.
  EXPECT_GT((ours->classifier->weight - before).abs().max().item<double>(), 0.05);
  EXPECT_LT(max_param_difference(ours, ref), 2e-6);
  // The state is LibTorch's: the same step count and moments, saved and loaded by AdamW's own code.
  torch::serialize::OutputArchive saved;
  fused->save(saved);
  std::stringstream bytes;
  saved.save_to(bytes);
  auto resumed = libtorch_adamw(ours, decay, opt.weight_decay);
  torch::serialize::InputArchive loaded;
  loaded.load_from(bytes);
  resumed->load(loaded);
  for (auto* o : {resumed.get(), plain.get()}) {
    set_learning_rate(*o, 0.02);
  }
  set_gradients(ours, 5);
  set_gradients(ref, 5);
  resumed->step();  // LibTorch's step on the one-pass step's state
  plain->step();
  EXPECT_LT(max_param_difference(ours, ref), 2e-6);
  ASSERT_EQ(resumed->state().size(), ours->parameters().size());
  for (const auto& kv : resumed->state())
    EXPECT_EQ(static_cast<const torch::optim::AdamWParamState&>(*kv.second).step(), 6);
}

TEST(Optimizer, OtherDtypesTakeLibTorchsStep) {
  auto pair = make_adamw_pair(torch::kFloat64);
  auto &ours = pair->ours, &ref = pair->ref;
  auto &fused = pair->fused, &plain = pair->plain;
  for (int64_t step = 0; step < 3; ++step) {
    set_learning_rate(*fused, 0.01);
    set_learning_rate(*plain, 0.01);
    set_gradients(ours, step);
    set_gradients(ref, step);
    fused->step();
    plain->step();
  }
  EXPECT_EQ(max_param_difference(ours, ref), 0.0);  // the same code: bit for bit
}

TEST(Ema, FollowsCoreNetUpdate) {
  ByteFormer model(tiny_model_options());
  ModelEma ema(model, 0.25);
  const auto before = ema.model()->classifier->weight.clone();
  {
    torch::NoGradGuard g;
    model->classifier->weight.add_(1.0);
  }
  ema.update(model);
  EXPECT_TRUE(torch::allclose(ema.model()->classifier->weight, before * 0.75 + 0.25 * model->classifier->weight));
  // Every tensor, after the model moved everywhere: ema * 0.75 + 0.25 * model.
  std::vector<torch::Tensor> expected;
  {
    torch::NoGradGuard g;
    for (auto& p : model->parameters()) p.add_(torch::randn_like(p));
    const auto m = model->state_dict();
    const auto e = ema.model()->state_dict();
    for (size_t i = 0; i < e.size(); ++i) expected.push_back(e[i].second * 0.75 + 0.25 * m[i].second);
  }
  ema.update(model);
  const auto e = ema.model()->state_dict();
  ASSERT_EQ(e.size(), expected.size());
  for (size_t i = 0; i < e.size(); ++i)
    EXPECT_TRUE(torch::allclose(e[i].second, expected[i], 1e-6, 1e-7)) << e[i].first;
}

// The EMA model's forward after an update is that of its new weights: the update must not leave
// the caches keyed by the weights' versions (the reduction table, oneDNN's weights) stale.
TEST(Ema, ForwardAfterAnUpdateUsesTheNewWeights) {
  ByteFormer model(tiny_model_options());
  ModelEma ema(model, 0.5);
  torch::NoGradGuard g;
  const auto x = torch::randint(0, 256, {2, 64}, torch::kInt64);
  const auto before = ema.model()->forward(x);  // fills the caches
  for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.1);
  ema.update(model);
  ByteFormer fresh(tiny_model_options());
  fresh->load_state_dict(ema.model()->state_dict(), "model");
  fresh->eval();
  const auto after = ema.model()->forward(x);
  EXPECT_FALSE(torch::allclose(after, before));
  EXPECT_TRUE(torch::allclose(after, fresh->forward(x), 1e-5, 1e-6));
}

// The training state carries where the epoch in progress stands, its time and learning rate
// included, so that a resumed epoch's metrics line is the uninterrupted run's.
TEST(TrainingState, CountersRoundTrip) {
  ByteFormer model(tiny_model_options());
  OptimizerOptions opt;
  auto adamw = make_adamw(*model, opt, nullptr, nullptr);
  TrainingCounters c;
  c.epoch = 2;
  c.batch_in_epoch = 6;
  c.iteration = 17;
  c.warmup_epochs = 1;
  c.best_top1 = 62.5;
  c.best_ema_top1 = 60.25;
  c.epoch_metrics.loss_sum = 3.75;
  c.epoch_metrics.top1 = 5;
  c.epoch_metrics.top5 = 9;
  c.epoch_metrics.samples = 24;
  c.epoch_metrics.skipped = 1;
  c.epoch_seconds = 1.875;
  c.lr = 0.00296875;
  const std::string dir = test::make_temp_dir("state");
  save_training_state(dir + "/s.pt", c, model, nullptr, *adamw);
  const TrainingCounters back = load_training_state(dir + "/s.pt", model, nullptr, *adamw);
  EXPECT_EQ(back.epoch, 2);
  EXPECT_EQ(back.batch_in_epoch, 6);
  EXPECT_EQ(back.iteration, 17);
  EXPECT_EQ(back.warmup_epochs, 1);
  EXPECT_EQ(back.best_top1, 62.5);
  EXPECT_EQ(back.best_ema_top1, 60.25);
  EXPECT_EQ(back.epoch_metrics.loss_sum, 3.75);
  EXPECT_EQ(back.epoch_metrics.top1, 5);
  EXPECT_EQ(back.epoch_metrics.top5, 9);
  EXPECT_EQ(back.epoch_metrics.samples, 24);
  EXPECT_EQ(back.epoch_metrics.skipped, 1);
  EXPECT_EQ(back.epoch_seconds, 1.875);
  EXPECT_EQ(back.lr, 0.00296875);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace byteformer
