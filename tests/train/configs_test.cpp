// Every recipe under configs/ loads, builds its model (`byteformer info`) and passes the full
// config check with its pipelines (`byteformer train --dry-run`).
#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"

namespace byteformer {
namespace {

TEST(Configs, EveryRecipeLoadsAndBuilds) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(test::source_dir() + "/configs"))
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 47u);
  for (const auto& f : files) {
    const auto info = test::run_command(test::cli_path() + " info --threads 1 --input-bytes 50000 --config '" + f + "'");
    EXPECT_EQ(info.exit_code, 0) << f << "\n" << info.err;
    const auto dry = test::run_command(test::cli_path() + " train --dry-run --threads 1 --config '" + f + "'");
    EXPECT_EQ(dry.exit_code, 0) << f << "\n" << dry.err;
    EXPECT_NE(dry.out.find("OK"), std::string::npos) << dry.out;
  }
}

}  // namespace
}  // namespace byteformer
