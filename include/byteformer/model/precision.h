// bf16 autocast for the scope of a guard (CoreNet's common.mixed_precision), on the CPU or on
// CUDA, following the device the model runs on. bf16 on both (its float32 exponent range needs
// no gradient scaler; common.mixed_precision_dtype's float16 is taken as bf16 too). The ATen
// calls changed in LibTorch 2.4, so they are chosen by TORCH_VERSION.
#pragma once

#include <c10/core/DeviceType.h>

#include <optional>
#include <string>
#include <vector>

namespace byteformer {

/// The arithmetic of a forward pass at inference (eval, predict, serve, the C API): float32, or
/// bf16 autocast (CoreNet's common.mixed_precision), or int8 on the CPU: the linear layers (qkv,
/// projection, FFN, classifier) as u8 x s8 products with s32 sums (weights per output channel,
/// activations per row, both quantized at run time; Int8InferenceGuard), the rest in float32.
/// The model's own weights stay float32 in every case.
enum class Precision { kFloat32, kBFloat16, kInt8 };

/// "fp32" (or "float32"), "bf16" (or "bfloat16") and "int8"; anything else throws
/// std::invalid_argument naming the value and the spellings accepted.
Precision parse_precision(const std::string& spelling);
/// "fp32", "bf16" or "int8".
const char* to_string(Precision precision);
/// Every spelling parse_precision accepts (for a CLI's choices; "auto" is not among them).
std::vector<std::string> precision_spellings();
/// One rule for every inference entry point (eval, predict, serve, the C API): `requested`
/// (--precision) when given; else, as CoreNet's evaluation, the config's common.mixed_precision
/// on CUDA (CoreNet's autocast is CUDA's: on a CPU it refuses mixed precision), and float32 on
/// the CPU. Training on the CPU does use bf16 autocast for common.mixed_precision (Trainer).
/// int8 asked for where it cannot run (a device other than the CPU, a build without oneDNN, a CPU
/// without VNNI) throws std::runtime_error saying which: there is no silent fallback.
Precision resolve_precision(const std::optional<Precision>& requested, bool config_mixed_precision,
                            c10::DeviceType device);

/// What `--precision auto` decides from: the build and the CPU (/proc/cpuinfo's vendor_id and
/// flags). Plain values, so that the decision is tested on made-up CPUs.
struct PrecisionFeatures {
  /// oneDNN's products can run (built with it, switched on, and its ISA has the CPU's VNNI);
  /// otherwise `onednn_missing` says why not ("built without oneDNN", ...).
  bool onednn = false;
  std::string onednn_missing;
  std::string onednn_version;  ///< "2.6.3"; empty without oneDNN
  std::string vendor;          ///< "GenuineIntel", "AuthenticAMD", or empty when unknown
  bool avx512_vnni = false;
  bool avx_vnni = false;
  bool avx512_bf16 = false;
  bool amx_bf16 = false;
};

/// This process's build and CPU. `onednn` is false where oneDNN runs without the CPU's VNNI (its
/// ISA capped by DNNL_MAX_CPU_ISA), so that auto never picks an int8 that resolve_precision refuses.
PrecisionFeatures detect_precision_features();

/// The choice of `--precision auto`: the precision (nullopt: the default rule of
/// resolve_precision, off the CPU) and why, in a few words ("oneDNN with AVX512-VNNI").
struct AutoPrecision {
  std::optional<Precision> precision;
  std::string reason;
};

/// `--precision auto` (predict, serve, identify, the C API; not eval, whose default stays float32
/// for exact numbers): the fastest precision whose accuracy docs/PERFORMANCE.md states, from the
/// build and the CPU. On the CPU: int8 with oneDNN and VNNI (AVX512-VNNI or AVX-VNNI: 1.6-1.7x
/// float32, top-1 unchanged); else bf16 where the CPU runs it at full rate (AMX-BF16, or
/// AVX512-BF16 on an AMD CPU: Zen 4 runs it at full rate; an Intel CPU with AVX512-BF16 but no
/// AMX runs bf16 at half the float32 rate); else fp32. On another device, the default rule
/// (nullopt): there int8 does not run and bf16 follows the config's common.mixed_precision.
AutoPrecision choose_auto_precision(const PrecisionFeatures& features,
                                    c10::DeviceType device = c10::DeviceType::CPU);

/// A requested precision: parse_precision's spellings, or "auto" (choose_auto_precision on this
/// process's features for `device`; `chosen`, when given, receives the choice). Anything else
/// throws std::invalid_argument naming the value and what is accepted.
std::optional<Precision> parse_requested_precision(const std::string& spelling, c10::DeviceType device,
                                                   AutoPrecision* chosen = nullptr);

/// Two lines for `byteformer --version`: the precisions this build and CPU run, and auto's choice:
///   precisions: fp32, bf16 (half rate: no AMX), int8 (oneDNN 2.6.3, AVX512-VNNI)
///   precision auto: int8 (oneDNN with AVX512-VNNI)
/// or, without int8, "precisions: fp32, bf16 (...); int8: no (built without oneDNN)".
std::string precision_summary(const PrecisionFeatures& features);

/// True when this LibTorch build has CPU autocast (1.10 and later).
bool cpu_autocast_available();

/// Empty when --precision int8 can run here; otherwise why not (no oneDNN, no VNNI).
std::string int8_unavailable_reason();

/// Whether int8 inference is on in this thread (an Int8InferenceGuard is alive in it).
bool int8_inference_enabled();

/// int8 inference for the scope of a guard, in the calling thread (as autocast is): the CPU
/// inference paths take int8 copies of the linear layers' weights (kept until a weight changes)
/// and run their products in int8. Token merging, the first block's lookups, attention and norms
/// stay float32. Guards nest; the previous state comes back at the end of the scope.
class Int8InferenceGuard {
 public:
  explicit Int8InferenceGuard(bool enabled);
  ~Int8InferenceGuard();
  Int8InferenceGuard(const Int8InferenceGuard&) = delete;
  Int8InferenceGuard& operator=(const Int8InferenceGuard&) = delete;

 private:
  bool previous_;
};

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
