#include "byteformer/model/byteformer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

#include "model/cpu/cpu_parallel.h"
#include "model/cpu/fast_linear.h"
#include "model/cpu/first_block_qkv.h"
#include "byteformer/model/init.h"
#include "byteformer/model/norm.h"
#include "byteformer/runtime/runtime.h"
#include "model/cpu/reduction_table.h"
#include "model/cpu/table_bag_sum.h"
#include "byteformer/model/windowing.h"

namespace byteformer {

PositionalTableImpl::PositionalTableImpl(int64_t max_num_tokens, int64_t embed_dim, bool sinusoidal) {
  if (!sinusoidal) {
    pos_embed = register_parameter("pos_embed", torch::zeros({1, 1, max_num_tokens, embed_dim}));
    return;
  }
  // fairseq-style: sin half, cos half, frequency step log(10000) / (C/2 - 1).
  const int64_t half = embed_dim / 2;
  const double step = std::log(10000.0) / static_cast<double>(std::max<int64_t>(half - 1, 1));
  auto freq = torch::exp(torch::arange(half, torch::kFloat) * -step);                  // (C/2)
  auto angles = torch::arange(max_num_tokens, torch::kFloat).unsqueeze(1) * freq.unsqueeze(0);  // (T, C/2)
  auto table = torch::cat({torch::sin(angles), torch::cos(angles)}, 1);                // (T, 2*(C/2))
  if (embed_dim % 2 == 1) table = torch::cat({table, torch::zeros({max_num_tokens, 1})}, 1);
  pos_embed = register_buffer("pos_embed", table.view({1, 1, max_num_tokens, embed_dim}));
}

PositionalEmbeddingImpl::PositionalEmbeddingImpl(int64_t max_num_tokens, int64_t embed_dim, bool sinusoidal) {
  pos_embed = register_module("pos_embed", PositionalTable(max_num_tokens, embed_dim, sinusoidal));
}

torch::Tensor PositionalEmbeddingImpl::forward(int64_t num_tokens) {
  const auto& t = pos_embed->pos_embed;  // (1, 1, T, C)
  return t.select(1, 0).slice(1, 0, num_tokens);  // (1, N, C)
}

ByteFormerImpl::ByteFormerImpl(const ByteFormerOptions& options)
    : options_(options),
      classifier_product_(std::make_shared<ProductWeight>()),
      first_block_qkv_(std::make_shared<FirstBlockQkv>()) {
  options_.validate();
  options_.check_fits_in_memory(physical_memory_bytes());  // before LibTorch tries to allocate it
  const auto& o = options_;
  const int64_t C = o.embed_dim;
  embeddings = register_module(
      "embeddings", torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab_size, C).padding_idx(o.vocab_size - 1)));
  if (o.conv_kernel_size > 0) {
    token_reduction_net = register_module(
        "token_reduction_net",
        torch::nn::Conv1d(torch::nn::Conv1dOptions(C, C, o.conv_kernel_size).stride(o.conv_stride()).bias(false)));
  }
  pos_embed = register_module("pos_embed", PositionalEmbedding(o.max_num_tokens, C, o.sinusoidal_pos_emb));
  transformer = register_module("transformer", torch::nn::ModuleList());
  downsamplers = register_module("downsamplers", torch::nn::ModuleDict());
  for (int64_t i = 0; i < o.num_layers; ++i) {
    blocks_.emplace_back(o, i);
    transformer->push_back(blocks_.back());
    if (o.downsample[i]) {
      mergers_.emplace_back(C);
      downsamplers->update({{fmt::format("downsample_{}", i), mergers_.back().ptr()}});
    } else {
      mergers_.emplace_back(nullptr);
    }
  }
  post_transformer_norm = register_module(
      "post_transformer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({C}).eps(1e-5)));
  classifier = register_module("classifier", torch::nn::Linear(C, o.n_classes));
  reset_parameters();
}

void ByteFormerImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  const double C = static_cast<double>(options_.embed_dim);
  auto& emb = embeddings->weight;
  trunc_normal_(emb, /*std=*/std::pow(C, -0.5));
  emb[options_.vocab_size - 1].zero_();  // the padding row stays zero
  if (token_reduction_net) torch::nn::init::kaiming_uniform_(token_reduction_net->weight);
  if (!options_.sinusoidal_pos_emb) trunc_normal_(pos_embed->pos_embed->pos_embed, /*std=*/std::pow(C, -0.5));
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* lin = m->as<torch::nn::Linear>()) {
      trunc_normal_(lin->weight, /*std=*/0.02);
      if (lin->bias.defined()) lin->bias.zero_();
    } else if (auto* ln = m->as<torch::nn::LayerNorm>()) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    }
  }
}

namespace {

// One pass over (B, L) int64 bytes: each row's length (position + 1 of its last non-padding
// value, 0 for an all-padding row) and the smallest and largest value. On the CPU a loop over
// rows, cheaper than the tensor expressions.
struct ByteScan {
  torch::Tensor lengths;  // (B) int64, on the bytes' device
  int64_t lo = 0, hi = 0;
};

ByteScan scan_bytes(const torch::Tensor& bytes) {
  ByteScan scan;
  if (!bytes.device().is_cpu()) {
    auto pos = torch::arange(1, bytes.size(1) + 1, bytes.options().dtype(torch::kLong)).unsqueeze(0);
    scan.lengths = (pos * (bytes != -1).to(torch::kLong)).amax(/*dim=*/1);
    scan.lo = bytes.min().item<int64_t>();
    scan.hi = bytes.max().item<int64_t>();
    return scan;
  }
  const auto b = bytes.to(torch::kLong).contiguous();
  const int64_t B = b.size(0), L = b.size(1);
  scan.lengths = torch::empty({B}, b.options());
  std::vector<int64_t> lo(B, std::numeric_limits<int64_t>::max()), hi(B, std::numeric_limits<int64_t>::min());
  const int64_t* data = b.data_ptr<int64_t>();
  int64_t* len = scan.lengths.data_ptr<int64_t>();
  at::parallel_for(0, B, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t* row = data + r * L;
      int64_t last = 0, l = lo[r], h = hi[r];
      for (int64_t i = 0; i < L; ++i) {
        if (row[i] != -1) last = i + 1;
        l = std::min(l, row[i]);
        h = std::max(h, row[i]);
      }
      len[r] = last, lo[r] = l, hi[r] = h;
    }
  });
  scan.lo = *std::min_element(lo.begin(), lo.end());
  scan.hi = *std::max_element(hi.begin(), hi.end());
  return scan;
}

// Padding (-1) mapped to the embedding's last row, V - 1.
torch::Tensor padding_to_last_row(const torch::Tensor& bytes, int64_t V) {
  if (!bytes.device().is_cpu() || bytes.scalar_type() != torch::kLong) return bytes.masked_fill(bytes == -1, V - 1);
  const auto b = bytes.contiguous();
  auto idx = torch::empty_like(b);
  const int64_t* from = b.data_ptr<int64_t>();
  int64_t* to = idx.data_ptr<int64_t>();
  at::parallel_for(0, b.numel(), 1 << 16, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) to[i] = from[i] == -1 ? V - 1 : from[i];
  });
  return idx;
}

}  // namespace

torch::Tensor ByteFormerImpl::row_lengths(const torch::Tensor& bytes) { return scan_bytes(bytes).lengths; }

void ByteFormerImpl::check_input(int64_t lo, int64_t hi, const torch::Tensor& lengths) const {
  const auto& o = options_;
  if (lo < -1 || hi > o.vocab_size - 2)
    throw std::invalid_argument(fmt::format("ByteFormer::forward - byte values must be in [0, {}] or -1 "
                                            "(padding), got values in [{}, {}]", o.vocab_size - 2, lo, hi));
  auto len_cpu = lengths.to(torch::kCPU);
  const auto* len = len_cpu.data_ptr<int64_t>();
  for (int64_t b = 0; b < len_cpu.size(0); ++b) {
    int64_t tokens = 0;
    try {
      tokens = o.tokens_after_conv(len[b]);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("ByteFormer::forward - sample {}: {}", b, e.what()));
    }
    if (tokens > o.max_num_tokens)
      throw std::invalid_argument(fmt::format(
          "ByteFormer::forward - sample {}: {} bytes give {} tokens after the Conv1d, more than "
          "max_num_tokens {} (model.classification.byteformer.max_num_tokens)",
          b, len[b], tokens, o.max_num_tokens));
  }
}

torch::Tensor ByteFormerImpl::forward(const torch::Tensor& input) {
  if (input.dim() != 2)
    throw std::invalid_argument(fmt::format("ByteFormer::forward - expected (B, L) bytes, got {} dims", input.dim()));
  if (at::isFloatingType(input.scalar_type()) || input.scalar_type() == torch::kBool)
    throw std::invalid_argument("ByteFormer::forward - expected an integer tensor of bytes");
  if (input.numel() == 0) throw std::invalid_argument("ByteFormer::forward - empty input");
  auto bytes = input.to(torch::kLong);
  const auto scan = scan_bytes(bytes);
  auto lengths = scan.lengths;  // (B)
  const int64_t k = options_.conv_kernel_size;
  if (options_.numerics == Numerics::kMasked && k > 0) {
    // A row shorter than the kernel is one token: its bytes, then padding (whose embedding row
    // is zero), as a longer row's last window would be if it were cut there. A tiny file is a
    // real input (a file type, a 3-byte answer), not an error. CoreNet's numerics keep its rule.
    lengths = torch::where(lengths > 0, lengths.clamp_min(k), lengths);
    if (bytes.size(1) < k) bytes = torch::constant_pad_nd(bytes, {0, k - bytes.size(1)}, -1);
  }
  check_input(scan.lo, scan.hi, lengths);
  const int64_t longest = lengths.max().item<int64_t>();
  bytes = bytes.slice(1, 0, longest);  // columns past every row's end are padding only

  if (options_.numerics == Numerics::kMasked) return forward_rows(bytes, lengths);

  // CoreNet numerics: each row as if alone, i.e. run every group of equal length unpadded.
  auto len_cpu = lengths.to(torch::kCPU);
  std::map<int64_t, std::vector<int64_t>> groups;
  for (int64_t b = 0; b < len_cpu.size(0); ++b) groups[len_cpu[b].item<int64_t>()].push_back(b);
  if (groups.size() == 1) return forward_rows(bytes, {});
  torch::Tensor logits;
  for (const auto& [length, rows] : groups) {
    auto idx = torch::tensor(rows, torch::kLong).to(bytes.device());
    auto out = forward_rows(bytes.index_select(0, idx).slice(1, 0, length), {});
    if (!logits.defined()) logits = torch::zeros({bytes.size(0), out.size(1)}, out.options());
    logits = logits.index_copy(0, idx, out);
  }
  return logits;
}

torch::Tensor ByteFormerImpl::reduction_table(TableLayout layout) {
  const auto& o = options_;
  const int64_t k = o.conv_kernel_size, V = o.vocab_size, C = o.embed_dim;
  const auto& E0 = embeddings->weight;       // (V, C)
  const auto& W = token_reduction_net->weight;  // (C_out, C_in, k)
  // Training: rows by byte value, one (V, C) x (C, k*C) product and no reorder of the table
  // either way; by position, the result and its gradient would be laid out by j and back
  // (about twice the time; docs/PERFORMANCE.md).
  if (layout == TableLayout::kByValue) {
    table_cache_ = torch::Tensor();
    return reduction_table_by_value(E0, W);  // (V*k, C)
  }
  // By position: inference (no autograd), where the table is reused until the weights change.
  const std::array<int64_t, 4> key{reinterpret_cast<int64_t>(E0.data_ptr()), static_cast<int64_t>(E0._version()),
                                   reinterpret_cast<int64_t>(W.data_ptr()), static_cast<int64_t>(W._version())};
  if (table_cache_.defined() && key == table_key_ && table_cache_.device() == E0.device() &&
      table_cache_.scalar_type() == E0.scalar_type())
    return table_cache_;
  // The padding row is zero, as in the Embedding the table replaces.
  auto row_mask = torch::ones({V, 1}, E0.options());
  row_mask[V - 1] = 0;
  // (k*V, C): T[j][v] = E[v] W_j^T, k products (V, C) (C, C); the first block's lookups
  // (first_block_qkv.h) index this table by position too.
  table_cache_ = torch::matmul(E0 * row_mask, W.permute({2, 1, 0})).reshape({k * V, C});
  table_key_ = key;
  return table_cache_;
}

torch::Tensor ByteFormerImpl::embed_and_reduce(const torch::Tensor& idx, torch::Tensor* rows_out) {
  // Runs in the parameters' precision even under autocast: it is gathers and sums (and
  // embedding_bag has no bfloat16 kernel in LibTorch 1.13), on the CPU and on CUDA.
  c10::impl::ExcludeDispatchKeyGuard no_autocast(
      c10::DispatchKeySet({c10::DispatchKey::AutocastCPU, c10::DispatchKey::AutocastCUDA}));
  if (!token_reduction_net) return embeddings(idx);  // (B, L, C)
  const auto& o = options_;
  const int64_t k = o.conv_kernel_size, s = o.conv_stride(), V = o.vocab_size, C = o.embed_dim;
  if (!fused_token_reduction_)
    return token_reduction_net(embeddings(idx).transpose(1, 2)).transpose(1, 2);  // (B, N, C)
  const int64_t B = idx.size(0), N = (idx.size(1) - k) / s + 1;
  // Always the table path, even where the plain convolution would be cheaper: the choice must
  // not depend on the batch, or a file's logits would (float32 sums in another order). Rows by
  // byte value where autograd records (training), by position otherwise (inference's cache).
  const auto layout = torch::GradMode::is_enabled() ? TableLayout::kByValue : TableLayout::kByPosition;
  const auto table = reduction_table(layout);  // (k*V, C)
  // Bag n of row b names the k table entries T[j][x[b, n*s + j]] as j*V + x[b, n*s + j], whatever
  // the layout (table_bag_sum finds the rows).
  torch::Tensor bags;  // (B*N*k)
  if (idx.device().is_cpu() && idx.scalar_type() == torch::kLong) {
    // One pass (the unfold, add and reshape took about 0.6 ms of a quickstart training step).
    const auto x = idx.contiguous();
    const int64_t L = x.size(1);
    bags = torch::empty({B * N * k}, x.options());
    const int64_t* from = x.data_ptr<int64_t>();
    int64_t* to = bags.data_ptr<int64_t>();
    at::parallel_for(0, B * N, 64, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t* window = from + (t / N) * L + (t % N) * s;
        for (int64_t j = 0; j < k; ++j) to[t * k + j] = j * V + window[j];
      }
    });
  } else {
    auto offsets = torch::arange(k, idx.options()) * V;                 // (k)
    bags = (idx.unfold(1, k, s) + offsets).reshape({B * N * k});
  }
  if (rows_out != nullptr) *rows_out = bags;
  return table_bag_sum(table, bags, k, layout).view({B, N, C});
}

torch::Tensor ByteFormerImpl::forward_rows(const torch::Tensor& bytes, const torch::Tensor& valid_bytes) {
  const auto& o = options_;
  // 1. Embedding; padding (-1) uses the last row, which is zero and gets no gradient.
  auto idx = padding_to_last_row(bytes, o.vocab_size);
  // 2. Token reduction: Conv1d(C, C, k, stride k/2) over the sequence.
  torch::Tensor bags;              // the fused path's table rows, reused by the first block's lookups
  auto x = embed_and_reduce(idx, &bags);  // (B, N, C)
  observe(token_reduction_net ? "conv1d" : "embedding");
  torch::Tensor valid = valid_bytes;
  // A token is real when its whole window is real bytes: exactly the tokens the row has alone.
  if (token_reduction_net && valid.defined())
    valid = torch::div(valid - o.conv_kernel_size, o.conv_stride(), "floor") + 1;
  const int64_t N = x.size(1);
  // 3. Positional embedding (first N rows of the table) and dropout.
  const auto pos = pos_embed(N);  // (1, N, C)
  if (torch::GradMode::is_enabled()) {
    x = x + pos;
  } else {
    x.add_(pos);  // inference: x is this function's own fresh tensor
  }
  x = torch::nn::functional::dropout(x, torch::nn::functional::DropoutFuncOptions().p(o.dropout).training(is_training()));
  // The first block's q, k, v from lookups (first_block_qkv.h): CPU inference in float32/64
  // after the fused token reduction, where the block takes its inference path, and for short
  // kernels: a token's k rows of 3C values cost less than its 2 C 3C FLOPs of product only while
  // k is small against C (JPEG k=4 eval gains; at TIFF's k=32, C=192 its (k*V, 3C) table
  // outgrows the caches and the eval runs slower: docs/PERFORMANCE.md).
  torch::Tensor qkv0;
  if (first_block_lookup() && !is_training() && !torch::GradMode::is_enabled() &&
      cpu_float_outside_autocast(x) && bags.defined() && table_cache_.defined() &&
      x.scalar_type() == table_cache_.scalar_type() && !blocks_.empty()) {
    auto& mha = *blocks_[0]->pre_norm_mha;
    qkv0 = first_block_qkv_->compute(table_cache_, embeddings->weight, token_reduction_net->weight, bags,
                                    o.conv_kernel_size, x.contiguous(), pos[0],
                                    mha.norm->weight, mha.norm->bias, mha.norm->options.eps(),
                                    mha.attn->qkv_proj->weight, mha.attn->qkv_proj->bias);
  }
  // 4. Blocks, with token merging after those listed in `downsample`.
  for (size_t i = 0; i < blocks_.size(); ++i) {
    x = blocks_[i](x, valid, i == 0 ? qkv0 : torch::Tensor());  // (B, N_i, C)
    observe(fmt::format("transformer.{}", i));
    if (mergers_[i]) {
      x = mergers_[i](x, &valid);
      observe(fmt::format("downsample_{}", i));
    }
  }
  // 5-6. Final norm, mean over real tokens, classifier.
  x = apply_norm(post_transformer_norm, x);  // (B, N', C)
  torch::Tensor pooled;
  if (valid.defined()) {
    auto mask = prefix_mask(valid, x.size(1)).unsqueeze(2).to(x.scalar_type());  // (B, N', 1)
    pooled = (x * mask).sum(1) / valid.unsqueeze(1).to(x.scalar_type());
  } else {
    pooled = x.mean(1);
  }
  torch::Tensor logits;  // (B, n_classes)
  if (const auto path = cpu_inference_path_for(pooled); path != InferencePath::kNone) {
    // Inference: the product by linear_into's fixed row chunks, so a row's logits do not depend
    // on how many rows the batch has (a BLAS sums a 1-row product in another order).
    const NoCpuAutocast float32_elsewhere;
    logits = torch::empty({pooled.size(0), classifier->weight.size(0)}, pooled.options());
    linear_into(logits, pooled.contiguous(), classifier_product_->get(classifier->weight, path == InferencePath::kBf16),
                classifier->bias, LinearEpilogue::kStore);
  } else {
    logits = classifier(pooled);
  }
  // Under autocast the classifier gives bfloat16: logits leave in float32 (the loss's precision).
  if (logits.scalar_type() == torch::kBFloat16 || logits.scalar_type() == torch::kHalf)
    logits = logits.to(torch::kFloat);
  observe("head");
  return logits;
}

std::vector<StageCost> ByteFormerImpl::stage_costs(int64_t num_bytes) const {
  const auto& o = options_;
  const double C = static_cast<double>(o.embed_dim);
  std::vector<StageCost> stages;
  stages.push_back({"embedding", num_bytes, 0.0});
  int64_t n = o.tokens_after_conv(num_bytes);
  if (o.conv_kernel_size > 0) stages.push_back({"conv1d", n, 2.0 * n * C * C * o.conv_kernel_size});
  for (int64_t i = 0; i < o.num_layers; ++i) {
    const int64_t w = o.window_size(i);
    const double padded = static_cast<double>((n + w - 1) / w * w);
    double f = 2.0 * n * C * 3 * C;       // qkv_proj
    f += 2.0 * 2.0 * padded * w * C;      // q k^T and attn v over the windows
    f += 2.0 * n * C * C;                 // out_proj
    f += 2.0 * 2.0 * n * C * o.ffn_dim;   // FFN
    stages.push_back({fmt::format("transformer.{}", i), n, f});
    if (o.downsample[i]) {
      n = (n + 1) / 2;
      stages.push_back({fmt::format("downsample_{}", i), n, 2.0 * n * 2 * C * C});
    }
  }
  stages.push_back({"classifier", 1, 2.0 * C * o.n_classes + static_cast<double>(n) * C});
  return stages;
}

int64_t ByteFormerImpl::parameter_count() const {
  int64_t count = 0;
  for (const auto& p : parameters()) count += p.numel();
  return count;
}

std::vector<std::pair<std::string, torch::Tensor>> ByteFormerImpl::state_dict() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& kv : named_parameters(/*recurse=*/true)) out.emplace_back(kv.key(), kv.value());
  for (const auto& kv : named_buffers(/*recurse=*/true)) out.emplace_back(kv.key(), kv.value());
  return out;
}

void ByteFormerImpl::load_state_dict(const std::vector<std::pair<std::string, torch::Tensor>>& state,
                                     const std::string& source) {
  std::map<std::string, torch::Tensor> given;
  for (const auto& [k, v] : state) given[k] = v;
  auto own = state_dict();
  std::vector<std::string> missing;
  for (const auto& [name, _] : own)
    if (!given.count(name)) missing.push_back(name);
  if (!missing.empty())
    throw std::invalid_argument(fmt::format("{}: missing key '{}' ({} missing in all); the config and the "
                                            "weights describe different models",
                                            source, missing.front(), missing.size()));
  std::set<std::string> names;
  for (const auto& [name, _] : own) names.insert(name);
  for (const auto& [k, _] : given)
    if (!names.count(k))
      throw std::invalid_argument(fmt::format("{}: unexpected key '{}' not in this model (check the config: "
                                              "conv_kernel_size, downsample, sinusoidal_pos_emb)",
                                              source, k));
  torch::NoGradGuard no_grad;
  for (auto& [name, param] : own) {
    const auto& src = given.at(name);
    if (src.sizes() != param.sizes())
      throw std::invalid_argument(fmt::format("{}: key '{}' has shape [{}], the model expects [{}]", source, name,
                                              fmt::join(src.sizes(), ", "), fmt::join(param.sizes(), ", ")));
    if (!at::isFloatingType(src.scalar_type()))
      throw std::invalid_argument(fmt::format("{}: key '{}' has a non-floating dtype", source, name));
    param.copy_(src.to(param.scalar_type()));
  }
}

}  // namespace byteformer
