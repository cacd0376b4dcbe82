#include "byteformer/model/precision.h"

#include <ATen/autocast_mode.h>
#include <fmt/format.h>
#include <torch/version.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "byteformer/runtime/runtime.h"
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

PrecisionFeatures detect_precision_features() {
  PrecisionFeatures f;
  std::ifstream cpuinfo("/proc/cpuinfo");
  bool have_vendor = false, have_flags = false;
  for (std::string line; (!have_vendor || !have_flags) && std::getline(cpuinfo, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : std::string();
    if (key == "vendor_id" && !have_vendor) {
      f.vendor = value;
      have_vendor = true;
    } else if (key == "flags" && !have_flags) {
      std::istringstream words(value);
      for (std::string w; words >> w;) {
        if (w == "avx512_vnni") f.avx512_vnni = true;
        if (w == "avx_vnni") f.avx_vnni = true;
        if (w == "avx512_bf16") f.avx512_bf16 = true;
        if (w == "amx_bf16") f.amx_bf16 = true;
      }
      have_flags = true;
    }
  }
  f.onednn_version = onednn_version();
  if (!onednn_built()) {
    f.onednn_missing = "built without oneDNN";
  } else if (!onednn_enabled()) {
    f.onednn_missing = "oneDNN switched off: BYTEFORMER_ONEDNN=0";
  } else if ((f.avx512_vnni || f.avx_vnni) && !int8_products()) {
    f.onednn_missing = "oneDNN runs here without VNNI (its ISA capped: DNNL_MAX_CPU_ISA)";
  } else {
    f.onednn = true;
  }
  return f;
}

namespace {

bool int8_runs(const PrecisionFeatures& f) { return f.onednn && (f.avx512_vnni || f.avx_vnni); }

const char* vnni_name(const PrecisionFeatures& f) { return f.avx512_vnni ? "AVX512-VNNI" : "AVX-VNNI"; }

std::string int8_missing(const PrecisionFeatures& f) {
  if (!f.onednn) return f.onednn_missing.empty() ? "no oneDNN" : f.onednn_missing;
  return "no VNNI on this CPU";
}

// How this CPU runs bf16 products: at the float32 rate or better (`full`), or what it lacks.
struct Bf16Rate {
  bool full;
  std::string what;
};

Bf16Rate bf16_rate(const PrecisionFeatures& f) {
  if (f.amx_bf16) return {true, "AMX-BF16"};
  if (f.avx512_bf16 && f.vendor == "AuthenticAMD") return {true, "AVX512-BF16 on AMD"};
  if (f.avx512_bf16) return {false, "half rate: no AMX"};
  return {false, "emulated: no AVX512-BF16 or AMX"};
}

}  // namespace

AutoPrecision choose_auto_precision(const PrecisionFeatures& f, c10::DeviceType device) {
  if (device != c10::DeviceType::CPU)
    return {std::nullopt, fmt::format("on {}: int8 runs on the CPU only; bf16 when the config sets "
                                      "common.mixed_precision, else fp32",
                                      c10::DeviceTypeName(device, /*lower_case=*/true))};
  if (int8_runs(f)) return {Precision::kInt8, fmt::format("oneDNN with {}", vnni_name(f))};
  const Bf16Rate bf16 = bf16_rate(f);
  if (bf16.full) return {Precision::kBFloat16, fmt::format("{} runs bf16 at full rate; int8: {}", bf16.what, int8_missing(f))};
  return {Precision::kFloat32, fmt::format("int8: {}; bf16: {}", int8_missing(f), bf16.what)};
}

std::optional<Precision> parse_requested_precision(const std::string& spelling, c10::DeviceType device,
                                                   AutoPrecision* chosen) {
  if (spelling == "auto") {
    AutoPrecision choice = choose_auto_precision(detect_precision_features(), device);
    if (chosen) *chosen = choice;
    return choice.precision;
  }
  for (const auto& s : precision_spellings())
    if (s == spelling) return parse_precision(spelling);
  throw std::invalid_argument(
      fmt::format("precision '{}': expected fp32 (float32), bf16 (bfloat16), int8 or auto", spelling));
}

std::string precision_summary(const PrecisionFeatures& f) {
  const Bf16Rate bf16 = bf16_rate(f);
  std::string out = fmt::format("precisions: fp32, bf16 ({}{})", bf16.full ? "full rate: " : "", bf16.what);
  if (int8_runs(f))
    out += fmt::format(", int8 (oneDNN {}, {})", f.onednn_version, vnni_name(f));
  else
    out += fmt::format("; int8: no ({})", int8_missing(f));
  const AutoPrecision choice = choose_auto_precision(f);
  out += fmt::format("\nprecision auto: {} ({})", to_string(*choice.precision), choice.reason);
  return out;
}

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
