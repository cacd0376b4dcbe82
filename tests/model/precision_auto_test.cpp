// --precision auto's decision (choose_auto_precision) on made-up CPUs, one per branch, and the
// lines of `byteformer --version` (precision_summary) that say what this build and CPU run.
#include <gtest/gtest.h>

#include "byteformer/model/precision.h"

namespace byteformer {
namespace {

PrecisionFeatures intel() {
  PrecisionFeatures f;
  f.onednn = true;
  f.onednn_version = "2.6.3";
  f.vendor = "GenuineIntel";
  return f;
}

PrecisionFeatures amd() {
  PrecisionFeatures f = intel();
  f.vendor = "AuthenticAMD";
  return f;
}

PrecisionFeatures without_onednn(PrecisionFeatures f) {
  f.onednn = false;
  f.onednn_missing = "built without oneDNN";
  f.onednn_version.clear();
  return f;
}

TEST(AutoPrecision, Int8WithOneDnnAndAvx512Vnni) {
  PrecisionFeatures f = intel();
  f.avx512_vnni = f.avx_vnni = f.avx512_bf16 = true;  // Xeon-2 (Cooper Lake class)
  const AutoPrecision a = choose_auto_precision(f);
  EXPECT_EQ(a.precision, Precision::kInt8);
  EXPECT_EQ(a.reason, "oneDNN with AVX512-VNNI");
  f.amx_bf16 = true;  // Sapphire Rapids: int8 still first
  EXPECT_EQ(choose_auto_precision(f).precision, Precision::kInt8);
}

TEST(AutoPrecision, Int8WithOneDnnAndAvxVnni) {
  PrecisionFeatures f = intel();
  f.avx_vnni = true;  // Alder Lake: AVX-VNNI without AVX-512
  const AutoPrecision a = choose_auto_precision(f);
  EXPECT_EQ(a.precision, Precision::kInt8);
  EXPECT_EQ(a.reason, "oneDNN with AVX-VNNI");
}

TEST(AutoPrecision, Int8OnAmdWithVnni) {
  PrecisionFeatures f = amd();
  f.avx512_vnni = f.avx512_bf16 = true;  // Zen 4
  EXPECT_EQ(choose_auto_precision(f).precision, Precision::kInt8);
}

TEST(AutoPrecision, Bf16WithAmxWhenInt8CannotRun) {
  PrecisionFeatures f = without_onednn(intel());
  f.avx512_vnni = f.avx512_bf16 = f.amx_bf16 = true;
  const AutoPrecision a = choose_auto_precision(f);
  EXPECT_EQ(a.precision, Precision::kBFloat16);
  EXPECT_EQ(a.reason, "AMX-BF16 runs bf16 at full rate; int8: built without oneDNN");
}

TEST(AutoPrecision, Bf16OnAmdWithAvx512Bf16WhenInt8CannotRun) {
  PrecisionFeatures f = without_onednn(amd());
  f.avx512_vnni = f.avx512_bf16 = true;
  const AutoPrecision a = choose_auto_precision(f);
  EXPECT_EQ(a.precision, Precision::kBFloat16);
  EXPECT_EQ(a.reason, "AVX512-BF16 on AMD runs bf16 at full rate; int8: built without oneDNN");
}

// An Intel CPU with AVX512-BF16 but no AMX runs bf16 at half the float32 rate: fp32.
TEST(AutoPrecision, Fp32OnIntelWithAvx512Bf16ButNoAmx) {
  PrecisionFeatures f = intel();
  f.onednn = false;
  f.onednn_missing = "oneDNN switched off: BYTEFORMER_ONEDNN=0";
  f.avx512_vnni = f.avx512_bf16 = true;
  const AutoPrecision a = choose_auto_precision(f);
  EXPECT_EQ(a.precision, Precision::kFloat32);
  EXPECT_EQ(a.reason, "int8: oneDNN switched off: BYTEFORMER_ONEDNN=0; bf16: half rate: no AMX");
}

TEST(AutoPrecision, Fp32WithoutVnniOrBf16) {
  const AutoPrecision a = choose_auto_precision(intel());  // oneDNN, but an AVX2-only CPU
  EXPECT_EQ(a.precision, Precision::kFloat32);
  EXPECT_EQ(a.reason, "int8: no VNNI on this CPU; bf16: emulated: no AVX512-BF16 or AMX");
  EXPECT_EQ(choose_auto_precision(PrecisionFeatures{}).precision, Precision::kFloat32);  // nothing known
}

// Off the CPU int8 does not run: auto leaves the choice to the default rule.
TEST(AutoPrecision, DefaultRuleOffTheCpu) {
  PrecisionFeatures f = intel();
  f.avx512_vnni = true;
  const AutoPrecision a = choose_auto_precision(f, c10::DeviceType::CUDA);
  EXPECT_FALSE(a.precision.has_value());
  EXPECT_NE(a.reason.find("on cuda: int8 runs on the CPU only"), std::string::npos) << a.reason;
}

TEST(AutoPrecision, SummaryNamesWhatRunsAndWhatAutoPicks) {
  PrecisionFeatures f = intel();
  f.avx512_vnni = f.avx512_bf16 = true;
  EXPECT_EQ(precision_summary(f),
            "precisions: fp32, bf16 (half rate: no AMX), int8 (oneDNN 2.6.3, AVX512-VNNI)\n"
            "precision auto: int8 (oneDNN with AVX512-VNNI)");
  PrecisionFeatures amx = without_onednn(intel());
  amx.avx512_bf16 = amx.amx_bf16 = true;
  EXPECT_EQ(precision_summary(amx),
            "precisions: fp32, bf16 (full rate: AMX-BF16); int8: no (built without oneDNN)\n"
            "precision auto: bf16 (AMX-BF16 runs bf16 at full rate; int8: built without oneDNN)");
}

TEST(AutoPrecision, RequestedSpellings) {
  EXPECT_EQ(parse_requested_precision("int8", c10::DeviceType::CPU), Precision::kInt8);
  EXPECT_EQ(parse_requested_precision("float32", c10::DeviceType::CPU), Precision::kFloat32);
  AutoPrecision chosen;
  const auto p = parse_requested_precision("auto", c10::DeviceType::CPU, &chosen);
  EXPECT_EQ(p, chosen.precision);
  EXPECT_EQ(p, choose_auto_precision(detect_precision_features()).precision);
  EXPECT_FALSE(chosen.reason.empty());
  try {
    parse_requested_precision("fp16", c10::DeviceType::CPU);
    FAIL() << "fp16 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "precision 'fp16': expected fp32 (float32), bf16 (bfloat16), int8 or auto");
  }
}

// What this process detects agrees with what int8 needs: auto never picks an int8 that
// resolve_precision refuses.
TEST(AutoPrecision, DetectedChoiceRunsHere) {
  const PrecisionFeatures f = detect_precision_features();
  const AutoPrecision a = choose_auto_precision(f);
  ASSERT_TRUE(a.precision.has_value());
  if (a.precision == Precision::kInt8) EXPECT_EQ(int8_unavailable_reason(), "");
  EXPECT_NO_THROW(resolve_precision(a.precision, /*config_mixed_precision=*/false, c10::DeviceType::CPU));
}

}  // namespace
}  // namespace byteformer
