#include "byteformer/model/inference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "byteformer/io/file.h"

namespace byteformer {

torch::Tensor pad_batch(const std::vector<std::vector<uint8_t>>& samples) {
  size_t longest = 0;
  for (const auto& s : samples) longest = std::max(longest, s.size());
  auto out = torch::full({static_cast<int64_t>(samples.size()), static_cast<int64_t>(longest)}, -1, torch::kLong);
  auto acc = out.accessor<int64_t, 2>();
  for (size_t b = 0; b < samples.size(); ++b)
    for (size_t i = 0; i < samples[b].size(); ++i) acc[b][i] = samples[b][i];
  return out;
}

torch::Tensor pad_batch(const std::vector<std::vector<int64_t>>& samples) {
  size_t longest = 0;
  for (const auto& s : samples) longest = std::max(longest, s.size());
  auto out = torch::full({static_cast<int64_t>(samples.size()), static_cast<int64_t>(longest)}, -1, torch::kLong);
  for (size_t b = 0; b < samples.size(); ++b)
    if (!samples[b].empty())
      std::memcpy(out[static_cast<int64_t>(b)].data_ptr<int64_t>(), samples[b].data(), samples[b].size() * sizeof(int64_t));
  return out;
}

std::vector<TopClass> top_k(const torch::Tensor& logits_row, int64_t k, const std::vector<std::string>& labels) {
  auto probs = torch::softmax(logits_row.to(torch::kDouble), 0);
  k = std::min<int64_t>(k, probs.size(0));
  auto [values, indices] = probs.topk(k);
  std::vector<TopClass> top;
  for (int64_t i = 0; i < k; ++i) {
    TopClass t;
    t.index = indices[i].item<int64_t>();
    t.prob = values[i].item<double>();
    t.label = t.index < static_cast<int64_t>(labels.size()) ? labels[t.index] : std::to_string(t.index);
    top.push_back(t);
  }
  return top;
}

std::vector<Prediction> classify_inputs(ByteFormer& model, const std::vector<ModelInput>& inputs, int64_t batch_size,
                                        int64_t k, const std::vector<std::string>& labels) {
  if (batch_size < 1) throw std::invalid_argument(fmt::format("batch size {}: expected >= 1", batch_size));
  std::vector<Prediction> out(inputs.size());
  std::vector<size_t> ok;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Prediction& p = out[i];
    p.file = inputs[i].name;
    p.num_bytes = static_cast<int64_t>(inputs[i].bytes.size());
    p.file_bytes = inputs[i].file_bytes;
    p.error = inputs[i].error;
    if (p.error.empty()) {
      try {
        model->options().check_input_bytes(p.num_bytes);
      } catch (const std::invalid_argument& e) {
        p.error = fmt::format("{}: {}", p.file, e.what());
      }
    }
    if (p.error.empty()) ok.push_back(i);
  }
  model->eval();
  c10::InferenceMode guard;
  const auto device = model->parameters().front().device();
  for (size_t start = 0; start < ok.size(); start += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(ok.size(), start + static_cast<size_t>(batch_size));
    std::vector<std::vector<int64_t>> batch;
    for (size_t j = start; j < end; ++j) batch.push_back(inputs[ok[j]].bytes);
    auto logits = model->forward(pad_batch(batch).to(device)).to(torch::kCPU).to(torch::kFloat);  // (B, classes)
    for (size_t j = start; j < end; ++j) {
      Prediction& p = out[ok[j]];
      auto row = logits[static_cast<int64_t>(j - start)];
      p.logits.assign(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
      p.top = top_k(row, k, labels);
    }
  }
  return out;
}

std::vector<Prediction> predict_files(ByteFormer& model, const std::vector<std::string>& files, int64_t batch_size,
                                      int64_t k, const std::vector<std::string>& labels) {
  std::vector<ModelInput> inputs;
  const int64_t limit = std::max<int64_t>(model->options().max_input_bytes(), int64_t{1} << 20);
  for (const auto& f : files) {
    ModelInput in;
    in.name = f;
    const std::vector<uint8_t> bytes = read_file(f, limit);
    in.bytes.assign(bytes.begin(), bytes.end());
    in.file_bytes = static_cast<int64_t>(bytes.size());
    inputs.push_back(std::move(in));
  }
  auto preds = classify_inputs(model, inputs, batch_size, k, labels);
  for (const auto& p : preds)
    if (!p.error.empty()) throw std::invalid_argument(p.error);
  return preds;
}

}  // namespace byteformer
