#include "byteformer/io/config_schema.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

namespace byteformer {
namespace {

std::string error_of(const std::string& yaml) {
  try {
    check_config(Config::load_string(yaml, "my.yaml"));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigSchema, AcceptsCoreNetKeysAndReportsTheIgnoredOnes) {
  const Config c = Config::load_string(
      "common: {run_label: train, tensorboard_logging: false, accum_freq: 2}\n"
      "dataset: {pin_memory: true, workers: 10}\n"
      "model: {layer: {global_pool: mean}, activation: {name: gelu},"
      " classification: {name: byteformer, byteformer: {mode: tiny}}}\n"
      "stats: {val: [loss, top1]}\n",
      "my.yaml");
  const ConfigCheck check = check_config(c);
  EXPECT_EQ(check.ignored, (std::vector<std::string>{"common.tensorboard_logging", "dataset.pin_memory",
                                                     "model.activation.name", "model.layer.global_pool", "stats.val"}));
  EXPECT_NE(describe_ignored(check).find("dataset.pin_memory"), std::string::npos);
}

TEST(ConfigSchema, UnknownKeyAndBadValuesNameKeyValueFile) {
  std::string e = error_of("common: {acum_freq: 2}\n");
  EXPECT_NE(e.find("common.acum_freq"), std::string::npos) << e;
  EXPECT_NE(e.find("my.yaml"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key (did you mean 'common.accum_freq'?)"), std::string::npos) << e;
  e = error_of("nothing_like_it: {at_all: 1}\n");  // no key is near: no suggestion
  EXPECT_NE(e.find("unknown key (docs/CONFIG.md lists the keys we read)"), std::string::npos) << e;
  e = error_of("common: {accum_freq: two}\n");
  EXPECT_NE(e.find("common.accum_freq"), std::string::npos) << e;
  EXPECT_NE(e.find("two"), std::string::npos) << e;
  e = error_of("optim: {name: sgd}\n");
  EXPECT_NE(e.find("optim.name"), std::string::npos) << e;
  EXPECT_NE(e.find("sgd"), std::string::npos) << e;
  e = error_of("image_augmentation: {pil_save: {file_encoding: GIF}}\n");
  EXPECT_NE(e.find("GIF"), std::string::npos) << e;
  e = error_of("image_augmentation: {mixup: {enable: true}}\n");
  EXPECT_NE(e.find("image_augmentation.mixup.enable"), std::string::npos) << e;
  EXPECT_EQ(error_of("scheduler: {cosine: {max_lr: 0.001}}\n"), "");
}

TEST(ConfigSchema, KeysMustBeDotSeparatedNames) {
  // A wildcard family (model.layer.*) once let any bytes through; the fuzzer found a key of
  // 0xff bytes that passed the check and then did not survive a YAML round trip.
  std::string e = error_of("model: {layer: {\"\\xff\\xfe\": 1}}\n");
  EXPECT_NE(e.find("dot-separated names"), std::string::npos) << e;
  EXPECT_NE(e.find("my.yaml"), std::string::npos) << e;
  e = error_of("model: {layer: {\"global pool\": mean}}\n");
  EXPECT_NE(e.find("dot-separated names"), std::string::npos) << e;
  e = error_of("model: {layer: {\"\": mean}}\n");
  EXPECT_NE(e.find("dot-separated names"), std::string::npos) << e;
  EXPECT_EQ(error_of("model: {layer: {conv_init-std_dev2: 0.02}}\n"), "");
}

TEST(ConfigSchema, EveryKeyIsListedInDocsConfig) {
  // Errors send users to docs/CONFIG.md for the keys we read: it must list all of them.
  std::ifstream in(std::string(BYTEFORMER_SOURCE_DIR) + "/docs/CONFIG.md");
  ASSERT_TRUE(in) << "docs/CONFIG.md is missing";
  const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& spec : config_schema()) EXPECT_NE(doc.find("`" + spec.key + "`"), std::string::npos) << spec.key;
  EXPECT_NE(error_of("common: {sede: 1}\n").find("docs/CONFIG.md"), std::string::npos) << error_of("common: {sede: 1}\n");
}

}  // namespace
}  // namespace byteformer
