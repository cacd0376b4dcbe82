#include "byteformer/transforms/rng.h"

#include <ATen/CPUGeneratorImpl.h>

#include <stdexcept>
#include <string>

namespace byteformer {

torch::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

double rand_uniform(torch::Generator& gen) {
  return torch::rand({1}, gen, torch::kFloat32).item<float>();
}

double rand_uniform(torch::Generator& gen, double lo, double hi) {
  return torch::empty({1}, torch::kFloat32).uniform_(lo, hi, gen).item<float>();
}

int64_t rand_int(torch::Generator& gen, int64_t lo, int64_t hi) {
  if (lo >= hi) {
    throw std::invalid_argument("rand_int: expected lo < hi, got lo=" + std::to_string(lo) +
                                " hi=" + std::to_string(hi));
  }
  return torch::randint(lo, hi, {1}, gen, torch::kInt64).item<int64_t>();
}

torch::Tensor rand_perm(torch::Generator& gen, int64_t n) {
  return torch::randperm(n, gen, torch::kInt64);
}

}  // namespace byteformer
