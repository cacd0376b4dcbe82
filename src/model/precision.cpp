#include "byteformer/model/precision.h"

#include <ATen/autocast_mode.h>
#include <fmt/format.h>
#include <torch/version.h>

#include <stdexcept>

namespace byteformer {

Precision parse_precision(const std::string& spelling) {
  if (spelling == "fp32" || spelling == "float32") return Precision::kFloat32;
  if (spelling == "bf16" || spelling == "bfloat16") return Precision::kBFloat16;
  throw std::invalid_argument(fmt::format("precision '{}': expected fp32 (float32) or bf16 (bfloat16)", spelling));
}

const char* to_string(Precision precision) { return precision == Precision::kBFloat16 ? "bf16" : "fp32"; }

Precision resolve_precision(const std::optional<Precision>& requested, bool config_mixed_precision,
                            c10::DeviceType device) {
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
