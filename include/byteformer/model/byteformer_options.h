// Options of a ByteFormer (CoreNet's `model.classification.byteformer.*` keys) and presets.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace byteformer {

class Config;

/// How padding is treated (docs/MODEL.md, numeric modes).
enum class Numerics {
  /// CoreNet's numbers for each file as if it were alone in its batch (released weights).
  kCoreNet,
  /// Padding masked everywhere; a file's logits never depend on its batch (default).
  kMasked,
};

Numerics parse_numerics(const std::string& text);
std::string to_string(Numerics numerics);

/// Follows corenet/modeling/models/classification/byteformer.py and its config/byteformer.py.
struct ByteFormerOptions {
  // Size (preset `mode` or explicit keys embed_dim, n_attn_heads, ffn_dim, n_transformer_layers).
  std::string mode = "tiny";
  int64_t embed_dim = 192;
  int64_t num_heads = 3;
  int64_t ffn_dim = 768;
  int64_t num_layers = 12;

  /// On CUDA, cuBLAS may run float32 products in TF32 (CoreNet's rule: allowed unless the
  /// config sets common.disable_tf32). Nothing on the CPU.
  bool allow_tf32 = true;

  int64_t vocab_size = 257;
  int64_t padding_index = -1;
  int64_t max_num_tokens = 10000;
  /// 0 (or YAML null) means no token-reduction Conv1d.
  int64_t conv_kernel_size = 16;
  /// One value per layer (a single value repeats for every layer).
  std::vector<int64_t> window_sizes{128};
  std::vector<int64_t> window_shifts{0, 64, 0, 64, 0, 64, 0, 64, 0, 64, 0, 64};
  std::vector<bool> downsample{true, true, false, true, false, true, false, true, false, true, false, false};
  double dropout = 0.0;
  double stochastic_dropout = 0.0;
  std::string norm_layer = "layer_norm";
  bool sinusoidal_pos_emb = false;
  int64_t dummy_input_token_length = 48564;
  int64_t n_classes = 1000;
  Numerics numerics = Numerics::kMasked;

  /// The preset sizes tiny / small / base / huge (docs/MODEL.md, the model).
  static ByteFormerOptions preset(const std::string& mode);

  /// Reads the model keys of a CoreNet config. `numerics_from_config` tells whether the config
  /// named a numeric mode (`model.classification.byteformer.numerics`).
  static ByteFormerOptions from_config(const Config& config, bool* numerics_from_config = nullptr);

  /// Window size and shift of every layer, after expanding a single window size.
  int64_t window_size(int64_t layer) const;
  int64_t window_shift(int64_t layer) const;
  int64_t head_dim() const { return embed_dim / num_heads; }
  int64_t conv_stride() const { return conv_kernel_size / 2; }
  /// Per-layer stochastic depth rates: linspace(0, p, layers) rounded to 3 decimals.
  std::vector<double> drop_path_rates() const;

  /// Tokens after the Conv1d for `num_bytes` input bytes. Fewer bytes than the kernel: one token
  /// in masked numerics; an error (std::invalid_argument) in corenet numerics.
  int64_t tokens_after_conv(int64_t num_bytes) const;

  /// The longest input in bytes whose tokens after the Conv1d fit in max_num_tokens.
  int64_t max_input_bytes() const;
  /// Throws std::invalid_argument for an input that forward refuses: fewer bytes than the
  /// Conv1d's kernel, or more tokens than max_num_tokens.
  void check_input_bytes(int64_t num_bytes) const;

  /// Throws std::invalid_argument naming the option and value when inconsistent.
  void validate() const;

  /// Elements of the model's parameters and buffers (the positional table either way),
  /// computed from the options alone in double, so that absurd sizes do not overflow.
  /// Equals ByteFormer::parameter_count() for a learned positional embedding.
  double element_count() const;
  /// Throws std::invalid_argument when the float32 weights (element_count() x 4 bytes) would
  /// exceed `memory_bytes`, naming the size key that makes them so large, e.g.
  /// "model.classification.byteformer.embed_dim = 1000000000: the model would hold 1.2e+19
  /// parameters (...), more than the 125.8 GB of memory of this machine".
  void check_fits_in_memory(double memory_bytes) const;
};

}  // namespace byteformer
