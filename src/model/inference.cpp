#include "byteformer/model/inference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "byteformer/io/file.h"

namespace byteformer {

namespace {

template <typename Value>
torch::Tensor pad_rows(const std::vector<std::vector<Value>>& samples) {
  size_t longest = 0;
  for (const auto& s : samples) longest = std::max(longest, s.size());
  auto out = torch::full({static_cast<int64_t>(samples.size()), static_cast<int64_t>(longest)}, -1, torch::kLong);
  int64_t* rows = out.data_ptr<int64_t>();
  for (size_t b = 0; b < samples.size(); ++b) std::copy(samples[b].begin(), samples[b].end(), rows + b * longest);
  return out;
}

}  // namespace

torch::Tensor pad_batch(const std::vector<std::vector<uint8_t>>& samples) { return pad_rows(samples); }
torch::Tensor pad_batch(const std::vector<std::vector<int64_t>>& samples) { return pad_rows(samples); }

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

std::vector<Classification> classify_inputs(ByteFormer& model, const std::vector<ModelInput>& inputs,
                                            int64_t batch_size, int64_t k, const std::vector<std::string>& labels) {
  if (batch_size < 1) throw std::invalid_argument(fmt::format("batch size {}: expected >= 1", batch_size));
  std::vector<Classification> out(inputs.size());
  std::vector<size_t> ok;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Classification& c = out[i];
    c.name = inputs[i].name;
    c.num_bytes = static_cast<int64_t>(inputs[i].bytes.size());
    c.file_bytes = inputs[i].file_bytes;
    c.error = inputs[i].error;
    if (c.ok()) {
      try {
        model->options().check_input_bytes(c.num_bytes);
      } catch (const std::invalid_argument& e) {
        c.error = fmt::format("{}: {}", c.name, e.what());
      }
    }
    if (c.ok()) ok.push_back(i);
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
      Classification& c = out[ok[j]];
      auto row = logits[static_cast<int64_t>(j - start)];
      c.logits.assign(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
      const std::vector<TopClass> all = top_k(row, row.numel(), labels);
      c.probs.resize(all.size());
      for (const auto& t : all) c.probs[static_cast<size_t>(t.index)] = static_cast<float>(t.prob);
      c.top.assign(all.begin(), all.begin() + std::min<int64_t>(k, static_cast<int64_t>(all.size())));
    }
  }
  return out;
}

}  // namespace byteformer
