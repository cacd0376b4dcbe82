// bf16 autocast for the scope of a guard (CoreNet's common.mixed_precision), on the CPU or on
// CUDA, following the device the model runs on. bf16 on both (its float32 exponent range needs
// no gradient scaler; common.mixed_precision_dtype's float16 is taken as bf16 too). The ATen
// calls changed in LibTorch 2.4, so they are chosen by TORCH_VERSION.
#pragma once

#include <c10/core/DeviceType.h>

#include <optional>
#include <string>

namespace byteformer {

/// The arithmetic of a forward pass at inference (eval, predict, serve, the C API): float32, or
/// bf16 autocast (CoreNet's common.mixed_precision). The weights stay float32 either way.
enum class Precision { kFloat32, kBFloat16 };

/// "fp32" (or "float32") and "bf16" (or "bfloat16"); anything else throws std::invalid_argument
/// naming the value and the spellings accepted.
Precision parse_precision(const std::string& spelling);
/// "fp32" or "bf16".
const char* to_string(Precision precision);
/// One rule for every inference entry point (eval, predict, serve, the C API): `requested`
/// (--precision) when given; else, as CoreNet's evaluation, the config's common.mixed_precision
/// on CUDA (CoreNet's autocast is CUDA's: on a CPU it refuses mixed precision), and float32 on
/// the CPU. Training on the CPU does use bf16 autocast for common.mixed_precision (Trainer).
Precision resolve_precision(const std::optional<Precision>& requested, bool config_mixed_precision,
                            c10::DeviceType device);

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
