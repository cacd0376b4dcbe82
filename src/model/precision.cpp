#include "byteformer/model/precision.h"

#include <ATen/autocast_mode.h>
#include <fmt/format.h>
#include <torch/version.h>

#include <stdexcept>

#include "model/cpu/fast_linear.h"

namespace byteformer {

Precision parse_precision(const std::string& spelling) {
  if (spelling == "fp32" || spelling == "float32") return Precision::kFloat32;
  if (spelling == "bf16" || spelling == "bfloat16") return Precision::kBFloat16;
  if (spelling == "int8") return Precision::kInt8;
  throw std::invalid_argument(
      fmt::format("precision '{}': expected fp32 (float32), bf16 (bfloat16) or int8", spelling));
}

const char* to_string(Precision precision) {
  switch (precision) {
    case Precision::kBFloat16: return "bf16";
    case Precision::kInt8: return "int8";
    default: return "fp32";
  }
}

std::vector<std::string> precision_spellings() { return {"fp32", "float32", "bf16", "bfloat16", "int8"}; }

std::string int8_unavailable_reason() { return int8_products_missing(); }

namespace {
thread_local bool int8_inference = false;
}  // namespace

bool int8_inference_enabled() { return int8_inference; }

Int8InferenceGuard::Int8InferenceGuard(bool enabled) : previous_(int8_inference) {
  if (enabled) int8_inference = true;
}

Int8InferenceGuard::~Int8InferenceGuard() { int8_inference = previous_; }

Precision resolve_precision(const std::optional<Precision>& requested, bool config_mixed_precision,
                            c10::DeviceType device) {
  if (requested == Precision::kInt8) {
    if (device != c10::DeviceType::CPU)
      throw std::runtime_error("precision int8: runs on the CPU only (--device cpu); bf16 on a GPU");
    if (const auto why = int8_products_missing(); !why.empty())
      throw std::runtime_error("precision int8: " + why + "; --precision fp32 or bf16 instead");
  }
  if (requested) return *requested;
  return config_mixed_precision && device == c10::DeviceType::CUDA ? Precision::kBFloat16 : Precision::kFloat32;
}

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define BF_AUTOCAST_NEW_API 1
#else
#define BF_AUTOCAST_NEW_API 0
#endif

namespace {

bool is_enabled(c10::DeviceType device) {
#if BF_AUTOCAST_NEW_API
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

void set_enabled(c10::DeviceType device, bool on) {
#if BF_AUTOCAST_NEW_API
  at::autocast::set_autocast_enabled(device, on);
#else
  if (device == c10::DeviceType::CUDA)
    at::autocast::set_enabled(on);
  else
    at::autocast::set_cpu_enabled(on);
#endif
}

void set_bf16(c10::DeviceType device) {
#if BF_AUTOCAST_NEW_API
  at::autocast::set_autocast_dtype(device, at::kBFloat16);
#else
  if (device == c10::DeviceType::CUDA)
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  else
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
#endif
}

}  // namespace

bool cpu_autocast_available() { return true; }

AutocastGuard::AutocastGuard(bool enabled, c10::DeviceType device)
    : enabled_(enabled && (device == c10::DeviceType::CPU || device == c10::DeviceType::CUDA)), device_(device) {
  if (!enabled_) return;
  previous_ = is_enabled(device_);
  set_bf16(device_);
  set_enabled(device_, true);
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
  set_enabled(device_, previous_);
  at::autocast::clear_cache();
}

}  // namespace byteformer
