// Class folders (every file a sample or a named skip; a seeded, stratified, stable hold-out)
// and byte windows (what a model of any file reads of it), on files written here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "byteformer/data/byte_window.h"
#include "byteformer/data/class_folders.h"
#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

const std::vector<uint8_t> kPng = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13};

void write(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  test::write_bytes(path, bytes);
}
void write_text(const std::string& path, const std::string& text) { write(path, {text.begin(), text.end()}); }

std::set<std::string> paths(const DatasetIndex& index) {
  std::set<std::string> out;
  for (const auto& s : index.samples) out.insert(s.path);
  return out;
}

TEST(ClassFolders, EveryFileIsASampleOrANamedSkip) {
  const std::string root = test::make_temp_dir("class_folders_skips");
  write(root + "/png/a.png", kPng);
  write(root + "/png/deep/b.data", kPng);            // an image by its bytes, whatever its name
  write_text(root + "/png/notes.txt", "hello\n");     // not an image
  write(root + "/png/empty.png", {});                 // empty
  write_text(root + "/png/.DS_Store", "x");           // hidden
  write(root + "/svg/a.png", kPng);
  write_text(root + "/svg/b.svg", "<svg/>");
  write_text(root + "/README", "outside any class");
  const DatasetIndex images = scan_image_folder(root);
  EXPECT_EQ(images.classes, (std::vector<std::string>{"png", "svg"}));
  EXPECT_EQ(paths(images), (std::set<std::string>{root + "/png/a.png", root + "/png/deep/b.data", root + "/svg/a.png"}));
  std::map<std::string, std::string> why;
  for (const auto& s : images.skipped) why[fs::path(s.path).filename().string()] = s.reason;
  EXPECT_EQ(why.size(), 5u);
  EXPECT_NE(why["notes.txt"].find("not an image"), std::string::npos);
  EXPECT_EQ(why["empty.png"], "empty file");
  EXPECT_EQ(why[".DS_Store"], "hidden file");
  EXPECT_NE(why["README"].find("outside any class folder"), std::string::npos);
  EXPECT_NE(images.description.find("5 skipped"), std::string::npos) << images.description;

  FolderScan any;
  any.modality = Modality::kBytes;
  const DatasetIndex bytes = scan_class_folders(root, any);
  EXPECT_EQ(bytes.size(), 5u);  // every non-empty, visible file

  // A class with no usable file is an error naming the class and why its files were skipped.
  fs::remove(root + "/svg/a.png");
  try {
    scan_image_folder(root);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("class 'svg' has no usable image file"), std::string::npos) << what;
    EXPECT_NE(what.find("1 not an image"), std::string::npos) << what;
  }
  fs::remove_all(root);
}

TEST(ClassFolders, HoldOutIsStratifiedDisjointAndStable) {
  const std::string root = test::make_temp_dir("class_folders_split");
  for (int i = 0; i < 20; ++i) write_text(root + "/a/" + std::to_string(i), "a" + std::to_string(i));
  for (int i = 0; i < 5; ++i) write_text(root + "/b/" + std::to_string(i), "b" + std::to_string(i));
  write_text(root + "/c/only", "c");
  FolderScan scan;
  scan.modality = Modality::kBytes;
  scan.val_fraction = 0.2;
  scan.part = FolderPart::kValidation;
  const DatasetIndex val = scan_class_folders(root, scan);
  scan.part = FolderPart::kTrain;
  const DatasetIndex train = scan_class_folders(root, scan);
  std::map<int64_t, int> per_class;
  for (const auto& s : val.samples) ++per_class[s.label];
  EXPECT_EQ(per_class[0], 4);  // 20% of 20
  EXPECT_EQ(per_class[1], 1);  // 20% of 5
  EXPECT_EQ(per_class[2], 0);  // a class of one file stays in training
  EXPECT_EQ(train.size() + val.size(), 26u);
  for (const auto& p : paths(val)) EXPECT_EQ(paths(train).count(p), 0u) << p;

  // Another seed holds out other files; adding a file moves no other file between the parts.
  FolderScan other = scan;
  other.split_seed = 7;
  other.part = FolderPart::kValidation;
  EXPECT_NE(paths(scan_class_folders(root, other)), paths(val));
  for (int i = 20; i < 25; ++i) write_text(root + "/a/" + std::to_string(i), "a" + std::to_string(i));
  scan.part = FolderPart::kTrain;
  const auto train_after = paths(scan_class_folders(root, scan));
  int moved = 0;
  for (const auto& p : paths(train)) moved += train_after.count(p) == 0 ? 1 : 0;
  EXPECT_LE(moved, 1);  // the count held out of `a` grows from 4 to 5: at most one file moves
  fs::remove_all(root);
}

TEST(ClassFolders, TheModelsClassesNumberTheFolders) {
  const std::string root = test::make_temp_dir("class_folders_classes");
  write_text(root + "/txt/a", "a");
  FolderScan scan;
  scan.modality = Modality::kBytes;
  scan.classes = {"elf", "png", "txt"};
  const DatasetIndex index = scan_class_folders(root, scan);
  ASSERT_EQ(index.size(), 1u);
  EXPECT_EQ(index.samples[0].label, 2);
  EXPECT_EQ(index.classes, scan.classes);
  write_text(root + "/gif/a", "GIF89a");
  try {
    scan_class_folders(root, scan);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("folder 'gif' is not one of the model's 3 classes"), std::string::npos) << e.what();
  }
  fs::remove_all(root);
}

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

TEST(ByteWindow, HeadAndTailOrTheWholeFile) {
  ByteWindow w;
  w.head = 3;
  w.tail = 2;
  const auto small = bytes_of("abcde");
  EXPECT_EQ(apply_byte_window(small.data(), small.size(), w), small);
  const auto big = bytes_of("abcdefghij");
  EXPECT_EQ(apply_byte_window(big.data(), big.size(), w), bytes_of("abcij"));
  w.strip_whitespace = true;
  const auto padded = bytes_of("\n\n  abcdefghij \t\n");
  EXPECT_EQ(apply_byte_window(padded.data(), padded.size(), w), bytes_of("abcij"));
  const auto blank = bytes_of(" \n ");
  EXPECT_EQ(apply_byte_window(blank.data(), blank.size(), w), blank);  // nothing but whitespace: as it is
}

TEST(ByteWindow, ReadingTheWindowEqualsWindowingTheWholeFile) {
  const std::string dir = test::make_temp_dir("byte_window");
  std::vector<uint8_t> data;
  for (int i = 0; i < 20000; ++i) data.push_back(static_cast<uint8_t>((i * 7919) % 251));
  for (size_t lead : {0, 10, 5000}) {  // a whitespace run longer than the slack too
    std::vector<uint8_t> file(lead, ' ');
    file.insert(file.end(), data.begin(), data.end());
    file.insert(file.end(), lead, '\n');
    test::write_bytes(dir + "/f", file);
    for (const bool strip : {false, true})
      for (const int64_t head : {0, 100, 1024})
        for (const int64_t tail : {0, 7, 1024}) {
          if (head + tail == 0) continue;
          ByteWindow w;
          w.head = head;
          w.tail = tail;
          w.strip_whitespace = strip;
          EXPECT_EQ(read_byte_window(dir + "/f", w), apply_byte_window(file.data(), file.size(), w))
              << "lead " << lead << " strip " << strip << " head " << head << " tail " << tail;
        }
  }
  EXPECT_THROW(read_byte_window(dir, ByteWindow{}), std::runtime_error);  // a directory
  fs::remove_all(dir);
}

}  // namespace
}  // namespace byteformer
