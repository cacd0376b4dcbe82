// `byteformer predict` runs the config's evaluation pipeline on each file (docs/MODEL.md):
// photos of other formats and sizes than the training encoding get exactly the bytes `eval`
// feeds the model for them; per-file errors, -r, stdin and awkward names, all through the real CLI.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "byteformer/codec/image.h"
#include "byteformer/codec/image_encoding.h"
#include "byteformer/codec/png_encoder.h"
#include "byteformer/data/byte_pipeline.h"
#include "byteformer/data/dataset.h"
#include "byteformer/data/loader.h"
#include "byteformer/io/config.h"
#include "byteformer/model/model_loader.h"
#include "byteformer/transforms/rng.h"
#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

const std::string kDir = test::fixtures_dir() + "/corenet-tiny-k8-w32";
// The fixture model's own recipe (resize 256 bicubic, centre crop 224, JPEG q60) with smaller
// sizes, so that the re-encoded files fit its max_num_tokens of 2048.
const std::string kSizes =
    " --override image_augmentation.resize.size=48 --override image_augmentation.center_crop.size=40";

std::string predict(const std::string& extra) {
  return test::cli_path() + " predict --threads 1 --config " + kDir + "/config.yaml --weights " + kDir + "/model.pt" +
         kSizes + " " + extra;
}

Image photo(int width, int height, int channels, uint32_t seed) {
  Image img;
  img.width = width;
  img.height = height;
  img.channels = channels;
  img.pixels.resize(static_cast<size_t>(width * height * channels));
  std::mt19937 rng(seed);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c)
        img.pixels[static_cast<size_t>((y * width + x) * channels + c)] =
            static_cast<uint8_t>((x * 255 / width + y * 128 / height + c * 60 + static_cast<int>(rng() % 24)) % 256);
  return img;
}

// A 24-bit BMP (BITMAPINFOHEADER, rows bottom-up, BGR, padded to 4 bytes), written by hand.
std::vector<uint8_t> bmp(const Image& rgb) {
  const int row = (rgb.width * 3 + 3) / 4 * 4;
  const uint32_t size = 54 + static_cast<uint32_t>(row * rgb.height);
  std::vector<uint8_t> b(size, 0);
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  };
  b[0] = 'B', b[1] = 'M';
  put32(2, size);
  put32(10, 54);
  put32(14, 40);
  put32(18, static_cast<uint32_t>(rgb.width));
  put32(22, static_cast<uint32_t>(rgb.height));
  b[26] = 1;
  b[28] = 24;
  for (int y = 0; y < rgb.height; ++y)
    for (int x = 0; x < rgb.width; ++x)
      for (int c = 0; c < 3; ++c)
        b[54 + static_cast<size_t>((rgb.height - 1 - y) * row + x * 3 + (2 - c))] =
            rgb.pixels[static_cast<size_t>((y * rgb.width + x) * 3 + c)];
  return b;
}

// root/val/photos/: a 320x240 PNG, a 64x48 JPEG, a 30x20 BMP and a grey 50x70 PNG.
std::vector<std::string> make_photos(const std::string& root) {
  const std::string dir = root + "/val/photos";
  fs::create_directories(dir);
  test::write_bytes(dir + "/a_320x240.png", encode_png(photo(320, 240, 3, 1), 6));
  test::write_bytes(dir + "/b_64x48.jpg", encode_image(photo(64, 48, 3, 2), ImageEncoding::parse("jpeg:90")));
  test::write_bytes(dir + "/c_30x20.bmp", bmp(photo(30, 20, 3, 3)));
  test::write_bytes(dir + "/d_grey_50x70.png", encode_png(photo(50, 70, 1, 4), 9));
  return {dir + "/a_320x240.png", dir + "/b_64x48.jpg", dir + "/c_30x20.bmp", dir + "/d_grey_50x70.png"};
}

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) v.push_back(nlohmann::json::parse(line));
  return v;
}

std::string join(const std::vector<std::string>& files) {
  std::string s;
  for (const auto& f : files) s += " '" + f + "'";
  return s;
}

// The bytes eval's loader feeds the model for sample i of root/val (seed 0, epoch 0).
std::vector<std::vector<uint8_t>> eval_bytes(const std::string& root, const std::vector<std::string>& extra_overrides) {
  std::vector<std::string> overrides = {"image_augmentation.resize.size=48", "image_augmentation.center_crop.size=40",
                                        "dataset.root_val=" + root + "/val"};
  overrides.insert(overrides.end(), extra_overrides.begin(), extra_overrides.end());
  const Config config = load_config(kDir + "/config.yaml", overrides);
  auto index = std::make_shared<DatasetIndex>(load_dataset(config, Split::kValidation, 0));
  BytePipeline pipeline(BytePipelineOptions::from_config(config, Modality::kImage, false), index);
  std::vector<std::vector<uint8_t>> out;
  for (int64_t i = 0; i < static_cast<int64_t>(index->size()); ++i) {
    torch::Generator gen = make_generator(sample_seed(0, 0, i));
    const ByteSeq s = pipeline(i, gen).bytes;
    out.emplace_back(s.begin(), s.end());
  }
  return out;
}

TEST(PredictPipelineCli, PhotosOfOtherFormatsAndSizesGetTheBytesEvalFeeds) {
  const std::string root = test::make_temp_dir("pp_photos");
  const auto files = make_photos(root);
  const auto r = test::run_command(predict("--numerics corenet --json --batch-size 3 --dump-inputs " + root +
                                           "/fed" + join(files)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), files.size());
  const auto want = eval_bytes(root, {});
  ASSERT_EQ(want.size(), files.size());
  std::string fed;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto got = test::read_bytes(root + "/fed/" + std::to_string(i) + ".bin");
    EXPECT_EQ(got, want[i]) << files[i];
    EXPECT_EQ(got[0], 0xFF);  // re-encoded as JPEG (SOI marker), whatever the file's format
    EXPECT_EQ(got[1], 0xD8);
    EXPECT_EQ(lines[i]["file"], files[i]);
    EXPECT_EQ(lines[i]["num_bytes"].get<size_t>(), want[i].size());
    EXPECT_EQ(lines[i]["file_bytes"].get<size_t>(), fs::file_size(files[i]));
    EXPECT_NE(lines[i]["input"].get<std::string>().find("pil_save jpeg:60"), std::string::npos) << lines[i];
    fed += " " + root + "/fed/" + std::to_string(i) + ".bin";
  }
  // The logits are the model's on those bytes: the same as --raw on the dumped files.
  const auto raw = test::run_command(predict("--numerics corenet --json --raw" + fed));
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  const auto raw_lines = json_lines(raw.out);
  ASSERT_EQ(raw_lines.size(), files.size());
  for (size_t i = 0; i < files.size(); ++i)
    for (size_t c = 0; c < 10; ++c)  // the same rows, batched differently (corenet numerics: 1e-5)
      EXPECT_NEAR(raw_lines[i]["logits"][c].get<double>(), lines[i]["logits"][c].get<double>(), 1e-5);
  fs::remove_all(root);
}

// predict gives a file the probabilities eval gives it, in float32 (the CPU's default) and when
// both are asked for bf16; the two precisions differ, so a side that ignored the flag would show.
TEST(PredictPipelineCli, PredictAndEvalAgreeInEachPrecision) {
  const std::string root = test::make_temp_dir("pp_precision");
  std::vector<std::string> files;
  for (int c = 0; c < 10; ++c) {  // one photo per class folder: the fixture model has 10 classes
    const std::string dir = root + "/val/c" + std::to_string(c);
    fs::create_directories(dir);
    files.push_back(dir + "/p.png");
    test::write_bytes(files.back(), encode_png(photo(36 + 4 * c, 30 + 2 * c, 3, static_cast<uint32_t>(10 + c)), 6));
  }
  std::map<std::string, std::map<std::string, double>> top_prob;  // precision -> file -> prob
  for (const std::string precision : {"fp32", "bf16"}) {
    const std::string flag = precision == "fp32" ? "" : " --precision bf16";
    const auto p = test::run_command(predict("--json" + flag + join(files)));
    ASSERT_EQ(p.exit_code, 0) << p.err;
    const std::string records = root + "/eval_" + precision + ".jsonl";
    const auto e = test::run_command(test::cli_path() + " eval --threads 1 --json --batch-size 1 --config " + kDir +
                                     "/config.yaml --weights " + kDir + "/model.pt" + kSizes +
                                     " --override dataset.root_val=" + root + "/val --predictions " + records + flag);
    ASSERT_EQ(e.exit_code, 0) << e.err;
    EXPECT_EQ(nlohmann::json::parse(e.out)["precision"], precision) << e.out;
    std::map<std::string, double> eval_prob;
    const std::vector<uint8_t> record_bytes = test::read_bytes(records);
    for (const auto& j : json_lines(std::string(record_bytes.begin(), record_bytes.end())))
      eval_prob[j["file"].get<std::string>()] = j["prob"].get<double>();
    const auto lines = json_lines(p.out);
    ASSERT_EQ(lines.size(), files.size());
    for (const auto& j : lines) {
      const std::string file = j["file"].get<std::string>();
      ASSERT_EQ(eval_prob.count(file), 1u) << file;
      EXPECT_NEAR(j["top"][0]["prob"].get<double>(), eval_prob[file], 1e-6) << precision << " " << file;
      top_prob[precision][file] = eval_prob[file];
    }
  }
  double most = 0.0;
  for (const auto& f : files) most = std::max(most, std::abs(top_prob["fp32"][f] - top_prob["bf16"][f]));
  EXPECT_GT(most, 1e-6);
  fs::remove_all(root);
}

TEST(PredictPipelineCli, PrivacyTransformsArePartOfThePipeline) {
  const std::string root = test::make_temp_dir("pp_privacy");
  const auto files = make_photos(root);
  const std::string perm = "image_augmentation.byte_permutation.enable=true";
  const auto r = test::run_command(predict("--json --override " + perm + " --dump-inputs " + root + "/fed" + join(files)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto want = eval_bytes(root, {perm});
  const auto plain = eval_bytes(root, {});
  for (size_t i = 0; i < files.size(); ++i) {
    const auto got = test::read_bytes(root + "/fed/" + std::to_string(i) + ".bin");
    EXPECT_EQ(got, want[i]) << files[i];
    ASSERT_EQ(got.size(), plain[i].size());
    EXPECT_NE(got, plain[i]);
    // A byte-value permutation: equal bytes stay equal, different bytes stay different.
    std::map<uint8_t, uint8_t> map;
    for (size_t k = 0; k < got.size(); ++k) {
      auto [it, fresh] = map.emplace(plain[i][k], got[k]);
      EXPECT_EQ(it->second, got[k]);
    }
  }
  fs::remove_all(root);
}

TEST(PredictPipelineCli, EachBadFileIsItsOwnRecordTheOthersStillClassified) {
  const std::string root = test::make_temp_dir("pp_errors");
  const auto files = make_photos(root);
  test::write_bytes(root + "/empty.png", {});
  test::write_bytes(root + "/noise.jpg", std::vector<uint8_t>(5000, 0x5A));
  fs::create_directories(root + "/folder");
  const std::vector<std::string> args = {files[0], root + "/empty.png", root + "/folder", root + "/missing.png",
                                         root + "/noise.jpg", files[1]};
  const auto r = test::run_command(predict("--json --batch-size 4" + join(args)));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("4 of 6 inputs could not be classified"), std::string::npos) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), args.size()) << r.out;
  for (size_t i = 0; i < args.size(); ++i) EXPECT_EQ(lines[i]["file"], args[i]);
  EXPECT_EQ(lines[0]["logits"].size(), 10u);
  EXPECT_EQ(lines[5]["logits"].size(), 10u);
  for (size_t i = 1; i <= 4; ++i) {
    ASSERT_TRUE(lines[i].contains("error")) << lines[i];
    EXPECT_EQ(lines[i]["error"].get<std::string>().rfind(args[i], 0), 0u) << lines[i];  // names the file
  }
  EXPECT_NE(lines[2]["error"].get<std::string>().find("is a directory"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3]["error"].get<std::string>().find("cannot open"), std::string::npos) << lines[3];
  fs::remove_all(root);
}

TEST(PredictPipelineCli, RecursiveDirectoriesAndStdin) {
  const std::string root = test::make_temp_dir("pp_recursive");
  const auto files = make_photos(root);
  auto r = test::run_command(predict("--json -r " + root + "/val"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) EXPECT_EQ(lines[i]["file"], files[i]);  // sorted walk
  // Without -r a directory is an error record that says to use -r.
  r = test::run_command(predict("--json " + root + "/val"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("-r/--recursive"), std::string::npos) << r.out;
  // stdin: the same answer as the file.
  r = test::run_command("cat '" + files[1] + "' | " + predict("--json -"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto from_stdin = json_lines(r.out);
  ASSERT_EQ(from_stdin.size(), 1u);
  EXPECT_EQ(from_stdin[0]["file"], "-");
  EXPECT_EQ(from_stdin[0]["logits"], lines[1]["logits"]);
  fs::remove_all(root);
}

TEST(PredictPipelineCli, NamesThatAreNotUtf8OrHoldNewlinesStayOneRecordALine) {
  const std::string root = test::make_temp_dir("pp_names");
  const auto files = make_photos(root);
  const std::string odd = root + "/bad\xff\nname\\.png";
  fs::copy_file(files[0], odd);
  auto r = test::run_command(predict("--json '" + odd + "' " + files[1]));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);  // parses: valid UTF-8, one object a line
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["file"], root + "/bad\\xff\\nname\\\\.png");
  r = test::run_command(predict("'" + odd + "'"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_NE(r.out.find("bad\\xff\\nname\\\\.png ("), std::string::npos) << r.out;
  fs::remove_all(root);
}

TEST(PredictPipelineCli, EndlessInputIsCutOffWithAClearError) {
  // /dev/zero as raw bytes: at most what the model can take is read (1 MiB here), then an error.
  auto r = test::run_command("timeout 60 " + predict("--raw /dev/zero"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("/dev/zero: longer than the 1048576 bytes this reads"), std::string::npos) << r.err;
  // Through the pipeline: the decoders' bound, 256 MiB, then the same kind of error.
  r = test::run_command("timeout 60 " + predict("/dev/zero"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("/dev/zero: longer than the 268435456 bytes this reads"), std::string::npos) << r.err;
}

// Every hostile input of the issue through the real CLI, each with its own clear record: an
// empty and a 1-byte file (raw and through the pipeline), 50 MB of random bytes, a directory,
// a fifo nobody writes (and one somebody does), unreadable paths, absurd --top-k values.
TEST(PredictPipelineCli, HostileInputsEachGetAClearMessage) {
  const std::string root = test::make_temp_dir("pp_hostile");
  const auto files = make_photos(root);
  test::write_bytes(root + "/empty.bin", {});
  test::write_bytes(root + "/one.bin", {0x42});
  std::vector<uint8_t> noise(50u << 20);
  std::mt19937 rng(7);
  for (auto& b : noise) b = static_cast<uint8_t>(rng());
  test::write_bytes(root + "/noise50mb.bin", noise);
  const std::string fifo = root + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto record = [](const test::CommandResult& r, size_t i) {
    const auto lines = json_lines(r.out);
    return i < lines.size() ? lines[i] : nlohmann::json();
  };
  auto error_of = [&](const test::CommandResult& r, size_t i) {
    const auto j = record(r, i);
    return j.contains("error") ? j["error"].get<std::string>() : std::string("(no error) ") + r.out;
  };
  const std::string not_dir = files[0] + "/child.png";  // a path through a file: ENOTDIR
  const std::vector<std::string> args = {root + "/empty.bin", root + "/one.bin", root + "/noise50mb.bin", root,
                                         fifo, not_dir, "/proc/self/mem", files[1]};
  for (const bool raw : {true, false}) {
    SCOPED_TRACE(raw ? "raw" : "pipeline");
    const auto r = test::run_command("timeout 120 " + predict(std::string("--json --read-timeout 1 ") +
                                                              (raw ? "--raw" : "") + join(args)));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("7 of 8 inputs could not be classified"), std::string::npos) << r.err;
    ASSERT_EQ(json_lines(r.out).size(), args.size()) << r.out;
    for (size_t i = 0; i + 1 < args.size(); ++i)
      EXPECT_EQ(error_of(r, i).rfind(args[i], 0), 0u) << error_of(r, i);  // each names its input
    if (raw) {
      EXPECT_NE(error_of(r, 0).find("input has no bytes"), std::string::npos) << error_of(r, 0);
      EXPECT_NE(error_of(r, 1).find("input has 1 bytes, fewer than conv_kernel_size"), std::string::npos)
          << error_of(r, 1);
      EXPECT_NE(error_of(r, 2).find("52428800 bytes, more than the 1048576 this reads"), std::string::npos)
          << error_of(r, 2);
      EXPECT_EQ(record(r, 7)["input"], "raw");
    } else {
      // Read whole, then refused by the decoders.
      EXPECT_NE(error_of(r, 0).find("empty file"), std::string::npos) << error_of(r, 0);
      for (size_t i : {1, 2})
        EXPECT_NE(error_of(r, i).find("unknown image format"), std::string::npos) << error_of(r, i);
      EXPECT_NE(record(r, 7)["input"].get<std::string>().find("resize 48"), std::string::npos) << record(r, 7);
    }
    EXPECT_NE(error_of(r, 3).find("is a directory"), std::string::npos) << error_of(r, 3);
    EXPECT_NE(error_of(r, 4).find("gave no data for 1 s"), std::string::npos) << error_of(r, 4);
    EXPECT_NE(error_of(r, 5).find("Not a directory"), std::string::npos) << error_of(r, 5);
    EXPECT_NE(error_of(r, 6).find("read error after 0 bytes"), std::string::npos) << error_of(r, 6);
    EXPECT_EQ(record(r, 7)["logits"].size(), 10u) << r.out;
  }
  // A fifo with a writer is read like the file behind it.
  auto r = test::run_command("(cat '" + files[1] + "' > '" + fifo + "' &); timeout 60 " + predict("--json " + fifo));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto direct = test::run_command(predict("--json " + files[1]));
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  EXPECT_EQ(record(r, 0)["logits"], record(direct, 0)["logits"]);
  // A --top-k beyond the classes gives every class; a negative one is refused by name.
  r = test::run_command(predict("--json --top-k 1000000000 " + files[1]));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(record(r, 0)["top"].size(), 10u);
  r = test::run_command(predict("--top-k -3 " + files[1]));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--top-k"), std::string::npos) << r.err;
  fs::remove_all(root);
}

}  // namespace
}  // namespace byteformer
