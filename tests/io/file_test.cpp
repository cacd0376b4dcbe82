// io/file.h and io/display_name.h: checked reading (limits, directories, devices) and names
// made printable as one line of valid UTF-8.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "byteformer/io/display_name.h"
#include "byteformer/io/file.h"
#include "test_util.h"

namespace byteformer {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(ReadFile, LimitsDirectoriesMissingAndDevices) {
  const std::string dir = test::make_temp_dir("file");
  test::write_bytes(dir + "/ten", std::vector<uint8_t>(10, 7));
  EXPECT_EQ(read_file(dir + "/ten").size(), 10u);
  EXPECT_EQ(read_file(dir + "/ten", 10).size(), 10u);
  EXPECT_NE(error_of([&] { read_file(dir + "/ten", 9); }).find("ten: 10 bytes, more than the 9 this reads"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_file(dir); }).find(dir + ": is a directory"), std::string::npos);
  EXPECT_NE(error_of([&] { read_file(dir + "/none"); }).find("none: cannot open: No such file"), std::string::npos);
  // An endless device: at most limit + 1 bytes are read, then an error.
  EXPECT_NE(error_of([&] { read_file("/dev/zero", 4096); }).find("/dev/zero: longer than the 4096 bytes"),
            std::string::npos);
  EXPECT_TRUE(read_file("/dev/null").empty());
  std::filesystem::remove_all(dir);
}

TEST(WriteFileReplace, WritesWholeFilesAndLeavesNoTemporary) {
  const std::string dir = test::make_temp_dir("replace");
  write_file_atomic(dir + "/a", {1, 2, 3});
  write_file_atomic(dir + "/a", {4, 5});
  EXPECT_EQ(read_file(dir + "/a"), (std::vector<uint8_t>{4, 5}));
  int entries = 0;
  for (auto it = std::filesystem::directory_iterator(dir); it != std::filesystem::directory_iterator(); ++it) ++entries;
  EXPECT_EQ(entries, 1);
  EXPECT_NE(error_of([&] { write_file_atomic(dir + "/missing/a", {1}); }).find("missing/a: cannot create"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

// An output path that is a link, a device or a fifo keeps being one: the link's target gets the
// bytes (atomically), a device or fifo gets them in place (once, `eval --confusion-csv /dev/full`
// replaced /dev/full with a file).
TEST(WriteFileReplace, LinksDevicesAndFifosAreWrittenThroughNotReplaced) {
  namespace fs = std::filesystem;
  const std::string dir = test::make_temp_dir("special");
  write_file_atomic(dir + "/target", {1, 2});
  fs::create_symlink("target", dir + "/link");
  write_file_atomic(dir + "/link", {3, 4, 5});
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(dir + "/link")));
  EXPECT_EQ(read_file(dir + "/target"), (std::vector<uint8_t>{3, 4, 5}));
  fs::create_symlink("not_yet", dir + "/dangling");  // a link to a file still to be made
  write_file_atomic(dir + "/dangling", {6});
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(dir + "/dangling")));
  EXPECT_EQ(read_file(dir + "/not_yet"), (std::vector<uint8_t>{6}));
  write_file_atomic("/dev/null", {7, 8});
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  EXPECT_NE(error_of([&] { write_file_atomic("/dev/full", {9}); }).find("/dev/full: write failed: No space left on device"),
            std::string::npos)
      << error_of([&] { write_file_atomic("/dev/full", {9}); });
  EXPECT_TRUE(fs::is_character_file("/dev/full"));
  ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0600), 0);
  EXPECT_NE(error_of([&] { write_file_atomic(dir + "/fifo", {1}); }).find("fifo: cannot open for writing"),
            std::string::npos);  // nobody reads it: an error, not a wait
  EXPECT_TRUE(fs::is_fifo(dir + "/fifo"));
  int entries = 0;
  for (auto it = fs::directory_iterator(dir); it != fs::directory_iterator(); ++it) ++entries;
  EXPECT_EQ(entries, 5);  // target, link, dangling, not_yet, fifo: no temporary left
  fs::remove_all(dir);
}

TEST(DisplayName, PrintableUtf8UnchangedEverythingElseEscapedReversibly) {
  EXPECT_EQ(display_name("photos/cat 1.jpg"), "photos/cat 1.jpg");
  EXPECT_EQ(display_name("caf\xc3\xa9/\xe6\x97\xa5.png"), "caf\xc3\xa9/\xe6\x97\xa5.png");  // é, 日
  EXPECT_EQ(display_name("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  EXPECT_EQ(display_name("back\\slash"), "back\\\\slash");
  EXPECT_EQ(display_name(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(display_name("\x7f"), "\\x7f");
  // Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong, a surrogate.
  EXPECT_EQ(display_name("bad\xff.png"), "bad\\xff.png");
  EXPECT_EQ(display_name("\xe6\x97"), "\\xe6\\x97");
  EXPECT_EQ(display_name("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(display_name("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(display_name("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");  // U+1F600 is fine
}

}  // namespace
}  // namespace byteformer
