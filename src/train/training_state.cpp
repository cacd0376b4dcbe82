#include "byteformer/train/training_state.h"

#include "byteformer/model/device.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "byteformer/io/checkpoint.h"

namespace byteformer {

namespace {

constexpr const char* kFormat = "byteformer-training-state-1";

torch::Tensor bytes_tensor(const std::vector<uint8_t>& bytes) {
  auto t = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return t;
}

std::vector<uint8_t> tensor_bytes(const torch::Tensor& t) {
  const auto c = t.to(torch::kCPU).contiguous();
  return std::vector<uint8_t>(c.data_ptr<uint8_t>(), c.data_ptr<uint8_t>() + c.numel());
}

}  // namespace

void save_training_state(const std::string& path, const TrainingCounters& c, const ByteFormer& model,
                         const ModelEma* ema, const torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kFormat)));
  archive.write("model", bytes_tensor(serialize_state_dict(model->state_dict())));
  if (ema != nullptr) archive.write("ema", bytes_tensor(serialize_state_dict(ema->model()->state_dict())));
  torch::serialize::OutputArchive opt_archive;
  optimizer.save(opt_archive);
  archive.write("optimizer", opt_archive);
  archive.write("epoch", c10::IValue(c.epoch));
  archive.write("batch_in_epoch", c10::IValue(c.batch_in_epoch));
  archive.write("iteration", c10::IValue(c.iteration));
  archive.write("warmup_epochs", c10::IValue(c.warmup_epochs));
  archive.write("best_top1", c10::IValue(c.best_top1));
  archive.write("best_ema_top1", c10::IValue(c.best_ema_top1));
  const auto& m = c.epoch_metrics;
  archive.write("metrics_loss_sum", c10::IValue(m.loss_sum));
  archive.write("metrics_top1", c10::IValue(m.top1));
  archive.write("metrics_top5", c10::IValue(m.top5));
  archive.write("metrics_samples", c10::IValue(m.samples));
  archive.write("metrics_skipped", c10::IValue(m.skipped));
  archive.write("epoch_seconds", c10::IValue(c.epoch_seconds));
  archive.write("lr", c10::IValue(c.lr));
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write("rng", gen.get_state());
  }
  std::ostringstream out;
  archive.save_to(out);
  const std::string bytes = out.str();
  write_file_atomic(path, bytes.data(), bytes.size());
}

TrainingCounters load_training_state(const std::string& path, ByteFormer& model, ModelEma* ema,
                                     torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, module_device(*model));  // optimizer state onto the model's device
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("training state {}: cannot read: {}", path, e.what()));
  }
  auto read = [&](const char* key) {
    c10::IValue v;
    if (!archive.try_read(key, v)) throw std::runtime_error(fmt::format("training state {}: missing '{}'", path, key));
    return v;
  };
  if (read("format").toStringRef() != kFormat)
    throw std::runtime_error(fmt::format("training state {}: unknown format '{}'", path, read("format").toStringRef()));
  torch::Tensor t;
  archive.read("model", t);
  {
    torch::NoGradGuard no_grad;
    model->load_state_dict(load_state_dict_bytes(tensor_bytes(t), path + ":model"), path + ":model");
    if (ema != nullptr) {
      if (!archive.try_read("ema", t))
        throw std::runtime_error(fmt::format("training state {}: no EMA weights, but ema.enable is set", path));
      ema->model()->load_state_dict(load_state_dict_bytes(tensor_bytes(t), path + ":ema"), path + ":ema");
    }
  }
  torch::serialize::InputArchive opt_archive;
  archive.read("optimizer", opt_archive);
  try {
    optimizer.load(opt_archive);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("training state {}: optimizer state does not fit this model: {}", path, e.what()));
  }
  TrainingCounters c;
  c.epoch = read("epoch").toInt();
  c.batch_in_epoch = read("batch_in_epoch").toInt();
  c.iteration = read("iteration").toInt();
  c.warmup_epochs = read("warmup_epochs").toInt();
  c.best_top1 = read("best_top1").toDouble();
  c.best_ema_top1 = read("best_ema_top1").toDouble();
  c.epoch_metrics.loss_sum = read("metrics_loss_sum").toDouble();
  c.epoch_metrics.top1 = read("metrics_top1").toInt();
  c.epoch_metrics.top5 = read("metrics_top5").toInt();
  c.epoch_metrics.samples = read("metrics_samples").toInt();
  c.epoch_metrics.skipped = read("metrics_skipped").toInt();
  // Absent from the states of earlier builds: then 0, as they were.
  for (auto [key, value] : {std::pair<const char*, double*>{"epoch_seconds", &c.epoch_seconds}, {"lr", &c.lr}}) {
    c10::IValue v;
    if (archive.try_read(key, v)) {
      if (!v.isDouble()) throw std::runtime_error(fmt::format("training state {}: '{}' is not a number", path, key));
      *value = v.toDouble();
    }
  }
  torch::Tensor rng;
  archive.read("rng", rng);
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(rng.to(torch::kCPU));
  return c;
}

}  // namespace byteformer
