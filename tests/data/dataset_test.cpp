#include "byteformer/data/dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "byteformer/data/class_folders.h"
#include "byteformer/data/speech_commands.h"
#include "byteformer/io/config.h"
#include "train/tiny_data.h"

namespace byteformer {
namespace {

TEST(ImageFolder, SortedClassesAndLabels) {
  const std::string root = test::make_temp_dir("imgfolder");
  test::make_tiny_images(root, 3, 1, /*broken=*/false);
  const auto index = scan_image_folder(root + "/train");
  ASSERT_EQ(index.classes, (std::vector<std::string>{"blue", "red"}));
  ASSERT_EQ(index.size(), 6u);
  EXPECT_EQ(index.samples[0].label, 0);
  EXPECT_EQ(index.samples[5].label, 1);
  EXPECT_GT(index.samples[0].file_bytes, 0);
  EXPECT_THROW(scan_image_folder(root + "/missing"), std::runtime_error);
  std::filesystem::remove_all(root);
}

TEST(SpeechCommands, RawLayoutSplitsUnknownAndSilence) {
  const std::string root = test::make_temp_dir("sc");
  test::make_tiny_speech_commands(root, 10);
  const auto classes = speech_commands_classes();
  EXPECT_EQ(classes, (std::vector<std::string>{"down", "go", "left", "no", "off", "on", "right", "silence", "stop",
                                               "unknown", "up", "yes"}));
  const auto train = load_speech_commands(root, Split::kTrain, 5);
  // 8 yes + 8 no keyword clips; unknown and silence each ceil(10% of 16) = 2.
  int64_t per_class[12] = {};
  for (const auto& s : train.samples) ++per_class[s.label];
  EXPECT_EQ(per_class[11], 8);  // yes
  EXPECT_EQ(per_class[3], 8);   // no
  EXPECT_EQ(per_class[9], 2);   // unknown
  EXPECT_EQ(per_class[7], 2);   // silence
  for (const auto& s : train.samples)
    if (s.label == 7) EXPECT_GE(s.offset, 0);
  const auto again = load_speech_commands(root, Split::kTrain, 5);
  ASSERT_EQ(again.size(), train.size());
  for (size_t i = 0; i < train.size(); ++i) {
    EXPECT_EQ(again.samples[i].path, train.samples[i].path);
    EXPECT_EQ(again.samples[i].offset, train.samples[i].offset);
  }
  const auto val = load_speech_commands(root, Split::kValidation, 0);
  // yes, no keyword clips + ceil(0.2) = 1 unknown + 1 silence.
  EXPECT_EQ(val.size(), 4u);
  EXPECT_EQ(train.noise_files.size(), 1u);
  std::filesystem::remove_all(root);
}

TEST(SpeechCommands, ManifestLayout) {
  const std::string root = test::make_temp_dir("scm");
  test::make_tiny_speech_commands(root, 3);
  std::ofstream(root + "/validation_manifest.json")
      << R"({"audio_filepath": "yes/clip0_nohash_0.wav", "duration": 0.125, "command": "yes"})" << "\n"
      << R"({"audio_filepath": "no/clip0_nohash_0.wav", "duration": 0.125, "command": "no"})" << "\n";
  const auto val = load_speech_commands(root, Split::kValidation, 0);
  EXPECT_EQ(val.classes, (std::vector<std::string>{"no", "yes"}));
  ASSERT_EQ(val.size(), 2u);
  EXPECT_EQ(val.samples[0].label, 1);
  std::ofstream(root + "/test_manifest.json") << "{not json\n";
  try {
    load_speech_commands(root, Split::kTest, 0);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("test_manifest.json:1"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(root);
}

TEST(LoadDataset, NamesTheKeyOfAMissingRoot) {
  Config c = Config::load_string("dataset:\n  root_train: /nonexistent/x\n", "cfg.yaml");
  try {
    load_dataset(c, Split::kTrain, 0);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("dataset.root_train"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace byteformer
