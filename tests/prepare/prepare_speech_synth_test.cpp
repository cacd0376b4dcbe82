// `byteformer data speech-synth` (src/data/prepare_speech_synth.cpp) on a small set of speakers:
// Google's layout and lists, 16 kHz mono 1 s clips, voice-disjoint splits, the dataset loader
// reading it, and byte-identical output for a seed whatever the thread count.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "byteformer/codec/audio_decoder.h"
#include "byteformer/prepare/prepare_speech_synth.h"
#include "byteformer/data/speech_commands.h"
#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

TEST(PlaceClip, PadsCutsAndShifts) {
  const std::vector<float> clip = {1, 2, 3};
  EXPECT_EQ(place_clip(clip, 5, 0), (std::vector<float>{1, 2, 3, 0, 0}));
  EXPECT_EQ(place_clip(clip, 5, 3), (std::vector<float>{0, 0, 0, 1, 2}));
  EXPECT_EQ(place_clip(clip, 2, -1), (std::vector<float>{2, 3}));
}

bool have_espeak() { return std::system("command -v espeak-ng >/dev/null 2>&1") == 0; }

std::string synth(const std::string& out, const std::string& extra) {
  const auto r = test::run_command(test::cli_path() + " data speech-synth --out " + out +
                                   " --limit 10 --noise-seconds 2 " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  return r.out;
}

std::vector<std::string> lines(const std::string& path) {
  std::istringstream in(test::read_text(path));
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// Every file under `dir`, relative path -> bytes.
std::map<std::string, std::vector<uint8_t>> all_files(const std::string& dir) {
  std::map<std::string, std::vector<uint8_t>> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = test::read_bytes(e.path().string());
  return out;
}

class SpeechSynth : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_espeak()) GTEST_SKIP() << "espeak-ng is not installed (apt-get install espeak-ng)";
  }
};

TEST_F(SpeechSynth, LayoutListsFormatAndVoiceDisjointSplits) {
  const std::string out = test::make_temp_dir("speech");
  synth(out, "--seed 3 --threads 2");
  // Keywords, unknown words, noise, lists.
  for (const char* kw : kSpeechCommandsKeywords) EXPECT_TRUE(fs::is_directory(out + "/" + kw)) << kw;
  int noise = 0;
  for (const auto& e : fs::directory_iterator(out + "/_background_noise_")) {
    const auto bytes = test::read_bytes(e.path().string());
    const Audio a = decode_audio(bytes, e.path().string());
    EXPECT_EQ(a.sample_rate, 16000);
    EXPECT_EQ(a.channels, 1);
    EXPECT_EQ(a.frames(), 32000u);  // --noise-seconds 2
    ++noise;
  }
  EXPECT_GE(noise, 4);

  // Speakers: id -> split and voice; a voice variant (the timbre) is in one split only.
  std::map<std::string, std::string> split_of;
  std::map<std::string, std::set<std::string>> splits_of_variant;
  const auto table = lines(out + "/speakers.tsv");
  ASSERT_EQ(table.size(), 11u);  // header + 8 train + 1 validation + 1 test (--limit 10)
  for (size_t i = 1; i < table.size(); ++i) {
    std::istringstream row(table[i]);
    std::string id, split, voice;
    row >> id >> split >> voice;
    split_of[id] = split;
    splits_of_variant[voice.substr(voice.find('+') + 1)].insert(split);
  }
  for (const auto& [variant, splits] : splits_of_variant) EXPECT_EQ(splits.size(), 1u) << variant;

  auto speaker = [](const std::string& rel) {
    const std::string file = rel.substr(rel.find('/') + 1);
    return file.substr(0, file.find("_nohash_"));
  };
  const auto validation = lines(out + "/validation_list.txt");
  const auto testing = lines(out + "/testing_list.txt");
  EXPECT_FALSE(validation.empty());
  EXPECT_FALSE(testing.empty());
  for (const auto& rel : validation) EXPECT_EQ(split_of.at(speaker(rel)), "validation") << rel;
  for (const auto& rel : testing) EXPECT_EQ(split_of.at(speaker(rel)), "test") << rel;

  // Every clip: 16 kHz mono, exactly 1 s, not silent; listed clips exist.
  int clips = 0;
  for (const auto& dir : fs::directory_iterator(out)) {
    if (!dir.is_directory() || dir.path().filename() == "_background_noise_") continue;
    for (const auto& f : fs::directory_iterator(dir.path())) {
      const auto bytes = test::read_bytes(f.path().string());
      const Audio a = decode_audio(bytes, f.path().string());
      ASSERT_EQ(a.sample_rate, 16000) << f.path();
      ASSERT_EQ(a.channels, 1) << f.path();
      ASSERT_EQ(a.frames(), 16000u) << f.path();
      float peak = 0;
      for (float v : a.samples) peak = std::max(peak, std::fabs(v));
      EXPECT_GT(peak, 0.1f) << f.path();
      ++clips;
    }
  }
  EXPECT_EQ(clips, 10 * 12);  // 10 speakers x (10 keywords + 2 unknown words)
  for (const auto& rel : validation) EXPECT_TRUE(fs::exists(out + "/" + rel)) << rel;

  // The Speech Commands loader reads it: 12 classes, splits as listed.
  const DatasetIndex val = load_speech_commands(out, Split::kValidation, 0);
  EXPECT_EQ(val.classes.size(), 12u);
  EXPECT_FALSE(val.noise_files.empty());
  const DatasetIndex train = load_speech_commands(out, Split::kTrain, 0);
  EXPECT_GE(train.size(), 80u);

  // A second run with the same options reuses the files.
  EXPECT_NE(synth(out, "--seed 3 --threads 2").find("reusing"), std::string::npos);
  fs::remove_all(out);
}

TEST_F(SpeechSynth, SameSeedSameBytesWhateverTheThreads) {
  const std::string a = test::make_temp_dir("speech_a"), b = test::make_temp_dir("speech_b"),
                    c = test::make_temp_dir("speech_c");
  synth(a, "--seed 5 --threads 2");
  synth(b, "--seed 5 --threads 1");
  synth(c, "--seed 6 --threads 2");
  const auto fa = all_files(a), fb = all_files(b), fc = all_files(c);
  ASSERT_EQ(fa.size(), fb.size());
  for (const auto& [path, bytes] : fa) {
    if (path.find(".byteformer") != std::string::npos) continue;
    ASSERT_TRUE(fb.count(path)) << path;
    EXPECT_TRUE(fb.at(path) == bytes) << path << " differs between two runs with seed 5";
  }
  EXPECT_NE(fa, fc);
  for (const auto& d : {a, b, c}) fs::remove_all(d);
}

}  // namespace
}  // namespace byteformer
