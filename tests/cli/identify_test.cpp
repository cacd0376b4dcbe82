// `byteformer identify` through the real CLI with the shipped model (models/file-types, found
// by the default lookup): real files of this machine from Debian's packages (ELF, PNG, Python,
// gzip, JSON), the bad inputs (empty, 1-byte, a fifo nobody writes, /dev/zero, unreadable, a
// name that is not UTF-8, a directory without -r, a symlink with --no-dereference, 50 GB), -r, stdin,
// the prediction modes and the --json record; the same for `byteformer-identify`, which must
// answer as the LibTorch program does. BYTEFORMER_IDENTIFY_TEST_MODEL=RUN_DIR runs them against
// another run folder.
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "byteformer/classify/file_type_info.h"
#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

// The two programs: `byteformer identify` (LibTorch) and `byteformer-identify` (the exported
// model.bfm on plain C++), which answer alike.
enum class Program { kCli, kLite };

std::string program_name(Program p) { return p == Program::kCli ? "byteformer identify" : "byteformer-identify"; }

std::string identify(Program program, const std::string& args) {
  const char* model = std::getenv("BYTEFORMER_IDENTIFY_TEST_MODEL");
  const std::string model_flag = model != nullptr ? "--model '" + std::string(model) + "' " : "";
  if (program == Program::kLite) return std::string(BYTEFORMER_IDENTIFY_PATH) + " " + model_flag + args;
  return test::cli_path() + " identify " + model_flag + args;
}

std::string identify(const std::string& args) { return identify(Program::kCli, args); }

// The tests below run each program.
class IdentifyPrograms : public ::testing::TestWithParam<Program> {
 protected:
  void SetUp() override {
    const char* model = std::getenv("BYTEFORMER_IDENTIFY_TEST_MODEL");
    if (GetParam() == Program::kLite && model != nullptr && !fs::exists(fs::path(model) / "model.bfm"))
      GTEST_SKIP() << model << " has no model.bfm (byteformer export " << model << " makes it)";
  }
  std::string identify(const std::string& args) const { return byteformer::identify(GetParam(), args); }
};

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// The first existing path of `patterns` (shell globs, in order), or "" when none exists.
std::string first_existing(const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    glob_t g{};
    if (::glob(p.c_str(), 0, nullptr, &g) == 0 && g.gl_pathc > 0) {
      std::string found = g.gl_pathv[0];
      ::globfree(&g);
      if (fs::is_regular_file(found)) return found;
    } else {
      ::globfree(&g);
    }
  }
  return "";
}

struct RealFile {
  std::string label;  // what the shipped model says (the corpus's label for it)
  std::vector<std::string> candidates;
};

// Files of Debian 12's base and build packages: coreutils, debconf, libpython3.11-stdlib, every
// package's changelog, cmake-data.
const std::vector<RealFile> kRealFiles = {
    {"elf", {"/bin/ls", "/usr/bin/env"}},
    {"png", {"/usr/share/pixmaps/debian-logo.png", "/usr/share/icons/hicolor/*/apps/*.png"}},
    {"python", {"/usr/lib/python3*/json/decoder.py", "/usr/lib/python3*/os.py"}},
    {"gzip", {"/usr/share/doc/bash/changelog.Debian.gz", "/usr/share/doc/*/changelog.Debian.gz"}},
    {"json", {"/usr/share/cmake-*/Help/manual/presets/schema.json", "/usr/share/cmake-*/Help/manual/presets/example.json"}},
};

TEST_P(IdentifyPrograms, RealFilesOfThisMachineGetTheirTypes) {
  std::vector<std::string> paths;
  std::vector<std::string> labels;
  for (const auto& f : kRealFiles) {
    const std::string path = first_existing(f.candidates);
    if (path.empty()) GTEST_SKIP() << "no " << f.label << " file here (looked for " << f.candidates.front() << ")";
    paths.push_back(path);
    labels.push_back(f.label);
  }
  std::string args;
  for (const auto& p : paths) args += " '" + p + "'";

  // The model's own label for each, and the record's keys, group, MIME type and top classes.
  const auto r = test::run_command(identify("--json --mode best-guess" + args));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), paths.size()) << r.out;
  for (size_t i = 0; i < paths.size(); ++i) {
    const auto& j = lines[i];
    SCOPED_TRACE(paths[i]);
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(keys, (std::vector<std::string>{"group", "label", "mime_type", "model_label", "path", "score", "top"}));
    EXPECT_EQ(j["path"], paths[i]);
    EXPECT_EQ(j["label"], labels[i]) << j;
    EXPECT_EQ(j["model_label"], labels[i]);
    EXPECT_EQ(j["group"], std::string(file_type_info(labels[i]).group));
    EXPECT_EQ(j["mime_type"], std::string(file_type_info(labels[i]).mime_type));
    ASSERT_EQ(j["top"].size(), 3u);  // --top's default
    EXPECT_EQ(j["top"][0]["label"], labels[i]);
    EXPECT_EQ(j["top"][0]["score"], j["score"]);
    EXPECT_GT(j["score"].get<double>(), j["top"][1]["score"].get<double>());
  }
  EXPECT_EQ(lines[0]["group"], "executable");
  EXPECT_EQ(lines[1]["mime_type"], "image/png");

  // The text line: `path: label (score%)`, the default mode (the calibrated thresholds).
  const auto text = test::run_command(identify("--top 1" + args));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  std::istringstream in(text.out);
  std::string line;
  for (size_t i = 0; i < paths.size(); ++i) {
    ASSERT_TRUE(std::getline(in, line)) << text.out;
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, std::regex("(.*): ([a-z0-9]+) \\(([0-9]+\\.[0-9])%\\)"))) << line;
    EXPECT_EQ(m[1], paths[i]);
    EXPECT_TRUE(m[2] == labels[i] || m[2] == "txt" || m[2] == "unknown") << line;  // below its threshold: a fallback
    EXPECT_NEAR(std::stod(m[3]), 100.0 * lines[i]["score"].get<double>(), 0.051) << line;
  }
  EXPECT_FALSE(std::getline(in, line)) << text.out;
}

TEST_P(IdentifyPrograms, BadInputsAreEachOneRecord) {
  const std::string root = test::make_temp_dir("identify_bad");
  test::write_bytes(root + "/empty", {});
  test::write_bytes(root + "/one_text", {'A'});
  test::write_bytes(root + "/one_binary", {0xff});
  const std::string fifo = root + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string bad_name = root + "/caf\xe9\n.py";  // Latin-1 and a newline: not UTF-8, not one line
  std::ofstream(bad_name) << "import os\n\n\ndef main():\n    print(os.getcwd())\n\n\nif __name__ == '__main__':\n"
                             "    main()\n";
  fs::create_directory(root + "/dir");
  fs::create_symlink(root + "/one_text", root + "/link");
  // 50 GB (sparse): only its windows are read, as of a small file.
  test::write_bytes(root + "/huge", {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
  ASSERT_EQ(::truncate((root + "/huge").c_str(), int64_t{50} << 30), 0) << std::strerror(errno);
  const std::vector<std::string> args = {root + "/empty", root + "/one_text", root + "/one_binary", fifo, "/dev/zero",
                                         root + "/dir", root + "/link", bad_name, root + "/missing", root + "/huge"};
  std::string joined;
  for (const auto& a : args) joined += " '" + a + "'";
  const auto r = test::run_command("timeout 60 " + identify("--json --no-dereference --read-timeout 1" + joined));
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the fifo and the missing file
  EXPECT_NE(r.err.find("2 of 10 inputs could not be identified"), std::string::npos) << r.err;
  const auto lines = json_lines(r.out);  // every line valid JSON, the odd name included
  ASSERT_EQ(lines.size(), args.size()) << r.out;
  auto label = [&](size_t i) { return lines[i]["label"].is_string() ? lines[i]["label"].get<std::string>() : "null"; };
  EXPECT_EQ(label(0), "empty");
  EXPECT_EQ(lines[0]["group"], "inode");
  EXPECT_EQ(lines[0]["mime_type"], "inode/x-empty");
  EXPECT_EQ(label(1), "txt");      // under 8 bytes: by its bytes, as Magika
  EXPECT_EQ(label(2), "unknown");
  EXPECT_TRUE(lines[3]["label"].is_null());
  EXPECT_NE(lines[3]["error"].get<std::string>().find("gave no data for 1 s"), std::string::npos) << lines[3];
  EXPECT_TRUE(lines[4].contains("score")) << lines[4];  // /dev/zero: its first bytes, through the model
  EXPECT_FALSE(lines[4].contains("error")) << lines[4];
  EXPECT_EQ(label(5), "directory");
  EXPECT_EQ(lines[5]["mime_type"], "inode/directory");
  EXPECT_EQ(label(6), "symlink");
  EXPECT_EQ(lines[7]["path"], root + "/caf\\xe9\\n.py");
  EXPECT_TRUE(lines[7]["model_label"].is_string());
  EXPECT_NE(lines[8]["error"].get<std::string>().find("No such file"), std::string::npos) << lines[8];
  EXPECT_TRUE(lines[9]["model_label"].is_string()) << lines[9];
  for (size_t i = 0; i < args.size(); ++i)
    if (i != 7) EXPECT_EQ(lines[i]["path"], args[i]);

  // The text form: the escaped name on one line, the errors as `path: error: REASON`.
  const auto text = test::run_command("timeout 60 " + identify("--read-timeout 1 '" + bad_name + "' '" + fifo +
                                                               "' '" + root + "/dir' '" + root + "/link'"));
  EXPECT_EQ(text.exit_code, 1) << text.err;
  std::istringstream in(text.out);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line.rfind(root + "/caf\\xe9\\n.py: ", 0), 0u) << line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line.rfind(fifo + ": error: ", 0), 0u) << line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, root + "/dir: directory (100.0%)");
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, root + "/link: txt (100.0%)");  // followed without --no-dereference
  fs::remove_all(root);
}

TEST(IdentifyCli, UnreadableFileAndFolderAreErrorRecords) {
  const std::string root = test::make_temp_dir("identify_unreadable");
  ::chmod(root.c_str(), 0755);
  test::write_bytes(root + "/secret", std::vector<uint8_t>(100, 'x'));
  ::chmod((root + "/secret").c_str(), 0);
  fs::create_directories(root + "/tree/locked");
  test::write_bytes(root + "/tree/locked/inside", {'h', 'i'});
  test::write_bytes(root + "/tree/open", {'h', 'i'});
  ::chmod((root + "/tree").c_str(), 0755);
  ::chmod((root + "/tree/locked").c_str(), 0);
  std::string command = identify("--json -r '" + root + "/secret' '" + root + "/tree'");
  if (::geteuid() == 0) {  // root reads any file: run as nobody
    if (std::system("command -v setpriv >/dev/null") != 0) GTEST_SKIP() << "running as root and no setpriv";
    command = "setpriv --reuid=65534 --regid=65534 --clear-groups " + command;
  }
  const auto r = test::run_command(command);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out << r.err;
  EXPECT_EQ(lines[0]["path"], root + "/secret");
  EXPECT_NE(lines[0]["error"].get<std::string>().find("Permission denied"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1]["path"], root + "/tree/locked");  // a folder -r cannot list is a record, in its place
  EXPECT_NE(lines[1]["error"].get<std::string>().find("cannot list"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[2]["path"], root + "/tree/open");
  EXPECT_EQ(lines[2]["label"], "txt");
  ::chmod((root + "/tree/locked").c_str(), 0755);
  fs::remove_all(root);
}

TEST_P(IdentifyPrograms, RecursiveWalkStdinAndBatches) {
  const std::string root = test::make_temp_dir("identify_walk");
  fs::create_directories(root + "/tree/sub");
  const std::string elf = first_existing({"/bin/ls", "/usr/bin/env"});
  ASSERT_FALSE(elf.empty());
  fs::copy_file(elf, root + "/tree/sub/prog");
  // 150 small text files of several lengths: ten forward passes of --batch-size 16, the answers
  // written every four, in one process.
  for (int i = 0; i < 150; ++i)
    std::ofstream(root + "/tree/n" + std::to_string(1000 + i) + ".txt")
        << "note " << i << ": nothing to see here" << std::string(static_cast<size_t>(i * 13 % 200), '.') << "\n";
  fs::create_symlink("sub", root + "/tree/z_link");
  const auto r = test::run_command(identify("--json -r --mode best-guess --batch-size 16 '" + root + "/tree'"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 152u) << r.out;
  EXPECT_EQ(lines[0]["path"], root + "/tree/n1000.txt");  // sorted
  EXPECT_EQ(lines[150]["path"], root + "/tree/sub/prog");
  EXPECT_EQ(lines[150]["label"], "elf");
  EXPECT_EQ(lines[151]["path"], root + "/tree/z_link");  // a link to a directory is not walked
  EXPECT_EQ(lines[151]["label"], "directory");
  for (size_t i = 0; i < 150; ++i) EXPECT_TRUE(lines[i]["model_label"].is_string()) << lines[i];
  // Batched by length, each file still gets its own answer: the same as alone.
  const auto alone = test::run_command(identify("--json --mode best-guess '" + root + "/tree/n1007.txt'"));
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_EQ(json_lines(alone.out).at(0)["top"][0]["label"], lines[7]["top"][0]["label"]);
  EXPECT_NEAR(json_lines(alone.out).at(0)["score"].get<double>(), lines[7]["score"].get<double>(), 1e-5);

  // Standard input, piped or redirected from a file: the path is "-".
  const auto piped = test::run_command("cat '" + elf + "' | " + identify("--mode best-guess -"));
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out.rfind("-: elf (", 0), 0u) << piped.out;
  const auto redirected = test::run_command(identify("--mode best-guess --no-dereference - < '" + elf + "'"));
  EXPECT_EQ(redirected.out, piped.out);
  fs::remove_all(root);
}

INSTANTIATE_TEST_SUITE_P(BothPrograms, IdentifyPrograms, ::testing::Values(Program::kCli, Program::kLite),
                         [](const ::testing::TestParamInfo<Program>& info) {
                           return info.param == Program::kCli ? std::string("LibTorch") : std::string("Lite");
                         });

// The shipped model.bfm is what `byteformer export` makes of the shipped run folder today, and
// the two programs answer alike on real files of this machine: the same labels in every mode,
// the same probabilities to float32 rounding.
TEST(IdentifyCli, LiteProgramAnswersAsTheLibTorchOne) {
  if (std::getenv("BYTEFORMER_IDENTIFY_TEST_MODEL") != nullptr) GTEST_SKIP() << "the shipped model's test";
  const std::string model = test::source_dir() + "/models/file-types";
  const std::string root = test::make_temp_dir("identify_lite");
  const auto exported = test::run_command(test::cli_path() + " export '" + model + "' -o '" + root + "/model.bfm'");
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(test::read_text(root + "/model.bfm"), test::read_text(model + "/model.bfm"))
      << "models/file-types/model.bfm is not the export of its checkpoint: run scripts/file_types_model.sh "
         "--skip-setup (or byteformer export models/file-types)";

  std::vector<std::string> files;
  for (const char* pattern : {"/usr/share/doc/coreutils/*", "/usr/lib/python3*/json/*.py", "/bin/l*",
                              "/usr/share/pixmaps/*", "/usr/share/cmake-*/Help/manual/presets/*",
                              "/usr/share/perl/5*/File/*.pm", "/etc/*.conf"}) {
    glob_t g{};
    if (::glob(pattern, 0, nullptr, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc && i < 8; ++i)
        if (fs::is_regular_file(g.gl_pathv[i]) && ::access(g.gl_pathv[i], R_OK) == 0) files.push_back(g.gl_pathv[i]);
    ::globfree(&g);
  }
  ASSERT_GE(files.size(), 10u);
  std::string args;
  for (const auto& f : files) args += " '" + f + "'";
  for (const std::string mode : {"high-confidence", "best-guess"}) {
    SCOPED_TRACE(mode);
    const auto a = test::run_command(identify(Program::kCli, "--json --top 5 --mode " + mode + args));
    const auto b = test::run_command(identify(Program::kLite, "--json --top 5 --mode " + mode + args));
    ASSERT_EQ(a.exit_code, 0) << a.err;
    ASSERT_EQ(b.exit_code, 0) << b.err;
    const auto x = json_lines(a.out), y = json_lines(b.out);
    ASSERT_EQ(x.size(), files.size());
    ASSERT_EQ(y.size(), files.size());
    for (size_t i = 0; i < files.size(); ++i) {
      SCOPED_TRACE(files[i]);
      EXPECT_EQ(x[i]["label"], y[i]["label"]);
      EXPECT_EQ(x[i]["model_label"], y[i]["model_label"]);
      ASSERT_EQ(x[i]["top"].size(), y[i]["top"].size());
      for (size_t k = 0; k < x[i]["top"].size(); ++k)
        EXPECT_NEAR(x[i]["top"][k]["score"].get<double>(), y[i]["top"][k]["score"].get<double>(), 2e-5) << k;
    }
  }
  // On several threads, each file is still answered alone: the same bytes out.
  const auto one = test::run_command(identify(Program::kLite, "--json --mode best-guess" + args));
  const auto three = test::run_command(identify(Program::kLite, "--json --mode best-guess --threads 3" + args));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(three.exit_code, 0) << three.err;
  EXPECT_EQ(three.out, one.out);
  EXPECT_EQ(json_lines(one.out).size(), files.size());

  // The lite program's own errors: a model file that is not one, a folder without one.
  test::write_bytes(root + "/bad.bfm", {'n', 'o', 't', ' ', 'a', ' ', 'm', 'o', 'd', 'e', 'l'});
  const auto bad = test::run_command(std::string(BYTEFORMER_IDENTIFY_PATH) + " --model '" + root + "/bad.bfm' /bin/ls");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find(root + "/bad.bfm"), std::string::npos) << bad.err;
  fs::create_directory(root + "/empty_dir");
  const auto none = test::run_command(std::string(BYTEFORMER_IDENTIFY_PATH) + " --model '" + root + "/empty_dir' /bin/ls");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no model.bfm in this folder"), std::string::npos) << none.err;
  const auto usage = test::run_command(std::string(BYTEFORMER_IDENTIFY_PATH) + " --mode sure /bin/ls");
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("--mode"), std::string::npos) << usage.err;
  fs::remove_all(root);
}

// predict with a file-bytes model reads the same byte window from a pipe as from the file: the
// same answer and score, not an input too long for the model.
TEST(IdentifyCli, PredictCutsAPipedFileToTheModelsByteWindow) {
  const char* env = std::getenv("BYTEFORMER_IDENTIFY_TEST_MODEL");
  const std::string model = env != nullptr ? env : test::source_dir() + "/models/file-types";
  const std::string elf = first_existing({"/bin/ls", "/usr/bin/env"});
  ASSERT_FALSE(elf.empty());
  ASSERT_GT(fs::file_size(elf), 4096u);
  const std::string predict = test::cli_path() + " predict --json --threshold 0 --model '" + model + "' ";
  const auto from_file = test::run_command(predict + "'" + elf + "'");
  const auto from_pipe = test::run_command("cat '" + elf + "' | " + predict + "-");
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  ASSERT_EQ(from_pipe.exit_code, 0) << from_pipe.out << from_pipe.err;
  const auto a = json_lines(from_file.out).at(0), b = json_lines(from_pipe.out).at(0);
  EXPECT_EQ(a["label"], "elf") << from_file.out;
  EXPECT_EQ(b["label"], "elf") << from_pipe.out;
  EXPECT_EQ(b["num_bytes"].get<int64_t>(), 2048) << "the model read the first and last 1,024 bytes";
  EXPECT_NEAR(a["top"][0]["prob"].get<double>(), b["top"][0]["prob"].get<double>(), 1e-6);
}

TEST(IdentifyCli, PredictionModesAndTheirFallbacks) {
  // A copy of the model whose calibrated thresholds no answer reaches.
  const char* env = std::getenv("BYTEFORMER_IDENTIFY_TEST_MODEL");
  const std::string model = env != nullptr ? env : test::source_dir() + "/models/file-types";
  const std::string root = test::make_temp_dir("identify_modes");
  fs::copy(model, root + "/model", fs::copy_options::recursive);
  nlohmann::json t = nlohmann::json::parse(test::read_text(model + "/thresholds.json"));
  for (auto& [label, p] : t["thresholds"].items()) p = 1.0;
  std::ofstream(root + "/model/thresholds.json") << t.dump();
  const std::string elf = first_existing({"/bin/ls", "/usr/bin/env"});
  const std::string py = root + "/a.py";
  std::ofstream(py) << "import sys\n\n\ndef main():\n    for arg in sys.argv[1:]:\n        print(arg)\n\n\n"
                       "if __name__ == '__main__':\n    main()\n";
  auto labels = [&](const std::string& mode) {
    const auto r = test::run_command(test::cli_path() + " identify --json --model '" + root + "/model' " + mode +
                                     " '" + elf + "' '" + py + "'");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto lines = json_lines(r.out);
    EXPECT_EQ(lines.size(), 2u) << r.out;
    std::vector<std::string> out;
    for (const auto& j : lines) out.push_back(j["label"].get<std::string>() + "/" + j["model_label"].get<std::string>());
    return out;
  };
  EXPECT_EQ(labels(""), (std::vector<std::string>{"unknown/elf", "txt/python"}));  // high-confidence: thresholds 1
  EXPECT_EQ(labels("--mode medium-confidence"), (std::vector<std::string>{"elf/elf", "python/python"}));
  EXPECT_EQ(labels("--mode best-guess"), (std::vector<std::string>{"elf/elf", "python/python"}));
  const auto bad = test::run_command(test::cli_path() + " identify --mode sure " + py);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--mode"), std::string::npos) << bad.err;
  const auto missing = test::run_command(test::cli_path() + " identify --model '" + root + "/nothing' " + py);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find(root + "/nothing"), std::string::npos) << missing.err;
  // A run folder of an image model is refused by name.
  const std::string fixture = test::fixtures_dir() + "/corenet-tiny-k8-w32";
  if (fs::exists(fixture + "/model.pt")) {
    fs::create_directory(root + "/image_run");
    fs::copy_file(fixture + "/config.yaml", root + "/image_run/config.yaml");
    fs::copy_file(fixture + "/model.pt", root + "/image_run/checkpoint_best.pt");
    std::ofstream(root + "/image_run/metrics.jsonl") << "{\"val_top1\": 1.0}\n";
    const auto image = test::run_command(test::cli_path() + " identify --model '" + root + "/image_run' " + py);
    EXPECT_EQ(image.exit_code, 1);
    EXPECT_NE(image.err.find("a model of image files, not of file bytes"), std::string::npos) << image.err;
  }
  fs::remove_all(root);
}

TEST(FileTypeInfo, TableCoversTheCorpusLabelsAndTheRuleAnswers) {
  const auto& table = file_type_table();
  EXPECT_TRUE(std::is_sorted(table.begin(), table.end(),
                             [](const FileTypeInfo& a, const FileTypeInfo& b) { return a.label < b.label; }));
  for (const char* label : {"asm", "elf", "gzip", "json", "pdf", "png", "python", "sqlite", "txt", "unknown",
                            "empty", "directory", "symlink", "woff2", "yaml", "zip"})
    EXPECT_TRUE(is_known_file_type(label)) << label;
  EXPECT_EQ(file_type_info("png").mime_type, "image/png");
  EXPECT_EQ(file_type_info("python").group, "code");
  EXPECT_EQ(file_type_info("sqlite").mime_type, "application/vnd.sqlite3");
  EXPECT_EQ(file_type_info("my_own_class").group, "unknown");
  for (const auto& row : table) {
    EXPECT_FALSE(row.group.empty()) << row.label;
    EXPECT_NE(row.mime_type.find('/'), std::string_view::npos) << row.label;
  }
  EXPECT_EQ(file_type_verdict("json", 0.49, PredictionMode::kMediumConfidence, 0.9, true), "txt");
  EXPECT_EQ(file_type_verdict("json", 0.5, PredictionMode::kMediumConfidence, 0.9, true), "json");
  EXPECT_EQ(file_type_verdict("elf", 0.8, PredictionMode::kHighConfidence, 0.9, false), "unknown");
  EXPECT_EQ(file_type_verdict("elf", 0.01, PredictionMode::kBestGuess, 0.9, false), "elf");
  EXPECT_EQ(parse_prediction_mode("medium"), PredictionMode::kMediumConfidence);
  EXPECT_THROW(parse_prediction_mode("sure"), std::invalid_argument);
}

}  // namespace
}  // namespace byteformer
