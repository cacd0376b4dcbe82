#include "byteformer/model/device.h"

#include <fmt/format.h>

#include <stdexcept>

namespace byteformer {

int64_t cuda_device_count() { return static_cast<int64_t>(torch::cuda::device_count()); }

bool is_device_spelling(const std::string& spec) {
  if (spec == "cpu" || spec == "cuda" || spec == "gpu" || spec == "auto") return true;
  return spec.rfind("cuda:", 0) == 0 && spec.size() > 5 && spec.size() <= 8 &&
         spec.find_first_not_of("0123456789", 5) == std::string::npos;
}

torch::Device resolve_device(const std::string& spec, int64_t local_rank, const std::string& flag) {
  const int64_t count = cuda_device_count();
  auto cuda = [&](int64_t index, bool explicit_index) {
    if (count == 0) {
#ifdef BYTEFORMER_WITH_CUDA
      const char* why = "this build has CUDA, but no GPU is visible to it";
#else
      const char* why = "this build's LibTorch has no CUDA: Debian's libtorch-dev is CPU only, scripts/build.sh "
                        "--torch pip builds with CUDA";
#endif
      throw std::invalid_argument(fmt::format("{} {}: no CUDA device here ({}); use {} cpu", flag, spec, why, flag));
    }
    if (index >= count)
      throw std::invalid_argument(fmt::format("{} {}: CUDA device {} requested{}, but {} visible", flag, spec, index,
                                              explicit_index ? "" : " (LOCAL_RANK)", count));
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  };
  if (!is_device_spelling(spec))
    throw std::invalid_argument(fmt::format("{} {}: expected cpu, cuda, cuda:N or auto", flag, spec));
  if (spec == "cpu") return torch::Device(torch::kCPU);
  if (spec == "auto") return count > 0 ? cuda(local_rank % count, false) : torch::Device(torch::kCPU);
  if (spec == "cuda" || spec == "gpu") return cuda(local_rank, false);
  return cuda(std::stoll(spec.substr(5)), true);  // cuda:N, N of 1-3 digits
}

void configure_cuda_matmul(bool allow_tf32, const torch::Device& device) {
  if (!device.is_cuda()) return;
  at::globalContext().setAllowTF32CuBLAS(allow_tf32);
}

std::string device_name(const torch::Device& device) {
  if (device.is_cpu()) return "cpu";
  return fmt::format("cuda:{}", device.has_index() ? static_cast<int>(device.index()) : 0);
}

torch::Device module_device(const torch::nn::Module& module) {
  const auto params = module.parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

}  // namespace byteformer
