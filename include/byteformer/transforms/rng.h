// Seeded random draws shared by every transform.
//
// All randomness goes through an explicit torch::Generator (a CPU Philox/MT generator owned by
// the caller), and every draw uses the same ATen kernel PyTorch uses (torch.rand, torch.randint,
// torch.randperm, Tensor.uniform_), so a transform that CoreNet drives with torch's RNG makes the
// same draws here for the same generator state.
#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace byteformer {

/// A CPU generator seeded like `torch.Generator().manual_seed(seed)`.
torch::Generator make_generator(uint64_t seed);

/// `torch.rand(1, generator=gen).item()`: a float32 draw in [0, 1), widened.
double rand_uniform(torch::Generator& gen);

/// `torch.empty(1).uniform_(lo, hi, generator=gen).item()`: float32 uniform in [lo, hi).
double rand_uniform(torch::Generator& gen, double lo, double hi);

/// `torch.randint(lo, hi, (1,), generator=gen).item()`: an integer in [lo, hi). Requires lo < hi.
int64_t rand_int(torch::Generator& gen, int64_t lo, int64_t hi);

/// `torch.randperm(n, generator=gen)` as int64 [n].
torch::Tensor rand_perm(torch::Generator& gen, int64_t n);

/// The seed CoreNet uses for its fixed privacy keys (mask_positions, byte_permutation).
inline constexpr uint64_t kCoreNetPrivacySeed = 2147483647;

}  // namespace byteformer
