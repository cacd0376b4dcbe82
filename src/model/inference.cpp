#include "byteformer/model/inference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

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

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error(fmt::format("{}: read error", path));
  return bytes;
}

std::vector<Prediction> predict_files(ByteFormer& model, const std::vector<std::string>& files, int64_t batch_size,
                                      int64_t k, const std::vector<std::string>& labels) {
  if (batch_size < 1) throw std::invalid_argument(fmt::format("batch size {}: expected >= 1", batch_size));
  const auto& o = model->options();
  std::vector<std::vector<uint8_t>> contents;
  for (const auto& f : files) {
    auto bytes = read_file_bytes(f);
    try {
      const int64_t tokens = o.tokens_after_conv(static_cast<int64_t>(bytes.size()));
      if (tokens > o.max_num_tokens)
        throw std::invalid_argument(fmt::format("{} bytes give {} tokens, more than max_num_tokens {}", bytes.size(),
                                                tokens, o.max_num_tokens));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("{}: {}", f, e.what()));
    }
    contents.push_back(std::move(bytes));
  }
  model->eval();
  c10::InferenceMode guard;
  const auto device = model->parameters().front().device();
  std::vector<Prediction> out;
  for (size_t start = 0; start < files.size(); start += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(files.size(), start + static_cast<size_t>(batch_size));
    std::vector<std::vector<uint8_t>> batch(contents.begin() + start, contents.begin() + end);
    auto logits = model->forward(pad_batch(batch).to(device)).to(torch::kCPU).to(torch::kFloat);
    for (size_t i = start; i < end; ++i) {
      Prediction p;
      p.file = files[i];
      p.num_bytes = static_cast<int64_t>(contents[i].size());
      auto row = logits[static_cast<int64_t>(i - start)];
      p.logits.assign(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
      p.top = top_k(row, k, labels);
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace byteformer
