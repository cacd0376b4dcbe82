// The file-type model without LibTorch: its model file (`.bfm`, "byteformer flat model") and
// ByteFormer's forward pass in plain C++, one input at a time, on one thread. It computes what
// LibTorch's ByteFormer computes in masked numerics (src/model/byteformer.cpp and the modules it
// runs); docs/LITE.md gives the file format and how close the two agree.
//
//   const LiteModel model = LiteModel::load("models/file-types/model.bfm");
//   const std::vector<uint8_t> bytes = read_byte_window("/usr/bin/ls", model.spec().byte_window);
//   const std::vector<float> logits = model.logits(bytes.data(), bytes.size());   // (n_classes)
//   const std::vector<float> probs = softmax(logits);
//   std::cout << model.spec().labels[argmax(probs)] << "\n";                          // "elf"
//
// `byteformer export RUN_DIR` writes the file from a run folder. Nothing here includes LibTorch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "byteformer/data/byte_window.h"

namespace byteformer {

/// The model's sizes, as resolved per layer (CoreNet's `model.classification.byteformer.*`).
struct LiteArchitecture {
  int64_t vocab_size = 257;  // 256 byte values and the padding row (zero), the last
  int64_t embed_dim = 0;     // C
  int64_t num_heads = 0;     // H; head dim C / H
  int64_t ffn_dim = 0;
  int64_t num_layers = 0;
  int64_t conv_kernel_size = 0;  // k: bytes per token of the token-reduction Conv1d
  int64_t conv_stride = 0;       // s
  int64_t max_num_tokens = 0;    // rows of the positional table
  std::vector<int64_t> window_sizes;   // one per layer
  std::vector<int64_t> window_shifts;  // one per layer
  std::vector<bool> downsample;        // one per layer: token merging after it
  double layer_norm_eps = 1e-5;
  int64_t n_classes = 0;

  /// Tokens after the Conv1d for `num_bytes` > 0 bytes: one for fewer bytes than the kernel
  /// (masked numerics), else (num_bytes - k) / s + 1.
  int64_t tokens_after_conv(int64_t num_bytes) const;
  /// The longest input whose tokens fit in max_num_tokens.
  int64_t max_input_bytes() const;
  /// Throws std::runtime_error "<where>: architecture.<key> = <value>: expected ..." for a value
  /// outside the bounds a model file may declare (embed_dim <= 4096, num_layers <= 64, ...).
  void validate(const std::string& where) const;
};

/// What a model file holds besides its weights.
struct LiteModelSpec {
  LiteArchitecture architecture;
  ByteWindow byte_window;           // the bytes of a file the model reads
  std::vector<std::string> labels;  // n_classes class names
  std::vector<double> thresholds;   // calibrated per-class thresholds; empty: none
  std::string source;               // the weights file it was made from (its name in the run folder)
};

/// One weight: its state_dict name (LibTorch's ByteFormer, i.e. CoreNet's), shape and values,
/// float32 row-major.
struct LiteTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

/// A weight's name and shape, without values.
struct LiteTensorShape {
  std::string name;
  std::vector<int64_t> shape;
};

/// Every weight a model of `arch` has, in the order the writer lays them out: embeddings.weight
/// (V, C), token_reduction_net.weight (C, C, k), pos_embed.pos_embed.pos_embed (1, 1, T, C),
/// per layer transformer.N.pre_norm_mha.{0,1.qkv_proj,1.out_proj}.*, pre_norm_ffn.{0,1,4}.*,
/// downsamplers.downsample_N.{reduction.weight (C, 2C), norm.*}, post_transformer_norm.*,
/// classifier.* (n_classes, C).
std::vector<LiteTensorShape> lite_tensor_shapes(const LiteArchitecture& arch);

/// The model file's bytes (docs/LITE.md): magic, header length, JSON header, tensors 64-byte
/// aligned. `tensors` must be exactly lite_tensor_shapes(spec.architecture), in any order;
/// throws std::invalid_argument naming the first missing, unexpected or misshapen one. The same
/// arguments give the same bytes.
std::vector<uint8_t> encode_lite_model(const LiteModelSpec& spec, const std::vector<LiteTensor>& tensors);
/// encode_lite_model's bytes written to `path` atomically (write_file_atomic).
void write_lite_model(const std::string& path, const LiteModelSpec& spec, const std::vector<LiteTensor>& tensors);

/// ByteFormer's forward pass on plain C++ (masked numerics), following
/// corenet/modeling/models/classification/byteformer.py as src/model/byteformer.cpp does.
/// Calls from several threads are safe (the lazily filled token-reduction table is locked).
class LiteModel {
 public:
  /// Reads and checks a model file: every error is a std::runtime_error naming the file and the
  /// key or byte offset at fault and what was expected. The file is untrusted: sizes are bounded
  /// before anything is allocated.
  static LiteModel load(const std::string& path);
  /// The same from bytes in memory; `name` stands for the file in errors.
  static LiteModel from_bytes(const uint8_t* data, size_t size, const std::string& name);

  LiteModel(LiteModel&&) noexcept;
  LiteModel& operator=(LiteModel&&) noexcept;
  ~LiteModel();

  const LiteModelSpec& spec() const;
  /// Elements of all weights.
  int64_t parameter_count() const;
  /// A weight's values (row-major, its shape in lite_tensor_shapes); throws std::out_of_range
  /// for an unknown name.
  const std::vector<float>& tensor(const std::string& name) const;

  /// Logits (n_classes) of the bytes `bytes[0, n)`: the model's input as it is (cut to the byte
  /// window by the caller). Throws std::invalid_argument for n == 0 ("empty input") and for more
  /// bytes than max_num_tokens allows.
  std::vector<float> logits(const uint8_t* bytes, size_t n) const;
  std::vector<float> logits(const std::vector<uint8_t>& bytes) const { return logits(bytes.data(), bytes.size()); }

 private:
  struct Impl;
  explicit LiteModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Probabilities from logits (max-subtracted, in float).
std::vector<float> softmax(const std::vector<float>& logits);
/// Index of the largest value (the first of equals); -1 for an empty vector.
int64_t argmax(const std::vector<float>& values);

}  // namespace byteformer
