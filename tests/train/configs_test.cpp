// Every recipe under configs/ loads and builds its model (`byteformer info --config` on each,
// four at a time) and passes the full training-config check with its pipelines (in process,
// what `byteformer train --dry-run` prints).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "byteformer/model/model_loader.h"
#include "byteformer/train/recipe.h"
#include "byteformer/train/trainer.h"
#include "test_util.h"

namespace byteformer {
namespace {

std::vector<std::string> config_files() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(test::source_dir() + "/configs"))
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Configs, EveryRecipePassesTheTrainingCheck) {
  const auto files = config_files();
  ASSERT_GE(files.size(), 47u);
  for (const auto& f : files) {
    try {
      const std::string summary = Recipe::from_config(load_config(f, {})).summary();
      EXPECT_NE(summary.find("OK"), std::string::npos) << summary;
    } catch (const std::exception& e) {
      ADD_FAILURE() << f << ": " << e.what();
    }
  }
}

TEST(Configs, EveryRecipeBuildsWithInfo) {
  const std::string dir = test::make_temp_dir("configs");
  {
    std::ofstream list(dir + "/list");
    for (const auto& f : config_files()) list << f << "\n";
  }
  const auto r = test::run_command("xargs -P 4 -I{} sh -c '\"" + test::cli_path() +
                                   "\" info --threads 1 --config \"{}\" >/dev/null 2>&1 || echo \"FAILED {}\"' < " + dir +
                                   "/list");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "") << r.out;
  std::filesystem::remove_all(dir);
}

TEST(Configs, DryRunCommand) {
  const auto r = test::run_command(test::cli_path() + " train --dry-run --config " + test::source_dir() +
                                   "/configs/imagenet/shuffle_bytes_window_shuffle.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("shuffle_bytes window_shuffle"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("accepted with no effect"), std::string::npos) << r.out;
}

TEST(Configs, TrainRunsWithSleepingThreads) {
  // train re-executes itself with OpenMP's and OpenBLAS's threads set to sleep when they wait...
  const std::string dry_run = test::cli_path() + " train --threads 2 --dry-run --config " + test::source_dir() +
                              "/configs/quickstart/mnist.yaml";
  auto r = test::run_command("env -u OMP_WAIT_POLICY -u OPENBLAS_THREAD_TIMEOUT " + dry_run);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("threads: 2 intra-op; OMP_WAIT_POLICY=PASSIVE OPENBLAS_THREAD_TIMEOUT=4\n"), std::string::npos)
      << r.out;
  // OpenBLAS runs its kernels for this CPU: where its detection fell back to the generic SSE3
  // ones ("Prescott"), the re-execution asked for AVX-512's or AVX2's (openblas_coretype_for).
  const auto blas = r.out.find("BLAS: ");
  ASSERT_NE(blas, std::string::npos) << r.out;
  const std::string blas_line = r.out.substr(blas, r.out.find('\n', blas) - blas);
  if (blas_line.find("OpenBLAS") != std::string::npos && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma"))
    EXPECT_EQ(blas_line.find("Prescott"), std::string::npos) << blas_line;
  // ...and keeps what the user set.
  r = test::run_command("env -u OPENBLAS_THREAD_TIMEOUT OMP_WAIT_POLICY=ACTIVE " + dry_run);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("OMP_WAIT_POLICY=ACTIVE OPENBLAS_THREAD_TIMEOUT=(unset)\n"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace byteformer
