// libFuzzer target: byteformer-identify's model file (byteformer/lite/lite_model.h) on arbitrary
// bytes must load or throw std::runtime_error, nothing else; a model that loads must answer any
// input with finite logits or std::invalid_argument. Two ways in, picked by the first byte: the
// input as a whole file, or a small valid model file (made here with encode_lite_model) with the
// input's edits applied (byte writes at offsets, then a cut), which reaches the checks behind
// the magic and the JSON header far more often than random bytes do.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "byteformer/lite/lite_model.h"

namespace {

using namespace byteformer;

const std::vector<uint8_t>& small_model() {
  static const std::vector<uint8_t> bytes = [] {
    LiteModelSpec spec;
    LiteArchitecture& a = spec.architecture;
    a.embed_dim = 8, a.num_heads = 2, a.ffn_dim = 16, a.num_layers = 2, a.conv_kernel_size = 4, a.conv_stride = 2;
    a.max_num_tokens = 40, a.n_classes = 3;
    a.window_sizes = {4, 5}, a.window_shifts = {0, 2}, a.downsample = {true, false};
    spec.byte_window.head = 48, spec.byte_window.tail = 32;
    spec.labels = {"a", "b", "c"};
    spec.thresholds = {0.5, 0.6, 0.7};
    spec.source = "fuzz";
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.5f);
    std::vector<LiteTensor> tensors;
    for (const auto& s : lite_tensor_shapes(a)) {
      LiteTensor t{s.name, s.shape, {}};
      size_t n = 1;
      for (const int64_t d : s.shape) n *= static_cast<size_t>(d);
      for (size_t i = 0; i < n; ++i) t.data.push_back(normal(rng));
      tensors.push_back(std::move(t));
    }
    return encode_lite_model(spec, tensors);
  }();
  return bytes;
}

void run(const std::vector<uint8_t>& file, const uint8_t* input, size_t input_size) {
  try {
    const LiteModel model = LiteModel::from_bytes(file.data(), file.size(), "fuzz.bfm");
    const size_t n = std::min<size_t>(input_size, static_cast<size_t>(model.spec().architecture.max_input_bytes()));
    for (const size_t len : {n, size_t{1}}) {
      try {
        const std::vector<float> logits = model.logits(input, len);
        if (logits.size() != static_cast<size_t>(model.spec().architecture.n_classes)) __builtin_trap();
        // Weights are whatever the file holds (a NaN or an infinity among them is the file's
        // own), so only the small model's untouched weights must give finite logits.
        if (file == small_model())
          for (const float v : logits)
            if (!std::isfinite(v)) __builtin_trap();
      } catch (const std::invalid_argument&) {
      }
    }
  } catch (const std::runtime_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if ((data[0] & 1) == 0) {
    run(std::vector<uint8_t>(data + 1, data + size), data, size);
    return 0;
  }
  // Edits of the small model: 4 bytes each, a 3-byte offset (modulo the file's length) and a
  // value; a last odd part cuts the file at that many bytes from its end.
  std::vector<uint8_t> file = small_model();
  size_t i = 1;
  for (; i + 4 <= size; i += 4) {
    const size_t at = (size_t{data[i]} << 16 | size_t{data[i + 1]} << 8 | data[i + 2]) % file.size();
    file[at] = data[i + 3];
  }
  if (i < size) file.resize(file.size() - std::min(file.size(), size_t{data[i]}));
  run(file, data, size);
  return 0;
}
