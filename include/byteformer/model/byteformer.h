// ByteFormer: a Transformer over file bytes (Horton et al., "Bytes Are All You Need", 2023),
// following CoreNet's corenet/modeling/models/classification/byteformer.py.
//
//   ByteFormerOptions opts = ByteFormerOptions::preset("tiny");
//   opts.n_classes = 10;
//   ByteFormer model(opts);
//   auto logits = model->forward(bytes);   // bytes: (B, L) int64, 0..255, -1 = padding
//
// Threads: one model must not run forward from two threads at once. Inference fills caches on
// first use (the fused reduction table, the first block's lookups, packed weights) and the CPU
// kernels change process-wide BLAS settings for the duration of a call. The entry points that
// callers share serialise it: Classifier (and so the C API and `byteformer serve`) holds one
// lock around every forward; the trainer and the evaluator run it from one thread.
#pragma once
#include <torch/torch.h>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "byteformer/model/byteformer_options.h"
#include "byteformer/model/token_merging.h"
#include "byteformer/model/transformer_block.h"

namespace byteformer {

// The CPU kernels' types (model/cpu/, private to the model).
class FirstBlockQkv;
enum class TableLayout;

/// Holds `pos_embed` [1, 1, max_num_tokens, C]: a learnable parameter, or the fairseq-style
/// sinusoidal table as a buffer (both saved in the state_dict, as CoreNet does).
class PositionalTableImpl : public torch::nn::Module {
 public:
  PositionalTableImpl(int64_t max_num_tokens, int64_t embed_dim, bool sinusoidal);
  torch::Tensor pos_embed;
};
TORCH_MODULE(PositionalTable);

/// `pos_embed.pos_embed.pos_embed`: CoreNet's PositionalEmbedding wrapper around the table.
class PositionalEmbeddingImpl : public torch::nn::Module {
 public:
  PositionalEmbeddingImpl(int64_t max_num_tokens, int64_t embed_dim, bool sinusoidal);
  /// The first `num_tokens` rows: (1, num_tokens, C).
  torch::Tensor forward(int64_t num_tokens);
  PositionalTable pos_embed{nullptr};
};
TORCH_MODULE(PositionalEmbedding);

/// Tokens and FLOPs of each stage for one input length (see `byteformer info`).
struct StageCost {
  std::string name;
  int64_t tokens = 0;  // tokens leaving the stage
  double flops = 0;    // multiply-adds counted as 2 FLOPs
};

class ByteFormerImpl : public torch::nn::Module {
 public:
  explicit ByteFormerImpl(const ByteFormerOptions& options);

  /// bytes: (B, L) int64 with values 0..255 and -1 for padding (a row's length is up to its
  /// last non-padding byte). Returns logits (B, n_classes). Invalid input (values out of
  /// range, a row shorter than the kernel, too many tokens) throws std::invalid_argument.
  torch::Tensor forward(const torch::Tensor& bytes);

  /// Bytes of each row up to its last non-padding value: (B) int64.
  static torch::Tensor row_lengths(const torch::Tensor& bytes);

  /// CoreNet's initialisation for training from scratch (docs/MODEL.md, the model).
  void reset_parameters();

  const ByteFormerOptions& options() const { return options_; }

  /// Embedding -> Conv1d computed as lookups (default) or literally (for tests and benches).
  /// The two are the same linear map: with stride k/2, token n is sum_j T[j][x[n*s + j]] with
  /// T[j] = E W[:, :, j]^T, a (k, vocab, C) table: about half of CoreNet's FLOPs become gathers.
  void set_fused_token_reduction(bool fused) { fused_token_reduction_ = fused; }
  /// Whether inference computes the first block's q, k, v from lookups (first_block_qkv.h):
  /// with the fused token reduction and a kernel of at most embed_dim / 24 bytes, unless turned
  /// off (for tests and benches: the same numbers up to float rounding either way).
  bool first_block_lookup() const {
    return first_block_lookup_ && token_reduction_net && fused_token_reduction_ &&
           24 * options_.conv_kernel_size <= options_.embed_dim;
  }
  void set_first_block_lookup(bool on) { first_block_lookup_ = on; }
  /// Called after each stage of forward with its name ("conv1d", "transformer.3",
  /// "downsample_3", "head"): lets a benchmark time the stages. Empty by default.
  void set_stage_observer(std::function<void(const std::string&)> observer) { observer_ = std::move(observer); }

  /// (B, L) indices (padding already mapped to the last row) -> (B, N, C). With `table_rows`
  /// given and the fused path taken, it receives the (B*N*k) table rows that were summed.
  torch::Tensor embed_and_reduce(const torch::Tensor& indices, torch::Tensor* table_rows = nullptr);
  void set_numerics(Numerics numerics) { options_.numerics = numerics; }

  /// Per-stage token counts and FLOPs for an input of `num_bytes` bytes.
  std::vector<StageCost> stage_costs(int64_t num_bytes) const;
  int64_t parameter_count() const;

  /// CoreNet state_dict names -> tensors (parameters and buffers).
  std::vector<std::pair<std::string, torch::Tensor>> state_dict() const;
  /// Copies a CoreNet state_dict in; every key must be present with its shape, and no key may be
  /// unexpected. Errors name the key.
  void load_state_dict(const std::vector<std::pair<std::string, torch::Tensor>>& state, const std::string& source);

  torch::nn::Embedding embeddings{nullptr};
  torch::nn::Conv1d token_reduction_net{nullptr};
  PositionalEmbedding pos_embed{nullptr};
  torch::nn::ModuleList transformer{nullptr};
  torch::nn::ModuleDict downsamplers{nullptr};
  torch::nn::LayerNorm post_transformer_norm{nullptr};
  torch::nn::Linear classifier{nullptr};

 private:
  /// Runs rows of equal treatment. valid_bytes: (B) real bytes per row, or undefined (all real).
  torch::Tensor forward_rows(const torch::Tensor& bytes, const torch::Tensor& valid_bytes);
  /// lo, hi: the smallest and largest byte value; lengths: (B) bytes per row.
  void check_input(int64_t lo, int64_t hi, const torch::Tensor& lengths) const;

  ByteFormerOptions options_;
  bool fused_token_reduction_ = true;
  bool first_block_lookup_ = true;
  std::function<void(const std::string&)> observer_;
  void observe(const std::string& stage) const {
    if (observer_) observer_(stage);
  }
  /// The fused token reduction's (k*V, C) table in `layout`: by value where autograd records
  /// (training), by position and cached otherwise.
  torch::Tensor reduction_table(TableLayout layout);
  torch::Tensor table_cache_;            // inference only
  std::shared_ptr<ProductWeight> classifier_product_;  // the classifier's weight for linear_into (bf16 copy)
  std::shared_ptr<FirstBlockQkv> first_block_qkv_;     // inference only
  std::array<int64_t, 4> table_key_{};  // weights' storage and version it was built from
  std::vector<TransformerBlock> blocks_;
  std::vector<TokenMerging> mergers_;  // null where a layer does not downsample
};
TORCH_MODULE(ByteFormer);

}  // namespace byteformer
