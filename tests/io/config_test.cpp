// CoreNet YAML flattening, overrides and typed accessors with errors naming key, value, file.
#include <gtest/gtest.h>

#include <functional>

#include <filesystem>

#include "byteformer/io/config.h"
#include "test_util.h"

namespace byteformer {
namespace {

TEST(Config, FlattensCoreNetsFixtureConfig) {
  const auto path = test::fixtures_dir() + "/corenet-tiny-k8-w32/config.yaml";
  auto c = Config::load_file(path);
  EXPECT_EQ(c.get_string("model.classification.byteformer.mode", ""), "tiny");
  EXPECT_EQ(c.get_int("model.classification.byteformer.max_num_tokens", 0), 2048);
  EXPECT_EQ(c.get_int_list("model.classification.byteformer.window_sizes", {}), (std::vector<int64_t>{32}));
  EXPECT_DOUBLE_EQ(c.get_double("scheduler.cosine.min_lr", 0), 2e-5);
  EXPECT_TRUE(c.get_bool("common.auto_resume", false));
  EXPECT_EQ(c.get_string_list("stats.val", {}), (std::vector<std::string>{"loss", "top1", "top5"}));
  EXPECT_EQ(c.origin("common.accum_freq"), path);
  EXPECT_EQ(c.get_int("not.there", 7), 7);
}

TEST(Config, OverridesUseYamlValuesAndCoreNetDashes) {
  auto c = Config::load_string("model:\n  classification:\n    byteformer:\n      window_sizes: [128]\n");
  c.apply_override("model.classification.byteformer.window-sizes=[32, 64]");
  c.apply_override("--common.seed=5");
  c.apply_override("optim={name: adamw, weight_decay: 0.1}");
  EXPECT_EQ(c.get_int_list("model.classification.byteformer.window_sizes", {}), (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(c.get_int("common.seed", 0), 5);
  EXPECT_DOUBLE_EQ(c.get_double("optim.weight_decay", 0), 0.1);
  EXPECT_EQ(c.origin("common.seed"), "override");
  // A single value where a list is expected is a one-element list (CoreNet's nargs="*").
  c.apply_override("a.b=3");
  EXPECT_EQ(c.get_int_list("a.b", {}), (std::vector<int64_t>{3}));
  // A leaf replaces a subtree of the same name.
  c.apply_override("optim=null");
  EXPECT_FALSE(c.has("optim.name"));
  EXPECT_FALSE(c.is_set("optim"));
}

TEST(Config, ACopyIsIndependentOfItsOriginal) {
  // YAML nodes are references: overriding a key of a copy must not write through to the original.
  const auto original = Config::load_string("common:\n  seed: 1\n  tags: [a, b]\n", "orig.yaml");
  Config copy = original;
  copy.apply_override("common.seed=2");
  copy.apply_override("common.tags=[c]");
  EXPECT_EQ(original.get_int("common.seed", 0), 1);
  EXPECT_EQ(original.get_string_list("common.tags", {}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(original.origin("common.seed"), "orig.yaml");
  EXPECT_EQ(copy.get_int("common.seed", 0), 2);
}

TEST(Config, ErrorsNameKeyValueAndFile) {
  auto c = Config::load_string("dataset:\n  workers: many\n", "cfg.yaml");
  try {
    c.get_int("dataset.workers", 0);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("key 'dataset.workers' = many (in cfg.yaml): expected an integer"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(c.apply_override("no_equals_sign"), std::runtime_error);
  EXPECT_THROW(c.apply_override("a=[1, 2"), std::runtime_error);
  EXPECT_THROW(Config::load_file("/nonexistent.yaml"), std::runtime_error);
  EXPECT_THROW(Config::load_string("- just\n- a list\n"), std::runtime_error);
  try {
    Config::load_string("a: [1, 2\n", "broken.yaml");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("broken.yaml"), std::string::npos);
  }
}

// Bounds before anything grows: the file's size and the number of keys, and no NaN or
// infinity where a number is read.
TEST(Config, SizeKeysAndNonFiniteNumbersAreBounded) {
  const auto error_of = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string dir = test::make_temp_dir("config_bounds");
  std::string big;
  while (big.size() <= static_cast<size_t>(kMaxConfigBytes)) big += "common:\n  seed: 1\n";
  test::write_bytes(dir + "/big.yaml", std::vector<uint8_t>(big.begin(), big.end()));
  EXPECT_NE(error_of([&] { Config::load_file(dir + "/big.yaml"); }).find("config " + dir + "/big.yaml: " + std::to_string(big.size()) + " bytes, more than the 1048576 this reads"),
            std::string::npos)
      << error_of([&] { Config::load_file(dir + "/big.yaml"); });
  std::string many;
  for (size_t i = 0; i <= kMaxConfigKeys; ++i) many += "k" + std::to_string(i) + ": 1\n";
  EXPECT_NE(error_of([&] { Config::load_string(many, "many.yaml"); }).find("config many.yaml: more than 10000 keys"),
            std::string::npos);
  const Config c = Config::load_string("scheduler:\n  lr: .nan\n  max: -.inf\n  ok: 0.5\n", "f.yaml");
  EXPECT_NE(error_of([&] { c.get_double("scheduler.lr", 0); }).find("key 'scheduler.lr' = .nan (in f.yaml): expected a finite number"),
            std::string::npos)
      << error_of([&] { c.get_double("scheduler.lr", 0); });
  EXPECT_NE(error_of([&] { c.get_double("scheduler.max", 0); }).find("expected a finite number"), std::string::npos);
  EXPECT_DOUBLE_EQ(c.get_double("scheduler.ok", 0), 0.5);
  std::filesystem::remove_all(dir);
}

TEST(Config, DuplicateKeysAreErrorsNamingTheKeyAndLines) {
  auto error_of = [](const std::string& yaml) {
    try {
      Config::load_string(yaml, "dup.yaml");
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // yaml-cpp 0.7 keeps both blocks; without the check they merged silently.
  EXPECT_EQ(error_of("common:\n  seed: 1\ndataset:\n  workers: 2\ncommon:\n  log_freq: 3\n"),
            "config dup.yaml: line 5: duplicate key 'common' (first at line 1); each key may appear once");
  EXPECT_EQ(error_of("a:\n  b:\n    c: 1\n    d: 2\n    c: 3\n"),
            "config dup.yaml: line 5: duplicate key 'a.b.c' (first at line 3); each key may appear once");
  EXPECT_EQ(error_of("a: {x: 1, x: 2}\n").find("duplicate key 'a.x'") != std::string::npos, true);
  // The same name at different levels is fine.
  EXPECT_EQ(error_of("a:\n  a: 1\nb:\n  a: 2\n"), "");
  // A directory names its path rather than the stream's "Is a directory".
  const std::string dir = test::make_temp_dir("config_dir");
  try {
    Config::load_file(dir);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "config " + dir + ": is a directory, expected a YAML file");
  }
  std::filesystem::remove_all(dir);
}

TEST(Config, RoundTripsThroughYaml) {
  auto c = Config::load_string("a:\n  b: 1\n  c: [x, y]\nd: true\n");
  auto again = Config::load_string(c.to_yaml());
  EXPECT_EQ(again.get_int("a.b", 0), 1);
  EXPECT_EQ(again.get_string_list("a.c", {}), (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(again.get_bool("d", false));
}

}  // namespace
}  // namespace byteformer
