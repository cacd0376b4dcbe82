#include "byteformer/transforms/privacy.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>

#include "transforms/option_values.h"

namespace byteformer {
namespace {

constexpr const char* kPrefix = "image_augmentation.";

}  // namespace

ShuffleMode parse_shuffle_mode(const std::string& name) {
  if (name == "reverse") return ShuffleMode::kReverse;
  if (name == "random_shuffle") return ShuffleMode::kRandomShuffle;
  if (name == "cyclic_half_length") return ShuffleMode::kCyclicHalfLength;
  if (name == "stride") return ShuffleMode::kStride;
  if (name == "window_shuffle") return ShuffleMode::kWindowShuffle;
  detail::throw_bad_value(
      "image_augmentation.shuffle_bytes.mode", name,
      "one of reverse, random_shuffle, cyclic_half_length, stride, window_shuffle");
}

std::string to_string(ShuffleMode mode) {
  switch (mode) {
    case ShuffleMode::kReverse: return "reverse";
    case ShuffleMode::kRandomShuffle: return "random_shuffle";
    case ShuffleMode::kCyclicHalfLength: return "cyclic_half_length";
    case ShuffleMode::kStride: return "stride";
    case ShuffleMode::kWindowShuffle: return "window_shuffle";
  }
  return "?";
}

ByteSeq reverse_bytes(const ByteSeq& x) { return ByteSeq(x.rbegin(), x.rend()); }

ByteSeq random_shuffle_bytes(const ByteSeq& x, torch::Generator& gen) {
  const int64_t n = static_cast<int64_t>(x.size());
  if (n == 0) return {};
  const std::vector<int64_t> perm = to_byte_seq(rand_perm(gen, n));
  ByteSeq out(x.size());
  for (int64_t i = 0; i < n; ++i) out[i] = x[perm[i]];
  return out;
}

ByteSeq cyclic_half_length(const ByteSeq& x) {
  const size_t n = x.size();
  if (n == 0) return {};
  const size_t shift = n / 2;  // torch.roll(x, x.shape[0] // 2)
  ByteSeq out(n);
  for (size_t i = 0; i < n; ++i) out[(i + shift) % n] = x[i];
  return out;
}

ByteSeq stride_bytes(const ByteSeq& x, int64_t stride) {
  if (stride < 1) {
    detail::throw_bad_value("image_augmentation.shuffle_bytes.stride", std::to_string(stride),
                            "a positive integer");
  }
  ByteSeq out;
  out.reserve(x.size());
  const size_t s = static_cast<size_t>(stride);
  for (size_t start = 0; start < s && start < x.size(); ++start) {
    for (size_t i = start; i < x.size(); i += s) out.push_back(x[i]);
  }
  return out;
}

std::vector<int64_t> make_window_permutation(int64_t window_size, uint64_t seed) {
  if (window_size < 1) {
    detail::throw_bad_value("image_augmentation.shuffle_bytes.window_size",
                            std::to_string(window_size), "a positive integer");
  }
  torch::Generator gen = make_generator(seed);
  return to_byte_seq(rand_perm(gen, window_size));
}

ByteSeq window_shuffle_bytes(const ByteSeq& x, const std::vector<int64_t>& perm) {
  const size_t w = perm.size();
  if (w == 0) throw std::invalid_argument("window_shuffle_bytes: empty window permutation");
  ByteSeq out(x);
  const size_t num_windows = x.size() / w;
  for (size_t k = 0; k < num_windows; ++k) {
    const size_t base = k * w;
    for (size_t i = 0; i < w; ++i) out[base + i] = x[base + static_cast<size_t>(perm[i])];
  }
  return out;
}

std::vector<int64_t> mask_positions_kept(int64_t length, double keep_frac) {
  if (!(keep_frac >= 0.0 && keep_frac <= 1.0)) {
    detail::throw_bad_value("image_augmentation.mask_positions.keep_frac",
                            std::to_string(keep_frac), "a fraction in [0, 1]");
  }
  if (length <= 0) return {};
  // CoreNet: int(self.keep_frac * N), the head of randperm(N) under the fixed seed.
  const int64_t num_kept = static_cast<int64_t>(keep_frac * static_cast<double>(length));
  torch::Generator gen = make_generator(kCoreNetPrivacySeed);
  std::vector<int64_t> perm = to_byte_seq(rand_perm(gen, length));
  perm.resize(static_cast<size_t>(num_kept));
  std::sort(perm.begin(), perm.end());
  return perm;
}

ByteSeq mask_positions(const ByteSeq& x, double keep_frac) {
  const std::vector<int64_t> kept =
      mask_positions_kept(static_cast<int64_t>(x.size()), keep_frac);
  ByteSeq out;
  out.reserve(kept.size());
  for (int64_t i : kept) out.push_back(x[static_cast<size_t>(i)]);
  return out;
}

ByteSeq random_uniform_noise(const ByteSeq& x, int64_t lo, int64_t hi, torch::Generator& gen) {
  if (lo > hi) {
    detail::throw_bad_value("image_augmentation.random_uniform.width_range",
                            "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
                            "[low, high] with low <= high");
  }
  if (x.empty()) return {};
  const torch::Tensor noise =
      torch::randint(lo, hi + 1, {static_cast<int64_t>(x.size())}, gen, torch::kInt64);
  const int64_t* n = noise.data_ptr<int64_t>();
  ByteSeq out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t v = (x[i] + n[i]) % 256;  // Python's % is a floor modulus: keep it >= 0.
    out[i] = v < 0 ? v + 256 : v;
  }
  return out;
}

std::array<int64_t, 256> byte_permutation_table() {
  torch::Generator gen = make_generator(kCoreNetPrivacySeed);
  const std::vector<int64_t> perm = to_byte_seq(rand_perm(gen, 256));
  std::array<int64_t, 256> table{};
  std::copy(perm.begin(), perm.end(), table.begin());
  return table;
}

ByteSeq permute_byte_values(const ByteSeq& x, const std::array<int64_t, 256>& table) {
  ByteSeq out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] < 0 || x[i] > 255) {
      throw std::invalid_argument("byte_permutation: expected byte values in 0..255, got " +
                                  std::to_string(x[i]) + " at position " + std::to_string(i));
    }
    out[i] = table[static_cast<size_t>(x[i])];
  }
  return out;
}

const std::vector<std::string>& PrivacyOptions::keys() {
  static const std::vector<std::string> k = {
      "shuffle_bytes.enable",  "shuffle_bytes.mode",         "shuffle_bytes.stride",
      "shuffle_bytes.window_size", "shuffle_bytes.window_shuffle_seed", "mask_positions.enable",
      "mask_positions.keep_frac", "random_uniform.enable",   "random_uniform.width_range",
      "byte_permutation.enable"};
  return k;
}

PrivacyOptions PrivacyOptions::from_config(const Config& c) {
  return detail::read_options<PrivacyOptions>(c, [&](PrivacyOptions& o) {
    const std::string I = kPrefix;
    for (const char* group : {"shuffle_bytes.", "mask_positions.", "random_uniform.", "byte_permutation."}) {
      for (const auto& key : c.keys_with_prefix(I + group)) {
        const auto& known = keys();
        if (std::find(known.begin(), known.end(), key.substr(I.size())) == known.end())
          detail::throw_bad_config(c, key, "one of the privacy options image_augmentation." +
                                               fmt::format("{}", fmt::join(known, ", image_augmentation.")));
      }
    }
    o.shuffle_bytes = c.get_bool(I + "shuffle_bytes.enable", o.shuffle_bytes);
    if (c.is_set(I + "shuffle_bytes.mode")) {
      try {
        o.shuffle_mode = parse_shuffle_mode(c.get_string(I + "shuffle_bytes.mode", ""));
      } catch (const std::invalid_argument&) {
        detail::throw_bad_config(c, I + "shuffle_bytes.mode",
                                 "one of reverse, random_shuffle, cyclic_half_length, stride, window_shuffle");
      }
    }
    o.stride = c.get_int(I + "shuffle_bytes.stride", o.stride);
    o.window_size = c.get_int(I + "shuffle_bytes.window_size", o.window_size);
    const int64_t seed = c.get_int(I + "shuffle_bytes.window_shuffle_seed", static_cast<int64_t>(o.window_shuffle_seed));
    if (seed < 0) detail::throw_bad_config(c, I + "shuffle_bytes.window_shuffle_seed", "a non-negative integer");
    o.window_shuffle_seed = static_cast<uint64_t>(seed);
    o.mask_positions = c.get_bool(I + "mask_positions.enable", o.mask_positions);
    o.keep_frac = c.get_double(I + "mask_positions.keep_frac", o.keep_frac);
    o.random_uniform = c.get_bool(I + "random_uniform.enable", o.random_uniform);
    const auto range = c.get_int_list(I + "random_uniform.width_range", {o.width_lo, o.width_hi});
    if (range.size() != 2) detail::throw_bad_config(c, I + "random_uniform.width_range", "two integers [low, high]");
    o.width_lo = range[0];
    o.width_hi = range[1];
    o.byte_permutation = c.get_bool(I + "byte_permutation.enable", o.byte_permutation);
  });
}

void PrivacyOptions::validate() const {
  if (stride < 1) {
    detail::throw_bad_value("image_augmentation.shuffle_bytes.stride", std::to_string(stride),
                            "a positive integer");
  }
  if (window_size < 1) {
    detail::throw_bad_value("image_augmentation.shuffle_bytes.window_size",
                            std::to_string(window_size), "a positive integer");
  }
  if (!(keep_frac >= 0.0 && keep_frac <= 1.0)) {
    detail::throw_bad_value("image_augmentation.mask_positions.keep_frac",
                            std::to_string(keep_frac), "a fraction in [0, 1]");
  }
  if (width_lo > width_hi) {
    detail::throw_bad_value("image_augmentation.random_uniform.width_range",
                            "[" + std::to_string(width_lo) + ", " + std::to_string(width_hi) + "]",
                            "[low, high] with low <= high");
  }
}

std::vector<std::string> disabled_transform_warnings(const Config& c) {
  std::vector<std::string> warnings;
  for (const std::string t : {"shuffle_bytes", "mask_positions", "random_uniform", "byte_permutation"}) {
    const std::string enable = kPrefix + t + ".enable";
    if (c.is_set(enable)) continue;
    for (const auto& key : c.keys_with_prefix(kPrefix + t + ".")) {
      warnings.push_back(key.substr(std::string(kPrefix).size()) + " is set but " + t +
                         " is not enabled, so it is not applied; add " + t + ".enable=true");
      break;
    }
  }
  return warnings;
}

PrivacyTransform::PrivacyTransform(PrivacyOptions options) : options_(std::move(options)) {
  options_.validate();
  if (options_.shuffle_bytes && options_.shuffle_mode == ShuffleMode::kWindowShuffle) {
    window_perm_ = make_window_permutation(options_.window_size, options_.window_shuffle_seed);
  }
  if (options_.byte_permutation) byte_table_ = byte_permutation_table();
}

std::vector<int64_t> PrivacyTransform::kept_positions(int64_t length) const {
  std::lock_guard<std::mutex> lock(mask_mutex_);
  if (mask_length_ != length) {
    mask_kept_ = mask_positions_kept(length, options_.keep_frac);
    mask_length_ = length;
  }
  return mask_kept_;
}

ByteSeq PrivacyTransform::operator()(const ByteSeq& bytes, torch::Generator& gen) const {
  ByteSeq x = bytes;
  if (options_.shuffle_bytes) {
    switch (options_.shuffle_mode) {
      case ShuffleMode::kReverse: x = reverse_bytes(x); break;
      case ShuffleMode::kRandomShuffle: x = random_shuffle_bytes(x, gen); break;
      case ShuffleMode::kCyclicHalfLength: x = cyclic_half_length(x); break;
      case ShuffleMode::kStride: x = stride_bytes(x, options_.stride); break;
      case ShuffleMode::kWindowShuffle: x = window_shuffle_bytes(x, window_perm_); break;
    }
  }
  if (options_.mask_positions) {
    const std::vector<int64_t> kept = kept_positions(static_cast<int64_t>(x.size()));
    ByteSeq masked;
    masked.reserve(kept.size());
    for (int64_t i : kept) masked.push_back(x[static_cast<size_t>(i)]);
    x = std::move(masked);
  }
  if (options_.random_uniform) {
    x = random_uniform_noise(x, options_.width_lo, options_.width_hi, gen);
  }
  if (options_.byte_permutation) x = permute_byte_values(x, byte_table_);
  return x;
}

torch::Tensor PrivacyTransform::operator()(const torch::Tensor& bytes,
                                           torch::Generator& gen) const {
  return to_tensor((*this)(to_byte_seq(bytes), gen));
}

ByteSeq apply_privacy(const ByteSeq& bytes, const PrivacyOptions& options,
                      torch::Generator& gen) {
  return PrivacyTransform(options)(bytes, gen);
}

torch::Tensor apply_privacy(const torch::Tensor& bytes, const PrivacyOptions& options,
                            torch::Generator& gen) {
  return PrivacyTransform(options)(bytes, gen);
}

}  // namespace byteformer
