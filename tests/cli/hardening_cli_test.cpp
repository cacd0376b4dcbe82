// The real CLI given what a new user or a hostile input gives it: every case must
// fail with one readable line that names the flag, key, file or record, or warn, never run on.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "test_util.h"
#include "train/tiny_data.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

const std::string kDir = test::fixtures_dir() + "/corenet-tiny-k8-w32";
const std::string kConfig = kDir + "/config.yaml";

std::string cli() { return test::cli_path() + " "; }
std::string tiny_config() { return test::source_dir() + "/configs/test/tiny_image.yaml"; }

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The error is one line, the last one printed (notes such as the keys accepted without effect
// may come before it), and no C++ stack trace is anywhere.
void expect_one_error_line(const std::string& err) {
  ASSERT_FALSE(err.empty());
  const auto start = err.rfind('\n', err.size() - 2);
  const std::string last = err.substr(start == std::string::npos ? 0 : start + 1);
  EXPECT_EQ(last.rfind("error: ", 0), 0u) << err;
  EXPECT_EQ(err.find("error: "), err.size() - last.size()) << "more than one error line: " << err;
  EXPECT_FALSE(has(err, "frame #")) << err;
}

class HardeningCli : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::make_temp_dir("hardening"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    test::write_bytes(dir_ + "/" + name, std::vector<uint8_t>(text.begin(), text.end()));
    return dir_ + "/" + name;
  }
  std::string dir_;
};

// --- predict / eval need weights --------------------------------------------------------------

TEST_F(HardeningCli, PredictWithoutWeightsRefusesNamingTheFlag) {
  const auto r = test::run_command(cli() + "predict --threads 1 --config " + kConfig + " " + kDir +
                                   "/inputs/img0_32px.tiff");
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_TRUE(has(r.err, "--weights")) << r.err;
  EXPECT_TRUE(has(r.err, "model.classification.pretrained")) << r.err;
  EXPECT_EQ(r.out, "");  // no predictions of a random model
}

TEST_F(HardeningCli, EvalWithoutWeightsRefusesNamingTheFlag) {
  test::make_tiny_images(dir_ + "/data", 2, 2, /*broken=*/false);
  const std::string eval = cli() + "eval --threads 1 --config " + tiny_config() + " --override dataset.root_val=" +
                           dir_ + "/data/val";
  const auto r = test::run_command(eval);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_TRUE(has(r.err, "no weights: pass --weights")) << r.err;
  EXPECT_FALSE(has(r.out, "top1")) << r.out;
  // The config's own key names weights as well as the flag does.
  const auto train = test::run_command(cli() + "train --threads 1 --config " + tiny_config() +
                                       " --override dataset.root_train=" + dir_ + "/data/train --override "
                                       "dataset.root_val=" + dir_ + "/data/val --override common.results_loc=" +
                                       dir_ + "/runs --override scheduler.max_epochs=1");
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const auto ok = test::run_command(eval + " --override model.classification.pretrained=" + dir_ +
                                    "/runs/tiny_image/checkpoint_last.pt");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(has(ok.out, "top1")) << ok.out;
}

// --- config validation --------------------------------------------------------------------

TEST_F(HardeningCli, InfoValidatesKeysLikeTrainDryRun) {
  for (const std::string cmd : {"info", "train --dry-run"}) {
    const auto r = test::run_command(cli() + cmd + " --config " + kConfig + " --override common.sede=3");
    EXPECT_EQ(r.exit_code, 1) << cmd;
    EXPECT_TRUE(has(r.err, "'common.sede'")) << cmd << ": " << r.err;
    EXPECT_TRUE(has(r.err, "docs/CONFIG.md")) << cmd << ": " << r.err;  // not SPEC.md, which users lack
    EXPECT_FALSE(has(r.err, "SPEC.md")) << r.err;
  }
  EXPECT_TRUE(fs::exists(test::source_dir() + "/docs/CONFIG.md"));
}

// The library switches are read once, by the program, and a bad one is an error naming it;
// BYTEFORMER_ONEDNN=0 reaches the library (`--version` reports the oneDNN path off).
TEST_F(HardeningCli, LibrarySwitchesAreCheckedAtStartUp) {
  auto r = test::run_command("BYTEFORMER_ONEDNN=yes " + cli() + "--version");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "BYTEFORMER_ONEDNN=yes")) << r.err;
  r = test::run_command("BYTEFORMER_ONEDNN=0 " + cli() + "--version");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (!has(r.out, "oneDNN fast paths: not built")) EXPECT_TRUE(has(r.out, "oneDNN fast paths: built, off")) << r.out;
}

TEST_F(HardeningCli, DuplicateYamlKeysAreErrorsNamingFileAndKey) {
  const std::string base = test::read_text(kConfig);
  const std::string twice = write("two_commons.yaml", base + "common:\n  seed: 3\n");
  const std::string leaf = write("two_seeds.yaml", "common:\n  seed: 1\n  run_label: x\n  seed: 2\n" + base.substr(
                                                       base.find("dataset:")));
  for (const std::string cmd : {"info", "train --dry-run"}) {
    auto r = test::run_command(cli() + cmd + " --config " + twice);
    EXPECT_EQ(r.exit_code, 1) << cmd << ": " << r.out;
    EXPECT_TRUE(has(r.err, twice)) << r.err;
    EXPECT_TRUE(has(r.err, "duplicate key 'common'")) << r.err;
    r = test::run_command(cli() + cmd + " --config " + leaf);
    EXPECT_EQ(r.exit_code, 1) << cmd << ": " << r.out;
    EXPECT_TRUE(has(r.err, leaf)) << r.err;
    EXPECT_TRUE(has(r.err, "line 4: duplicate key 'common.seed' (first at line 2)")) << r.err;
  }
}

// --- absurd sizes, LibTorch's errors --------------------------------------------------------

TEST_F(HardeningCli, AbsurdModelSizeIsOneLineNamingTheKey) {
  const std::string huge = " --override model.classification.byteformer.embed_dim=1000000000"
                           " --override model.classification.byteformer.n_attn_heads=2";
  const std::string cmds[] = {
      "info --config " + kConfig + huge,
      "train --dry-run --config " + kConfig + huge,
      "predict --threads 1 --config " + kConfig + " --weights " + kDir + "/model.pt" + huge + " " + kDir +
          "/inputs/img0_32px.tiff",
      "eval --threads 1 --config " + kConfig + " --weights " + kDir + "/model.pt" + huge,
  };
  for (const auto& cmd : cmds) {
    const auto r = test::run_command(cli() + cmd);
    EXPECT_EQ(r.exit_code, 1) << cmd << ": " << r.out;
    EXPECT_TRUE(has(r.err, "error: config " + kConfig + ": model.classification.byteformer.embed_dim = 1000000000: "
                                                         "the model would hold"))
        << cmd << ": " << r.err;
    EXPECT_TRUE(has(r.err, "memory of this machine")) << r.err;
    expect_one_error_line(r.err);
    EXPECT_FALSE(has(r.out, "OK")) << r.out;
  }
  // The key that makes it large is named, whichever it is.
  const auto r = test::run_command(cli() + "info --config " + kConfig +
                                   " --override model.classification.n_classes=100000000000");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "model.classification.n_classes = 100000000000: the model would hold")) << r.err;
}

TEST_F(HardeningCli, LibTorchErrorsAreOneLineWithoutAStackTrace) {
  // A model that fits the machine's memory (4.6 GB of float32; the test needs a machine with
  // more) but not the address space this shell allows the process (2.9 GiB): LibTorch's
  // allocator throws c10::Error, whose what() holds a C++ stack trace of 23 frames after its
  // first line.
  const auto r = test::run_command("ulimit -v 3000000 && " + cli() + "info --threads 1 --config " + kConfig +
                                   " --override model.classification.byteformer.embed_dim=4000"
                                   " --override model.classification.byteformer.n_attn_heads=2"
                                   " --override model.classification.byteformer.ffn_dim=1000");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.err, "error: [enforce fail at alloc_cpu.cpp")) << r.err;
  EXPECT_TRUE(has(r.err, "can't allocate memory")) << r.err;
  expect_one_error_line(r.err);
}

// --- train: stale temp files, one numbering, finished runs, another model --------------------

TEST_F(HardeningCli, TrainCleansStaleTempFilesAndSaysWhenARunIsComplete) {
  test::make_tiny_images(dir_ + "/data", 2, 2, /*broken=*/false);
  const std::string run = dir_ + "/runs/tiny_image";
  fs::create_directories(run);
  // What a kill -9 during write_file_atomic leaves (pid 2147483646 exceeds any pid_max).
  const std::string stale[] = {".training_state_last.pt.tmp-2147483646-3fa2", ".checkpoint_last.pt.tmp-2147483646-b1"};
  for (const auto& s : stale) write("runs/tiny_image/" + s, "half a checkpoint");
  write("runs/tiny_image/.notes.tmp", "not ours");
  const std::string train = cli() + "train --threads 1 --config " + tiny_config() + " --override dataset.root_train=" +
                            dir_ + "/data/train --override dataset.root_val=" + dir_ +
                            "/data/val --override common.results_loc=" + dir_ + "/runs --override scheduler.max_epochs=2";
  auto r = test::run_command(train);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& s : stale) {
    EXPECT_FALSE(fs::exists(run + "/" + s)) << s;
    EXPECT_TRUE(has(r.err, s)) << r.err;
  }
  EXPECT_TRUE(has(r.err, "note: removed 2 temporary file(s) an interrupted write left in " + run)) << r.err;
  EXPECT_TRUE(fs::exists(run + "/.notes.tmp"));
  EXPECT_TRUE(has(r.out, "after 2 epochs")) << r.out;

  // The same command again: nothing to train; say so and where the weights are.
  r = test::run_command(train);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "run already complete (2 epochs")) << r.out;
  EXPECT_TRUE(has(r.out, run + "/checkpoint_best.pt")) << r.out;
  EXPECT_FALSE(has(r.out, "after 0 epochs")) << r.out;

  // The same folder with another model: say so and how to start fresh.
  r = test::run_command(train + " --override model.classification.byteformer.embed_dim=64");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.err, run + "/training_state_last.pt holds the training state of a different model")) << r.err;
  EXPECT_TRUE(has(r.err, "common.run_label")) << r.err;
  EXPECT_TRUE(has(r.err, "or delete " + run)) << r.err;
  expect_one_error_line(r.err);
}

// --- encode -------------------------------------------------------------------------------

TEST_F(HardeningCli, EncodeWarnsAboutOptionsOfADisabledTransform) {
  const std::string png = test::fixtures_dir() + "/encoders/image0.png";
  const auto r = test::run_command(cli() + "encode --to tiff " + png + " " + dir_ +
                                   "/out.tiff --privacy shuffle_bytes.mode=reverse");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.err, "warning: --privacy shuffle_bytes.mode is set but shuffle_bytes is not enabled, so it is "
                         "not applied; add shuffle_bytes.enable=true"))
      << r.err;
  EXPECT_EQ(test::read_bytes(dir_ + "/out.tiff"), test::read_bytes(test::fixtures_dir() + "/encoders/image0.tiff"));
  // Enabled: no warning.
  const auto ok = test::run_command(cli() + "encode --to tiff " + png + " " + dir_ +
                                    "/rev.tiff --privacy shuffle_bytes.enable=true shuffle_bytes.mode=reverse");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_FALSE(has(ok.err, "warning")) << ok.err;
}

TEST_F(HardeningCli, EncodeTruncatedWavWarnsAndSampleRateIsChecked) {
  const std::string wav = kDir + "/inputs/tone0.wav";
  auto bytes = test::read_bytes(wav);
  ASSERT_GT(bytes.size(), 1000u);
  bytes.resize(1000);
  test::write_bytes(dir_ + "/cut.wav", bytes);
  auto r = test::run_command(cli() + "encode --to wav:int16 " + dir_ + "/cut.wav " + dir_ + "/out.wav");
  EXPECT_TRUE(has(r.err, dir_ + "/cut.wav: WAV data chunk declares")) << r.err;
  EXPECT_TRUE(has(r.err, "truncated?")) << r.err;

  for (const std::string rate : {"0", "-8000"}) {
    r = test::run_command(cli() + "encode --to wav:int16 --sample-rate " + rate + " " + wav + " " + dir_ + "/x.wav");
    EXPECT_NE(r.exit_code, 0) << rate;
    EXPECT_TRUE(has(r.err, "--sample-rate: expected a positive integer, got " + rate)) << r.err;
  }
  r = test::run_command(cli() + "encode --to png --sample-rate 8000 " + test::fixtures_dir() + "/encoders/image0.png " +
                        dir_ + "/x.png");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "--sample-rate applies to sound")) << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/x.png"));
}

TEST_F(HardeningCli, EncodeToDashWritesStandardOutput) {
  const std::string png = test::fixtures_dir() + "/encoders/image0.png";
  const auto r = test::run_command("cd " + dir_ + " && " + cli() + "encode --to tiff " + png + " -");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/-"));
  const auto want = test::read_bytes(test::fixtures_dir() + "/encoders/image0.tiff");
  EXPECT_EQ(std::vector<uint8_t>(r.out.begin(), r.out.end()), want);
}

// A result that cannot be written is a failure, not a silent success (predict > /dev/full once
// exited 0 with every answer lost).
TEST_F(HardeningCli, ResultsThatCannotBeWrittenFailTheRun) {
  const std::string predict = cli() + "predict --threads 1 --raw --config " + kConfig + " --weights " + kDir +
                              "/model.pt " + kDir + "/inputs/img0_32px.jpg";
  auto r = test::run_command("(" + predict + " > /dev/full)");  // the inner redirection wins
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "error: writing the results to standard output failed")) << r.err;
  r = test::run_command("(" + predict + " --json > /dev/full)");
  EXPECT_EQ(r.exit_code, 1);
  r = test::run_command(predict);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "img0_32px.jpg")) << r.out;
}

// --- flags and names ----------------------------------------------------------------------

TEST_F(HardeningCli, MistypedCommandIsNamedWithTheList) {
  const auto r = test::run_command(cli() + "predcit --config x.yaml a.jpg");
  EXPECT_EQ(r.exit_code, 2);  // a usage error
  EXPECT_TRUE(has(r.err, "unknown command 'predcit' (did you mean 'predict'?)")) << r.err;
  for (const char* c : {"predict", "info", "encode", "train", "eval", "data", "report"}) EXPECT_TRUE(has(r.err, c));
  EXPECT_FALSE(has(r.err, "A subcommand is required")) << r.err;
}

// A mistyped flag is named with the closest of the command's flags (CLI11 alone said only
// "The following argument was not expected").
TEST_F(HardeningCli, MistypedFlagIsNamedWithTheClosestOne) {
  auto r = test::run_command(cli() + "predict --topk 3 --config " + kConfig + " a.jpg");
  EXPECT_EQ(r.exit_code, 2);  // a usage error
  EXPECT_TRUE(has(r.err, "error: unknown flag '--topk' for predict (did you mean '--top-k'?)")) << r.err;
  r = test::run_command(cli() + "data fashion-mnist --limt=5 --out " + dir_);  // a sub-subcommand's flags
  EXPECT_TRUE(has(r.err, "unknown flag '--limt' for fashion-mnist (did you mean '--limit'?)")) << r.err;
  r = test::run_command(cli() + "info --config " + kConfig + " --input-bytes 100 --zzzzzzzz");
  EXPECT_TRUE(has(r.err, "error: unknown flag '--zzzzzzzz' for info; byteformer info --help lists them")) << r.err;
}

// One voice: a command line that cannot run is `error: ...` and status 2; a failure while
// running is status 1, and a failed input's reason is on stdout beside its name too.
TEST_F(HardeningCli, UsageErrorsExitTwoAndFailuresOne) {
  auto r = test::run_command(cli() + "predict --threshold 1.5 --config " + kConfig + " a.jpg");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "error: --threshold: expected a number from 0 to 1, got '1.5'; byteformer predict --help")) << r.err;
  EXPECT_FALSE(has(r.err, "0.000000")) << r.err;
  r = test::run_command(cli() + "predict --config " + kConfig);  // no file
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "error: files is required")) << r.err;
  r = test::run_command(cli() + "train");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "error: --data DIR")) << r.err;
  r = test::run_command(cli() + "--help");
  EXPECT_EQ(r.exit_code, 0);
  const std::string missing = dir_ + "/no_such.png";
  r = test::run_command(cli() + "predict --config " + kConfig + " --weights " + kDir + "/model.pt " + missing);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.out, missing + ": error: " + missing + ": cannot open")) << r.out;
}

TEST_F(HardeningCli, DirectoryForAFileNamesThePath) {
  auto r = test::run_command(cli() + "info --config " + dir_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(has(r.err, dir_ + ": is a directory")) << r.err;
  EXPECT_FALSE(has(r.err, "basic_filebuf")) << r.err;
  r = test::run_command(cli() + "predict --config " + kConfig + " --weights " + dir_ + " " + kDir +
                        "/inputs/img0_32px.tiff");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(has(r.err, dir_ + ": is a directory")) << r.err;
  r = test::run_command(cli() + "encode --to tiff " + dir_ + " " + dir_ + "/x.tiff");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(has(r.err, dir_ + ": is a directory")) << r.err;
}

TEST_F(HardeningCli, CountsAreCheckedWithReadableMessages) {
  auto r = test::run_command(cli() + "eval --config " + kConfig + " --weights " + kDir + "/model.pt --batch-size 0");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(has(r.err, "--batch-size: expected a positive integer, got 0")) << r.err;
  EXPECT_FALSE(has(r.err, "1797")) << r.err;  // CLI11's range of 309 digits
  r = test::run_command(cli() + "eval --config " + kConfig + " --weights " + kDir + "/model.pt --batch-size -4");
  EXPECT_TRUE(has(r.err, "--batch-size: expected a positive integer, got -4")) << r.err;
  r = test::run_command(cli() + "info --threads -3 --config " + kConfig);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(has(r.err, "--threads: expected an integer >= 0, got -3")) << r.err;
  r = test::run_command(cli() + "info --threads 0 --config " + kConfig);  // 0: all cores
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // More threads than a few per core only wait on each other (2147483647 ran out of memory in
  // OpenMP): refused before anything starts.
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  for (const std::string n : {std::to_string(4 * cores + 1), std::string("2147483647")}) {
    r = test::run_command(cli() + "info --threads " + n + " --config " + kConfig);
    EXPECT_NE(r.exit_code, 0) << n;
    EXPECT_TRUE(has(r.err, fmt::format("--threads: expected at most {} (4 per core, {} cores here), got {}", 4 * cores,
                                       cores, n)))
        << r.err;
  }
  r = test::run_command(cli() + "info --threads " + std::to_string(4 * cores) + " --config " + kConfig);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const std::string n : {"0", "-5"}) {
    r = test::run_command(cli() + "info --input-bytes " + n + " --config " + kConfig);
    EXPECT_NE(r.exit_code, 0) << n << ": " << r.out;
    EXPECT_TRUE(has(r.err, "--input-bytes: expected a positive integer, got " + n)) << r.err;
  }
  // Inputs predict refuses, info refuses: k=8 stride 4, max_num_tokens 2048 -> at most 8199 bytes.
  r = test::run_command(cli() + "info --input-bytes 8200 --config " + kConfig);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "input of 8200 bytes gives 2049 tokens after the Conv1d, more than max_num_tokens 2048")) << r.err;
  EXPECT_TRUE(has(r.err, "at most 8199 bytes")) << r.err;
  // Fewer bytes than the kernel: an error in CoreNet's numerics, one token in masked numerics
  // (info's default for a model without weights).
  r = test::run_command(cli() + "info --input-bytes 5 --config " + kConfig +
                        " --override model.classification.byteformer.numerics=corenet");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "fewer than conv_kernel_size 8")) << r.err;
  r = test::run_command(cli() + "info --input-bytes 5 --config " + kConfig);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "input: 5 bytes")) << r.out;
  // Without --input-bytes: dummy_input_token_length (48564) is too long here; the longest input.
  r = test::run_command(cli() + "info --config " + kConfig);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "input: 8199 bytes")) << r.out;
  EXPECT_TRUE(has(r.err, "showing the longest input the model takes, 8199 bytes")) << r.err;
}

TEST_F(HardeningCli, HelpShowsDefaults) {
  auto r = test::run_command(cli() + "eval --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r.out, "=validation")) << r.out;                // --split
  EXPECT_TRUE(has(r.out, "=dataset.eval_batch_size0")) << r.out;  // --batch-size
  EXPECT_TRUE(has(r.out, "=0 (all cores)")) << r.out;             // --threads
  r = test::run_command(cli() + "encode --help");
  EXPECT_TRUE(has(r.out, "=the file's rate")) << r.out;  // --sample-rate
  r = test::run_command(cli() + "train --help");
  EXPECT_TRUE(has(r.out, "=29500")) << r.out;  // --master-port
  r = test::run_command(cli() + "predict --help");
  EXPECT_TRUE(has(r.out, "=5")) << r.out;  // --top-k
}

}  // namespace
}  // namespace byteformer
