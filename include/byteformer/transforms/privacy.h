// Privacy-preserving byte transforms applied to encoded file bytes (ByteFormer paper, section on
// obfuscation; CoreNet `corenet/data/transforms/image_bytes.py`: ShuffleBytes, MaskPositions,
// RandomUniformNoise, BytePermutation).
//
// Example:
//   Config c = Config::load_string("image_augmentation: {shuffle_bytes: {enable: true, mode: window_shuffle}}");
//   PrivacyOptions opts = PrivacyOptions::from_config(c);
//   PrivacyTransform privacy(opts);
//   torch::Generator gen = make_generator(/*seed=*/0);
//   std::vector<int64_t> out = privacy(file_bytes, gen);
#pragma once
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "byteformer/io/config.h"
#include "byteformer/transforms/byte_seq.h"
#include "byteformer/transforms/rng.h"

namespace byteformer {

/// `image_augmentation.shuffle_bytes.mode`.
enum class ShuffleMode { kReverse, kRandomShuffle, kCyclicHalfLength, kStride, kWindowShuffle };
/// Parses CoreNet's mode name; throws naming the option and the value.
ShuffleMode parse_shuffle_mode(const std::string& name);
std::string to_string(ShuffleMode mode);

/// x reversed.
ByteSeq reverse_bytes(const ByteSeq& x);
/// x[torch.randperm(L)]: a fresh random order for every call.
ByteSeq random_shuffle_bytes(const ByteSeq& x, torch::Generator& gen);
/// torch.roll(x, L // 2): element i moves to (i + L/2) mod L.
ByteSeq cyclic_half_length(const ByteSeq& x);
/// cat(x[0::s], x[1::s], ..., x[s-1::s]).
ByteSeq stride_bytes(const ByteSeq& x, int64_t stride);
/// The window key: torch.randperm(window_size) from a generator seeded `seed`.
std::vector<int64_t> make_window_permutation(int64_t window_size, uint64_t seed);
/// Each full window w of x becomes w[perm]; the tail shorter than a window is unchanged.
ByteSeq window_shuffle_bytes(const ByteSeq& x, const std::vector<int64_t>& perm);

/// Positions mask_positions keeps for a length-L input: the first floor(keep_frac * L) entries
/// of torch.randperm(L) from a generator seeded 2147483647, sorted ascending.
std::vector<int64_t> mask_positions_kept(int64_t length, double keep_frac);
/// x at mask_positions_kept(L, keep_frac), in their original order.
ByteSeq mask_positions(const ByteSeq& x, double keep_frac);

/// (x + n) mod 256 with n an independent integer in [lo, hi] per byte
/// (torch.randint(lo, hi + 1, [L], generator=gen)).
ByteSeq random_uniform_noise(const ByteSeq& x, int64_t lo, int64_t hi, torch::Generator& gen);

/// torch.randperm(256) from a generator seeded 2147483647.
std::array<int64_t, 256> byte_permutation_table();
/// v -> table[v]; throws if a value is outside 0..255.
ByteSeq permute_byte_values(const ByteSeq& x, const std::array<int64_t, 256>& table);

/// The byte-level options, named by CoreNet's YAML keys under `image_augmentation.`.
struct PrivacyOptions {
  // shuffle_bytes.{enable,mode,stride,window_size}
  bool shuffle_bytes = false;
  ShuffleMode shuffle_mode = ShuffleMode::kReverse;
  int64_t stride = 1024;
  int64_t window_size = 1024;
  /// shuffle_bytes.window_shuffle_seed (ours): CoreNet draws a new window permutation every
  /// batch from the global RNG; we fix it from this seed so it acts as a key.
  uint64_t window_shuffle_seed = kCoreNetPrivacySeed;
  // mask_positions.{enable,keep_frac}
  bool mask_positions = false;
  double keep_frac = 0.5;
  // random_uniform.{enable,width_range}
  bool random_uniform = false;
  int64_t width_lo = -5;
  int64_t width_hi = 5;
  // byte_permutation.enable
  bool byte_permutation = false;

  /// Reads the `image_augmentation.` keys above, then validates. An unknown key under one of the
  /// four transforms, or a bad value, throws std::invalid_argument naming key, value and file.
  static PrivacyOptions from_config(const Config& config);
  /// The keys read, without the `image_augmentation.` prefix (e.g. "shuffle_bytes.mode").
  static const std::vector<std::string>& keys();
  /// Throws std::invalid_argument naming the key and value of the first bad option.
  void validate() const;
  bool any_enabled() const {
    return shuffle_bytes || mask_positions || random_uniform || byte_permutation;
  }
};

/// One warning for every transform that `config` configures (e.g. shuffle_bytes.mode) without
/// setting its `.enable`: CoreNet applies only enabled transforms, so those options have no
/// effect. Empty when there is none. (`byteformer encode --privacy` prints them.)
std::vector<std::string> disabled_transform_warnings(const Config& config);

/// Applies the enabled transforms in CoreNet's order: shuffle_bytes -> mask_positions ->
/// random_uniform -> byte_permutation. Keys (window permutation, byte permutation, masks)
/// are computed once; thread-safe (the generator is the caller's).
class PrivacyTransform {
 public:
  explicit PrivacyTransform(PrivacyOptions options);

  ByteSeq operator()(const ByteSeq& bytes, torch::Generator& gen) const;
  /// bytes: int64 [L] -> int64 [L'].
  torch::Tensor operator()(const torch::Tensor& bytes, torch::Generator& gen) const;

  const PrivacyOptions& options() const { return options_; }

 private:
  std::vector<int64_t> kept_positions(int64_t length) const;

  PrivacyOptions options_;
  std::vector<int64_t> window_perm_;
  std::array<int64_t, 256> byte_table_{};
  mutable std::mutex mask_mutex_;
  mutable int64_t mask_length_ = -1;
  mutable std::vector<int64_t> mask_kept_;
};

/// One-shot form of PrivacyTransform (recomputes the keys each call).
ByteSeq apply_privacy(const ByteSeq& bytes, const PrivacyOptions& options, torch::Generator& gen);
torch::Tensor apply_privacy(const torch::Tensor& bytes, const PrivacyOptions& options,
                            torch::Generator& gen);

}  // namespace byteformer
