// `byteformer train --data DIR` through the real CLI, as a new user runs it: a small folder of
// real files (PNG, WAV, JSON made here, ELF programs of this machine) trained with the
// file-types recipe, then evaluated from another folder, on a new folder, and asked about new
// files with the calibrated "unknown"; and the errors a folder the recipe cannot use gets.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "test_util.h"
#include "train/tiny_data.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

std::string cli() { return test::cli_path(); }

std::vector<uint8_t> png_file(std::mt19937& rng) {
  std::uniform_int_distribution<int> size(6, 24), value(0, 255);
  Image img;
  img.width = size(rng);
  img.height = size(rng);
  img.channels = 3;
  for (int i = 0; i < img.width * img.height * 3; ++i) img.pixels.push_back(static_cast<uint8_t>(value(rng)));
  return encode_image(img, ImageEncoding::parse("png"));
}

std::string json_text(std::mt19937& rng) {
  std::uniform_int_distribution<int> n(2, 30), v(0, 100000);
  nlohmann::json j;
  for (int i = 0, k = n(rng); i < k; ++i) j["key" + std::to_string(v(rng))] = {v(rng), "text " + std::to_string(v(rng))};
  return j.dump(rng() % 2 ? 2 : -1);
}

// The ELF programs of /usr/bin, in name order, `count` of them from `first`.
std::vector<std::string> elf_programs(size_t first, size_t count) {
  std::vector<std::string> all;
  for (const auto& e : fs::directory_iterator("/usr/bin")) {
    std::error_code ec;
    if (!e.is_regular_file(ec) || e.file_size(ec) < 4096) continue;
    std::ifstream in(e.path(), std::ios::binary);
    char magic[4] = {};
    if (in.read(magic, 4) && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F')
      all.push_back(e.path().string());
  }
  std::sort(all.begin(), all.end());
  std::vector<std::string> out;
  for (size_t i = first; i < all.size() && out.size() < count; ++i) out.push_back(all[i]);
  return out;
}

// DIR/{png,wav,json,elf}/, `per_class` files each, from the seed.
void make_file_types(const std::string& dir, int per_class, unsigned seed, size_t first_elf) {
  std::mt19937 rng(seed);
  for (const char* c : {"png", "wav", "json", "elf"}) fs::create_directories(dir + "/" + c);
  const auto elves = elf_programs(first_elf, static_cast<size_t>(per_class));
  ASSERT_EQ(elves.size(), static_cast<size_t>(per_class)) << "this machine has too few programs in /usr/bin";
  for (int i = 0; i < per_class; ++i) {
    const std::string n = std::to_string(i);
    test::write_bytes(dir + "/png/" + n + ".png", png_file(rng));
    test::write_bytes(dir + "/wav/" + n + ".wav", test::tone_wav(200.0 + 50.0 * (rng() % 40), 800 + static_cast<int>(rng() % 4000), static_cast<int>(rng())));
    std::ofstream(dir + "/json/" + n + ".json") << json_text(rng);
    fs::copy_file(elves[static_cast<size_t>(i)], dir + "/elf/" + fs::path(elves[static_cast<size_t>(i)]).filename().string());
  }
}

nlohmann::json first_json_line(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  return nlohmann::json::parse(line);
}

TEST(FolderTrainingCli, FileTypesLearnFromAFolderAndAnswerFromAnywhere) {
  const std::string root = test::make_temp_dir("folder_training");
  const std::string data = root + "/my files", run = root + "/run";
  make_file_types(data, 40, 1, 0);
  const auto train = test::run_command(cli() + " train --threads 2 --data '" + data + "' --recipe file-types --out " + run);
  ASSERT_EQ(train.exit_code, 0) << train.out << train.err;
  EXPECT_NE(train.err.find("4 classes (elf, json, png, wav), 160 files"), std::string::npos) << train.err;
  EXPECT_NE(train.err.find("20% of each class held out"), std::string::npos) << train.err;
  EXPECT_NE(train.err.find("calibrated: per-class thresholds"), std::string::npos) << train.err;
  EXPECT_EQ(train.err.find("warning"), std::string::npos) << train.err;  // the recipe loads as it is
  EXPECT_NE(train.out.find("best top1"), std::string::npos) << train.out;
  // It learned: the best validation top-1 of 32 held-out files.
  double best = 0;
  std::istringstream metrics(test::read_text(run + "/metrics.jsonl"));
  for (std::string line; std::getline(metrics, line);)
    if (!line.empty()) best = std::max(best, nlohmann::json::parse(line)["val_top1"].get<double>());
  EXPECT_GE(best, 90.0) << train.err;
  // The run's config holds absolute paths: eval from another folder finds the data.
  EXPECT_NE(test::read_text(run + "/config.yaml").find("root_train: " + data), std::string::npos);
  ASSERT_TRUE(fs::exists(run + "/thresholds.json"));
  const auto eval = test::run_command("cd / && " + cli() + " eval --threads 2 --json --model " + run);
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  const auto j = nlohmann::json::parse(eval.out);
  EXPECT_EQ(j["samples"].get<int64_t>(), 32);
  EXPECT_NEAR(j["top1"].get<double>(), best, 1e-6);
  ASSERT_EQ(j["per_class"].size(), 4u);  // each type's precision, recall and F1
  EXPECT_EQ(j["per_class"][0]["label"], "elf");
  EXPECT_EQ(j["per_class"][0]["support"].get<int64_t>(), 8);
  EXPECT_GE(j["macro_f1"].get<double>(), 0.85);

  // A new folder of new files (two of the four classes): eval --data.
  const std::string fresh = root + "/fresh";
  make_file_types(fresh, 10, 2, 40);
  fs::remove_all(fresh + "/wav");
  fs::remove_all(fresh + "/elf");
  std::ofstream(fresh + "/json/tiny.json") << "[1]";  // 3 bytes, fewer than the kernel: still a file to classify
  const auto eval_new = test::run_command(cli() + " eval --threads 2 --json --model " + run + " --data " + fresh);
  ASSERT_EQ(eval_new.exit_code, 0) << eval_new.err;
  const auto jn = nlohmann::json::parse(eval_new.out);
  EXPECT_EQ(jn["samples"].get<int64_t>(), 21);
  EXPECT_EQ(jn["skipped"].get<int64_t>(), 0);
  EXPECT_GE(jn["top1"].get<double>(), 90.0);

  // predict: a new PNG is `png`; with the calibrated thresholds made stricter than any answer,
  // `unknown`; --threshold 0 restores the best guess.
  const auto tiny = test::run_command(cli() + " predict --threads 1 --json --model " + run + " " + fresh + "/json/tiny.json");
  EXPECT_EQ(tiny.exit_code, 0) << tiny.out << tiny.err;
  EXPECT_EQ(first_json_line(tiny.out)["num_bytes"].get<int64_t>(), 3) << tiny.out;
  const std::string png = fresh + "/png/0.png";
  const auto sure = test::run_command(cli() + " predict --threads 1 --json --model " + run + " " + png);
  ASSERT_EQ(sure.exit_code, 0) << sure.err;
  EXPECT_EQ(first_json_line(sure.out)["top"][0]["label"], "png") << sure.out;
  nlohmann::json strict = nlohmann::json::parse(test::read_text(run + "/thresholds.json"));
  strict["thresholds"]["png"] = 1.0;
  std::ofstream(run + "/thresholds.json") << strict.dump();
  const auto unsure = test::run_command(cli() + " predict --threads 1 --json --model " + run + " " + png);
  ASSERT_EQ(unsure.exit_code, 0) << unsure.err;
  EXPECT_EQ(first_json_line(unsure.out)["label"], "unknown") << unsure.out;
  const auto guess = test::run_command(cli() + " predict --threads 1 --json --threshold 0 --model " + run + " " + png);
  EXPECT_EQ(first_json_line(guess.out)["label"], "png") << guess.out;
  fs::remove_all(root);
}

// The file-types recipe end to end on a tiny corpus that `data file-types` makes from three of
// this machine's Debian packages: coreutils (its ELF programs and gzip'd manual pages), Python's
// and Perl's standard libraries. 40 files a type, all in train/ (--val 0 --test 0), held out
// by train --data, and learned.
TEST(FolderTrainingCli, FileTypesRecipeLearnsATinyCorpusOfThisMachinesPackages) {
  const std::string root = test::make_temp_dir("folder_training_debian");
  const std::string info = root + "/info", corpus = root + "/corpus", run = root + "/run";
  fs::create_directories(info);
  for (const char* list : {"coreutils.list", "libpython3.11-stdlib:amd64.list", "perl-modules-5.36.list"}) {
    const std::string from = std::string("/var/lib/dpkg/info/") + list;
    if (!fs::exists(from)) GTEST_SKIP() << "not a Debian 12 machine: no " << from;
    fs::copy_file(from, info + "/" + list);
  }
  const auto data = test::run_command(cli() + " data file-types --out " + corpus + " --dpkg-info " + info +
                                      " --max-per-type 40 --min-per-type 30 --converted-up-to 0 --val 0 --test 0");
  ASSERT_EQ(data.exit_code, 0) << data.out << data.err;
  std::map<std::string, int> per_label;
  std::istringstream manifest(test::read_text(corpus + "/manifest.jsonl"));
  for (std::string line; std::getline(manifest, line);) {
    const auto row = nlohmann::json::parse(line);
    EXPECT_EQ(row["split"], "train") << line;
    ++per_label[row["label"].get<std::string>()];
  }
  EXPECT_EQ(per_label, (std::map<std::string, int>{{"elf", 40}, {"gzip", 40}, {"perl", 40}, {"python", 40}}))
      << data.out;

  const auto train = test::run_command(cli() + " train --threads 2 --data " + corpus + " --recipe file-types --out " + run);
  ASSERT_EQ(train.exit_code, 0) << train.out << train.err;
  EXPECT_NE(train.err.find("4 classes (elf, gzip, perl, python), 160 files"), std::string::npos) << train.err;
  const auto eval = test::run_command(cli() + " eval --threads 2 --json --model " + run);
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  const auto j = nlohmann::json::parse(eval.out);
  EXPECT_EQ(j["samples"].get<int64_t>(), 32);
  EXPECT_GE(j["top1"].get<double>(), 90.0) << train.err;
  EXPECT_GE(j["macro_f1"].get<double>(), 0.85) << eval.out;
  fs::remove_all(root);
}

// The default (image) recipe on a train/ and val/ layout of PNGs of two colours: the README's
// three commands, and the model learns them.
TEST(FolderTrainingCli, ImagesInTrainAndValFoldersLearn) {
  const std::string root = test::make_temp_dir("folder_training_images");
  const std::string data = root + "/pets";
  test::make_tiny_images(data, 16, 6, /*broken=*/false);
  // A third class with training images only: val/ need not hold every class.
  fs::create_directories(data + "/train/green");
  for (int i = 0; i < 16; ++i) {
    Image img;
    img.width = img.height = 16;
    img.channels = 3;
    for (int p = 0; p < 16 * 16; ++p)
      for (const int v : {30 + (p * 7 + i) % 20, 210 - (p + i) % 25, 35 + (p * 3) % 15}) img.pixels.push_back(static_cast<uint8_t>(v));
    test::write_bytes(data + "/train/green/" + std::to_string(i) + ".png", encode_image(img, ImageEncoding::parse("png")));
  }
  const auto train = test::run_command("cd " + root + " && " + cli() + " train --threads 2 --data pets");
  ASSERT_EQ(train.exit_code, 0) << train.out << train.err;
  EXPECT_NE(train.err.find("3 classes (blue, green, red), 48 image files in " + data + "/train"), std::string::npos)
      << train.err;
  EXPECT_EQ(train.err.find("held out"), std::string::npos) << train.err;  // val/ is the validation split
  const std::string run = root + "/runs/pets";
  const auto eval = test::run_command(cli() + " eval --threads 2 --json --model " + run);
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  const auto j = nlohmann::json::parse(eval.out);
  EXPECT_EQ(j["samples"].get<int64_t>(), 12);
  EXPECT_GE(j["top1"].get<double>(), 90.0) << train.err;
  ASSERT_EQ(j["per_class"].size(), 3u);
  EXPECT_EQ(j["per_class"][1]["label"], "green");
  EXPECT_EQ(j["per_class"][1]["support"].get<int64_t>(), 0);
  const auto predict = test::run_command(cli() + " predict --threads 1 --json --threshold 0 --model " + run + " " + data +
                                         "/val/red/00.png");
  ASSERT_EQ(predict.exit_code, 0) << predict.err;
  EXPECT_EQ(first_json_line(predict.out)["label"], "red") << predict.out;
  // No test/ folder: `eval --split test` says so.
  const auto no_test = test::run_command(cli() + " eval --threads 1 --model " + run + " --split test");
  EXPECT_EQ(no_test.exit_code, 1);
  EXPECT_NE(no_test.err.find("dataset.root_test"), std::string::npos) << no_test.err;
  fs::remove_all(root);
}

TEST(FolderTrainingCli, FilesTheRecipeCannotUseAreNamed) {
  const std::string root = test::make_temp_dir("folder_training_errors");
  std::mt19937 rng(3);
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    fs::create_directories(root + "/png");
    fs::create_directories(root + "/svg");
    fs::create_directories(root + "/txt");
    test::write_bytes(root + "/png/" + n + ".png", png_file(rng));
    std::ofstream(root + "/svg/" + n + ".svg") << "<svg xmlns='http://www.w3.org/2000/svg'/>";
    std::ofstream(root + "/txt/" + n + ".txt") << "some text " << n;
  }
  // The image recipe reads images: the svg and txt classes have none, and the error says so.
  const auto images = test::run_command(cli() + " train --dry-run --data " + root);
  EXPECT_NE(images.exit_code, 0);
  EXPECT_NE(images.err.find("class 'svg' has no usable image file (3 not an image"), std::string::npos) << images.err;
  // The file-types recipe reads every file.
  const auto any = test::run_command(cli() + " train --dry-run --data " + root + " --recipe file-types --out " + root +
                                     "/run");
  EXPECT_EQ(any.exit_code, 0) << any.err;
  EXPECT_NE(any.err.find("3 classes (png, svg, txt), 9 files"), std::string::npos) << any.err;
  EXPECT_NE(any.out.find("classes=3"), std::string::npos) << any.out;
  // A recipe name mistyped gets the closest; --data and --config exclude each other.
  const auto typo = test::run_command(cli() + " train --data " + root + " --recipe imgae");
  EXPECT_NE(typo.exit_code, 0);
  EXPECT_NE(typo.err.find("did you mean 'image'"), std::string::npos) << typo.err;
  const auto neither = test::run_command(cli() + " train");
  EXPECT_NE(neither.exit_code, 0);
  EXPECT_NE(neither.err.find("--data DIR"), std::string::npos) << neither.err;
  fs::remove_all(root);
}

}  // namespace
}  // namespace byteformer
