// bf16 autocast for the scope of a guard (CoreNet's common.mixed_precision), on the CPU or on
// CUDA, following the device the model runs on. bf16 on both (its float32 exponent range needs
// no gradient scaler; common.mixed_precision_dtype's float16 is taken as bf16 too). The ATen
// calls changed in LibTorch 2.4, so they are chosen by TORCH_VERSION.
#pragma once

#include <c10/core/DeviceType.h>

namespace byteformer {

/// True when this LibTorch build has CPU autocast (1.10 and later).
bool cpu_autocast_available();

class AutocastGuard {
 public:
  /// `device`: where the guarded operations run (kCPU or kCUDA); other devices get no autocast.
  explicit AutocastGuard(bool enabled, c10::DeviceType device = c10::DeviceType::CPU);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_;
  c10::DeviceType device_;
  bool previous_ = false;
};

}  // namespace byteformer
