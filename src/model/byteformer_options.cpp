#include "byteformer/model/byteformer_options.h"

#include <fmt/format.h>

#include <cmath>
#include <set>
#include <stdexcept>

#include "byteformer/io/config.h"
#include "byteformer/runtime/runtime.h"

namespace byteformer {

namespace {
constexpr const char* kPrefix = "model.classification.byteformer.";

// Keys of `model.classification.byteformer.*` that this project reads.
const std::set<std::string> kKnownKeys = {
    "mode", "vocab_size", "padding_index", "max_num_tokens", "conv_kernel_size", "window_sizes",
    "window_shifts", "downsample", "dropout", "stochastic_dropout", "norm_layer",
    "sinusoidal_pos_emb", "dummy_input_token_length", "numerics", "embed_dim", "n_attn_heads",
    "ffn_dim", "n_transformer_layers",
    // Accepted, no effect: we always use our own attention kernel (same numbers).
    "use_pytorch_mha"};
}  // namespace

Numerics parse_numerics(const std::string& text) {
  if (text == "corenet") return Numerics::kCoreNet;
  if (text == "masked") return Numerics::kMasked;
  throw std::invalid_argument(fmt::format("numerics '{}': expected 'corenet' or 'masked'", text));
}

std::string to_string(Numerics numerics) { return numerics == Numerics::kCoreNet ? "corenet" : "masked"; }

ByteFormerOptions ByteFormerOptions::preset(const std::string& mode) {
  ByteFormerOptions o;
  o.mode = mode;
  if (mode == "tiny") {
    o.embed_dim = 192, o.num_heads = 3, o.num_layers = 12;
  } else if (mode == "small") {
    o.embed_dim = 384, o.num_heads = 6, o.num_layers = 12;
  } else if (mode == "base") {
    o.embed_dim = 768, o.num_heads = 12, o.num_layers = 12;
  } else if (mode == "huge") {
    o.embed_dim = 1280, o.num_heads = 20, o.num_layers = 32;
  } else {
    throw std::invalid_argument(fmt::format(
        "{}mode = '{}': expected one of tiny, small, base, huge", kPrefix, mode));
  }
  o.ffn_dim = 4 * o.embed_dim;
  return o;
}

ByteFormerOptions ByteFormerOptions::from_config(const Config& c, bool* numerics_from_config) {
  const std::string p = kPrefix;
  for (const auto& key : c.keys_with_prefix(p)) {
    const std::string rest = key.substr(p.size());
    if (!kKnownKeys.count(rest))
      throw std::invalid_argument(fmt::format("config: unknown key '{}' (in {}); known ByteFormer keys: "
                                              "mode, max_num_tokens, conv_kernel_size, window_sizes, "
                                              "window_shifts, downsample, dropout, stochastic_dropout, ... (docs/CONFIG.md)",
                                              key, c.origin(key)));
  }
  ByteFormerOptions o = preset(c.get_string(p + "mode", "tiny"));
  o.embed_dim = c.get_int(p + "embed_dim", o.embed_dim);
  o.allow_tf32 = !c.get_bool("common.disable_tf32", false);
  o.num_heads = c.get_int(p + "n_attn_heads", o.num_heads);
  o.ffn_dim = c.get_int(p + "ffn_dim", c.is_set(p + "embed_dim") ? 4 * o.embed_dim : o.ffn_dim);
  o.num_layers = c.get_int(p + "n_transformer_layers", o.num_layers);
  o.vocab_size = c.get_int(p + "vocab_size", o.vocab_size);
  o.padding_index = c.get_int(p + "padding_index", o.padding_index);
  o.max_num_tokens = c.get_int(p + "max_num_tokens", o.max_num_tokens);
  // CoreNet: conv_kernel_size 0 or null means no token reduction.
  o.conv_kernel_size = c.has(p + "conv_kernel_size") && !c.is_set(p + "conv_kernel_size")
                           ? 0
                           : c.get_int(p + "conv_kernel_size", o.conv_kernel_size);
  o.window_sizes = c.get_int_list(p + "window_sizes", o.window_sizes);
  o.window_shifts = c.get_int_list(p + "window_shifts", o.window_shifts);
  o.downsample = c.get_bool_list(p + "downsample", o.downsample);
  o.dropout = c.get_double(p + "dropout", o.dropout);
  o.stochastic_dropout = c.get_double(p + "stochastic_dropout", o.stochastic_dropout);
  o.norm_layer = c.get_string(p + "norm_layer", o.norm_layer);
  o.sinusoidal_pos_emb = c.get_bool(p + "sinusoidal_pos_emb", o.sinusoidal_pos_emb);
  o.dummy_input_token_length = c.get_int(p + "dummy_input_token_length", o.dummy_input_token_length);
  o.n_classes = c.get_int("model.classification.n_classes", o.n_classes);
  if (numerics_from_config) *numerics_from_config = c.is_set(p + "numerics");
  if (c.is_set(p + "numerics")) {
    try {
      o.numerics = parse_numerics(c.get_string(p + "numerics", "masked"));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("config: {}: {}", c.describe(p + "numerics"), e.what()));
    }
  }
  try {
    o.validate();
    o.check_fits_in_memory(physical_memory_bytes());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("config {}: {}", c.path(), e.what()));
  }
  return o;
}

int64_t ByteFormerOptions::window_size(int64_t layer) const {
  return window_sizes.size() == 1 ? window_sizes[0] : window_sizes.at(layer);
}
int64_t ByteFormerOptions::window_shift(int64_t layer) const { return window_shifts.at(layer); }

std::vector<double> ByteFormerOptions::drop_path_rates() const {
  std::vector<double> rates(num_layers, 0.0);
  for (int64_t i = 0; i < num_layers; ++i) {
    const double v = num_layers == 1 ? 0.0 : stochastic_dropout * i / (num_layers - 1);
    rates[i] = std::round(v * 1000.0) / 1000.0;
  }
  return rates;
}

int64_t ByteFormerOptions::tokens_after_conv(int64_t num_bytes) const {
  if (num_bytes <= 0) throw std::invalid_argument("input has no bytes");
  if (conv_kernel_size == 0) return num_bytes;
  // Masked numerics: a row shorter than the kernel is one token of its bytes and padding.
  if (num_bytes < conv_kernel_size && numerics == Numerics::kMasked) return 1;
  if (num_bytes < conv_kernel_size)
    throw std::invalid_argument(fmt::format("input has {} bytes, fewer than conv_kernel_size {}",
                                            num_bytes, conv_kernel_size));
  return (num_bytes - conv_kernel_size) / conv_stride() + 1;
}

int64_t ByteFormerOptions::max_input_bytes() const {
  if (conv_kernel_size == 0) return max_num_tokens;
  return conv_kernel_size + max_num_tokens * conv_stride() - 1;  // (L - k) / s + 1 <= max_num_tokens
}

void ByteFormerOptions::check_input_bytes(int64_t num_bytes) const {
  const int64_t tokens = tokens_after_conv(num_bytes);
  if (tokens > max_num_tokens)
    throw std::invalid_argument(fmt::format("input of {} bytes gives {} tokens after the Conv1d, more than "
                                            "max_num_tokens {} ({}max_num_tokens): at most {} bytes",
                                            num_bytes, tokens, max_num_tokens, kPrefix, max_input_bytes()));
}

void ByteFormerOptions::validate() const {
  auto fail = [](const std::string& msg) { throw std::invalid_argument(msg); };
  const std::string p = kPrefix;
  if (embed_dim <= 0 || num_heads <= 0 || embed_dim % num_heads != 0)
    fail(fmt::format("{}embed_dim {} must be a positive multiple of n_attn_heads {}", p, embed_dim, num_heads));
  if (num_heads < 2)
    fail(fmt::format("{}n_attn_heads = {}: at least 2 heads are supported (CoreNet's parameter names)", p, num_heads));
  if (ffn_dim <= 0) fail(fmt::format("{}ffn_dim = {}: expected > 0", p, ffn_dim));
  if (num_layers <= 0) fail(fmt::format("{}n_transformer_layers = {}: expected > 0", p, num_layers));
  if (vocab_size < 257) fail(fmt::format("{}vocab_size = {}: byte inputs need at least 257", p, vocab_size));
  if (padding_index != -1) fail(fmt::format("{}padding_index = {}: only -1 is supported", p, padding_index));
  if (max_num_tokens <= 0) fail(fmt::format("{}max_num_tokens = {}: expected > 0", p, max_num_tokens));
  if (conv_kernel_size < 0 || conv_kernel_size == 1)
    fail(fmt::format("{}conv_kernel_size = {}: expected 0 (no conv) or >= 2 (stride k/2)", p, conv_kernel_size));
  if (window_sizes.size() != 1 && static_cast<int64_t>(window_sizes.size()) != num_layers)
    fail(fmt::format("{}window_sizes has {} entries; expected 1 or {} (one per layer)", p, window_sizes.size(), num_layers));
  for (auto w : window_sizes)
    if (w <= 0) fail(fmt::format("{}window_sizes contains {}: expected > 0", p, w));
  if (static_cast<int64_t>(window_shifts.size()) != num_layers)
    fail(fmt::format("{}window_shifts has {} entries; expected {} (one per layer)", p, window_shifts.size(), num_layers));
  for (auto s : window_shifts)
    if (s < 0) fail(fmt::format("{}window_shifts contains {}: expected >= 0", p, s));
  if (static_cast<int64_t>(downsample.size()) != num_layers)
    fail(fmt::format("{}downsample has {} entries; expected {} (one per layer)", p, downsample.size(), num_layers));
  if (dropout < 0 || dropout >= 1) fail(fmt::format("{}dropout = {}: expected in [0, 1)", p, dropout));
  if (stochastic_dropout < 0 || stochastic_dropout >= 1)
    fail(fmt::format("{}stochastic_dropout = {}: expected in [0, 1)", p, stochastic_dropout));
  if (norm_layer != "layer_norm")
    fail(fmt::format("{}norm_layer = '{}': only layer_norm is supported", p, norm_layer));
  if (n_classes <= 0) fail(fmt::format("model.classification.n_classes = {}: expected > 0", n_classes));
  if (dummy_input_token_length <= 0)
    fail(fmt::format("{}dummy_input_token_length = {}: expected > 0", p, dummy_input_token_length));
}

double ByteFormerOptions::element_count() const {
  const double C = static_cast<double>(embed_dim), F = static_cast<double>(ffn_dim);
  double n = static_cast<double>(vocab_size) * C;                           // embeddings
  n += static_cast<double>(conv_kernel_size) * C * C;                       // token_reduction_net (no bias)
  n += static_cast<double>(max_num_tokens) * C;                             // pos_embed
  const double block = 2 * C + (3 * C * C + 3 * C) + (C * C + C)           // norm, qkv_proj, out_proj
                       + 2 * C + (C * F + F) + (F * C + C);                 // norm, fc1, fc2
  n += static_cast<double>(num_layers) * block;
  double merges = 0;
  for (bool d : downsample) merges += d ? 1 : 0;
  n += merges * (2 * C * C + 2 * C);                                        // reduction (no bias), norm
  n += 2 * C + C * static_cast<double>(n_classes) + static_cast<double>(n_classes);  // norm, classifier
  return n;
}

void ByteFormerOptions::check_fits_in_memory(double memory_bytes) const {
  const double elements = element_count();
  const double bytes = elements * 4;
  if (bytes <= memory_bytes) return;
  // Name the key whose value makes the model this large: the one that, set to 1, shrinks it most.
  const std::string p = kPrefix;
  struct Size {
    std::string key;
    int64_t value;
    int64_t ByteFormerOptions::*field;
  };
  const Size sizes[] = {
      {p + "embed_dim", embed_dim, &ByteFormerOptions::embed_dim},
      {p + "ffn_dim", ffn_dim, &ByteFormerOptions::ffn_dim},
      {p + "n_transformer_layers", num_layers, &ByteFormerOptions::num_layers},
      {p + "vocab_size", vocab_size, &ByteFormerOptions::vocab_size},
      {p + "max_num_tokens", max_num_tokens, &ByteFormerOptions::max_num_tokens},
      {p + "conv_kernel_size", conv_kernel_size, &ByteFormerOptions::conv_kernel_size},
      {"model.classification.n_classes", n_classes, &ByteFormerOptions::n_classes},
  };
  const Size* culprit = &sizes[0];
  double smallest = elements;
  for (const auto& s : sizes) {
    ByteFormerOptions smaller = *this;
    smaller.*(s.field) = 1;
    if (const double n = smaller.element_count(); n < smallest) smallest = n, culprit = &s;
  }
  throw std::invalid_argument(fmt::format(
      "{} = {}: the model would hold {:.3g} parameters, {:.3g} GB as float32, more than the {:.1f} GB of memory of "
      "this machine",
      culprit->key, culprit->value, elements, bytes / 1e9, memory_bytes / 1e9));
}

}  // namespace byteformer
