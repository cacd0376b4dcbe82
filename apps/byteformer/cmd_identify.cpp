// `byteformer identify`: what type of file is this, as `file` and Magika answer it, from the
// shipped file-type model (models/file-types) or a run folder of one's own. A file's type comes
// from its byte window (the first and last bytes the model reads: a 50 GB file costs what a
// 4 KB one does); files go through the model in batches, in one process. Empty files,
// directories, symbolic links (--no-dereference) and files too short for the model are
// answered by rule, as Magika answers them; below the model's confidence the answer is `txt` or
// `unknown`, by Magika's prediction modes (docs/CLI.md#identify).
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "byteformer/classify/classifier.h"
#include "byteformer/classify/file_type_info.h"
#include "byteformer/data/byte_window.h"
#include "byteformer/io/display_name.h"
#include "byteformer/io/file.h"
#include "byteformer/model/device.h"
#include "byteformer/prepare/file_type_rules.h"
#include "byteformer/runtime/runtime.h"
#include "cli_common.h"
#include "commands.h"

namespace byteformer::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The most bytes read from a stream (stdin, a pipe, a fifo) whose tail window is only known at
// its end; a longer one is an error that asks for the file itself.
constexpr int64_t kMaxStreamBytes = int64_t{64} << 20;
// Magika's min_file_size_for_dl: a file of fewer bytes is answered from its bytes alone, `txt`
// when they are UTF-8 text, else `unknown`.
constexpr int64_t kMinBytesForModel = 8;
// At most this many inputs run without oneDNN (see run()).
constexpr int64_t kFewFiles = 16;
// Forward passes gathered before the answers are written: room to batch inputs by length.
constexpr int64_t kBatchesPerFlush = 4;

struct Args {
  std::string model_dir;
  std::string mode = "high-confidence";
  int64_t top = 3;
  int64_t batch_size = 64;
  int threads = 1;
  std::string device = "cpu";
  double read_timeout_s = 10.0;
  bool json = false;
  bool recursive = false;
  bool no_dereference = false;
  PrecisionFlags precision;
  bool timings = false;
  std::vector<std::string> files;
};

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Milliseconds from this process's start (the kernel's record, in clock ticks) to now: the
// loading of the program and its libraries, LibTorch's static initialisers included.
double ms_since_process_start() {
  std::ifstream stat_file("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return -1.0;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {  // field 22: starttime
    if (i == 22) {
      timespec now{};
      ::clock_gettime(CLOCK_BOOTTIME, &now);
      const double start_s = std::stod(field) / static_cast<double>(::sysconf(_SC_CLK_TCK));
      return (static_cast<double>(now.tv_sec) + now.tv_nsec * 1e-9 - start_s) * 1000.0;
    }
  }
  return -1.0;
}

// The model to use: --model, else the installed copy beside the program, else the source
// tree's. A folder counts when it holds a config.yaml.
std::string find_model_dir(const std::string& asked) {
  if (!asked.empty()) return asked;
  std::vector<std::string> looked;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) looked.push_back((exe.parent_path() / BYTEFORMER_INSTALLED_FILE_TYPES_MODEL).lexically_normal().string());
  looked.emplace_back(BYTEFORMER_SOURCE_FILE_TYPES_MODEL);
  for (const auto& dir : looked)
    if (fs::is_regular_file(fs::path(dir) / "config.yaml", ec)) return dir;
  std::string places;
  for (const auto& dir : looked) places += (places.empty() ? "" : ", ") + dir;
  throw std::runtime_error(fmt::format(
      "no file-type model: looked for config.yaml in {} (the installed copy, then the source tree's "
      "models/file-types); give a run folder with --model RUN_DIR",
      places));
}

// One line of output: an answer by rule or by the model, or an error.
struct Record {
  std::string name;  // the path as given or as found under a directory; "-" for stdin
  std::string label;
  double score = 1.0;
  std::string model_label;  // the model's own top class ("" when a rule answered)
  std::vector<TopClass> top;
  std::string error;
  bool text_like = false;  // the bytes read as text (for a low-confidence answer)
};

// Reads at most `max_bytes` of a character or block device (/dev/zero, /dev/urandom, a tty):
// an endless device gives its first bytes, a silent one is an error after `wait_s` seconds.
std::vector<uint8_t> read_device_head(const std::string& path, int64_t max_bytes, double wait_s) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::vector<uint8_t> out(static_cast<size_t>(max_bytes));
  size_t got = 0;
  std::string error;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      error = fmt::format("{}: read error after {} bytes: {}", path, got, std::strerror(errno));
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait_s * 1000.0)) == 0) {
      if (got == 0) error = fmt::format("{}: a device that gave no data for {} s", path, wait_s);
      break;
    }
  }
  ::close(fd);
  if (!error.empty()) throw std::runtime_error(error);
  out.resize(got);
  return out;
}

// Text by the bytes: valid UTF-8 without NUL (is_utf8_text, the corpus's own check) and no
// control character but tab, line feed, vertical tab, form feed, carriage return and escape.
// A window of a longer file cuts a character at the head's end and the tail's start: up to 3
// bytes there are let go.
bool looks_like_text(const std::vector<uint8_t>& bytes, size_t seam) {
  for (const uint8_t b : bytes)
    if ((b < 0x20 && (b < 0x09 || b > 0x0D) && b != 0x1B) || b == 0x7F) return false;
  const std::string_view all(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (seam >= bytes.size()) return !all.empty() && is_utf8_text(all);
  auto valid_cut = [](std::string_view part, bool cut_at_end) {
    for (size_t k = 0; k <= std::min<size_t>(3, part.size()); ++k)
      if (is_utf8_text(cut_at_end ? part.substr(0, part.size() - k) : part.substr(k))) return true;
    return false;
  };
  return valid_cut(all.substr(0, seam), /*cut_at_end=*/true) && valid_cut(all.substr(seam), /*cut_at_end=*/false);
}

// A rule's answer: empty, directory, symlink, or txt / unknown for a file too short for the model.
Record ruled(const std::string& name, const std::string& label) {
  Record r;
  r.name = name;
  r.label = label;
  return r;
}

Record failed(const std::string& name, std::string reason, const std::string& io_path) {
  // The library's messages start with the path they read; the record names it already.
  if (reason.rfind(io_path + ": ", 0) == 0) reason = reason.substr(io_path.size() + 2);
  Record r;
  r.name = name;
  r.error = std::move(reason);
  return r;
}

// What to answer for one path: a rule's Record, or the bytes for the model (returned in
// `bytes`, with `seam` where the head meets the tail when the file was longer than its window).
std::optional<Record> inspect(const std::string& name, bool dereference, const ByteWindow& window,
                              double read_timeout_s, std::vector<uint8_t>& bytes, size_t& seam) {
  const std::string path = name == "-" ? "/dev/stdin" : name;
  seam = std::string::npos;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return failed(name, std::strerror(errno), path);
  if (S_ISLNK(st.st_mode)) {
    if (!dereference && name != "-") return ruled(name, "symlink");  // /dev/stdin is a link of the system's
    if (::stat(path.c_str(), &st) != 0)
      return failed(name, fmt::format("a symbolic link to a path that cannot be reached: {}", std::strerror(errno)),
                    path);
  }
  const int64_t window_bytes = window.head + window.tail;
  try {
    if (S_ISDIR(st.st_mode)) {  // not walked: without -r, or a link to one found by -r
      return ruled(name, "directory");
    } else if (S_ISREG(st.st_mode)) {
      if (st.st_size == 0) return ruled(name, "empty");
      bytes = read_byte_window(path, window);
      if (st.st_size > window_bytes && !window.strip_whitespace) seam = static_cast<size_t>(window.head);
    } else if (S_ISFIFO(st.st_mode)) {  // a pipe or fifo: read whole (bounded), never a wait for ever
      const std::vector<uint8_t> all = read_file(path, kMaxStreamBytes, read_timeout_s);
      if (all.empty()) return ruled(name, "empty");
      bytes = apply_byte_window(all.data(), all.size(), window);
      if (static_cast<int64_t>(all.size()) > window_bytes && !window.strip_whitespace)
        seam = static_cast<size_t>(window.head);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {  // a device: its first bytes only
      bytes = read_device_head(path, window_bytes, read_timeout_s);
      if (bytes.empty()) return ruled(name, "empty");
    } else {
      return failed(name, "a socket: nothing to read", path);
    }
  } catch (const std::exception& e) {
    std::string reason = e.what();
    if (reason.find("longer than the " + std::to_string(kMaxStreamBytes)) != std::string::npos)
      reason += ": identify reads at most 64 MiB of a stream; give the file's path (only its windows are read)";
    return failed(name, reason, path);
  }
  if (static_cast<int64_t>(bytes.size()) < kMinBytesForModel) {
    const std::string_view s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return ruled(name, is_utf8_text(s) ? "txt" : "unknown");
  }
  return std::nullopt;
}

// One input to answer: a path, or a directory that could not be listed (`error` set).
struct Input {
  std::string path;
  std::string error;
};

// Appends the paths under `dir` to `out`: its files (and links, fifos, devices), and the
// folders below walked in turn (a link to one is not followed); a folder that cannot be listed
// is an input of its own with the reason.
void walk(const fs::path& dir, std::vector<Input>& out) {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(it->path());
  if (ec) out.push_back(Input{dir.string(), fmt::format("cannot list: {}", ec.message())});
  for (const auto& e : entries) {
    std::error_code e2;
    if (fs::is_directory(fs::symlink_status(e, e2)))
      walk(e, out);
    else
      out.push_back(Input{e.string(), ""});
  }
}

// The inputs in order: paths as given; a directory with -r replaced by the paths under it, in
// sorted order (with --no-dereference a link to a directory is not walked either).
std::vector<Input> list_inputs(const std::vector<std::string>& args, bool recursive, bool dereference) {
  std::vector<Input> out;
  for (const auto& a : args) {
    std::error_code ec;
    const bool dir = a != "-" && fs::is_directory(dereference ? fs::status(a, ec) : fs::symlink_status(a, ec));
    if (!recursive || !dir) {
      out.push_back(Input{a, ""});
      continue;
    }
    const size_t first = out.size();
    walk(a, out);
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
              [](const Input& x, const Input& y) { return x.path < y.path; });
  }
  return out;
}

void print(const Record& r, bool json) {
  const std::string name = display_name(r.name);
  if (json) {
    nlohmann::ordered_json j;
    j["path"] = name;
    if (!r.error.empty()) {
      j["label"] = nullptr;
      j["error"] = display_name(r.error);
    } else {
      const FileTypeInfo info = file_type_info(r.label);
      j["label"] = display_name(r.label);
      j["score"] = r.score;
      j["group"] = info.group;
      j["mime_type"] = info.mime_type;
      j["model_label"] = r.model_label.empty() ? nlohmann::ordered_json(nullptr)
                                               : nlohmann::ordered_json(display_name(r.model_label));
      j["top"] = nlohmann::ordered_json::array();
      for (const auto& t : r.top) j["top"].push_back({{"label", display_name(t.label)}, {"score", t.prob}});
    }
    std::cout << j.dump() << "\n";
    return;
  }
  if (!r.error.empty())
    std::cout << name << ": error: " << display_name(r.error) << "\n";
  else
    std::cout << fmt::format("{}: {} ({:.1f}%)\n", name, display_name(r.label), 100.0 * r.score);
}

struct Timings {
  double load_ms = 0, read_ms = 0, forward_ms = 0;
  int64_t passes = 0, model_files = 0;
};

void run(const Args& args) {
  const Clock::time_point start = Clock::now();
  const double startup_ms = ms_since_process_start();
  const PredictionMode mode = parse_prediction_mode(args.mode);

  const std::vector<Input> inputs = list_inputs(args.files, args.recursive, !args.no_dereference);
  // One thread unless asked: a model this small gains little from a second core, and threads
  // that spin while they wait (identify does not re-execute itself with passive ones) cost a
  // loaded machine several times that (docs/PERFORMANCE.md#identify-on-one-small-file).
  const int threads_set = set_compute_threads(args.threads);
  // oneDNN compiles its kernels on first use, which costs more than the forward pass of a few
  // files on ATen's own; from a few dozen files on, its products win.
  // int8 runs only as oneDNN's products.
  const std::optional<Precision> precision = args.precision.requested();
  if (static_cast<int64_t>(inputs.size()) <= kFewFiles && precision != Precision::kInt8) set_onednn_enabled(false);

  ClassifierOptions options;
  options.run_dir = find_model_dir(args.model_dir);
  options.model.device = resolve_device(args.device);
  options.top_k = args.top;
  options.max_batch_size = args.batch_size;
  options.precision = precision;
  Timings t;
  Clock::time_point t0 = Clock::now();
  const Classifier clf = Classifier::open(options);
  t.load_ms = ms_since(t0);
  if (clf.pipeline_options().modality != Modality::kBytes)
    throw std::runtime_error(fmt::format(
        "{}: a model of {} files, not of file bytes: identify takes a model trained with --recipe file-types "
        "(byte_window); classify with predict",
        options.run_dir, to_string(clf.pipeline_options().modality)));
  if (clf.labels().empty())
    throw std::runtime_error(fmt::format("{}: {} names no classes (the {}.json that train writes beside it is missing)",
                                         options.run_dir, fs::path(clf.weights_path()).filename().string(),
                                         fs::path(clf.weights_path()).filename().string()));
  const ByteWindow& window = clf.pipeline_options().window;
  const ClassThresholds& thresholds = clf.thresholds();

  int64_t failures = 0;
  std::vector<Record> slots;           // the records of this batch, in order
  std::vector<ModelInput> prepared;    // the inputs of this batch that go through the model
  std::vector<size_t> slot_of;         // prepared[i] answers slots[slot_of[i]]
  auto flush = [&] {
    if (!prepared.empty()) {
      // Shortest first: a batch is padded to its longest input, so inputs of like length go
      // together (under masked numerics a file's answer does not depend on its batch).
      std::vector<size_t> order(prepared.size());
      std::iota(order.begin(), order.end(), size_t{0});
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return prepared[a].bytes.size() < prepared[b].bytes.size(); });
      std::vector<ModelInput> sorted;
      sorted.reserve(order.size());
      for (const size_t i : order) sorted.push_back(std::move(prepared[i]));
      t0 = Clock::now();
      const std::vector<Classification> answers = clf.classify_prepared(sorted, /*raw=*/false);
      t.forward_ms += ms_since(t0);
      t.passes += (static_cast<int64_t>(sorted.size()) + args.batch_size - 1) / args.batch_size;
      t.model_files += static_cast<int64_t>(sorted.size());
      for (size_t k = 0; k < answers.size(); ++k) {
        Record& r = slots[slot_of[order[k]]];
        const Classification& c = answers[k];
        if (!c.ok() || c.top.empty()) {
          r = failed(r.name, c.ok() ? "the model gave no class" : c.error, r.name);
          continue;
        }
        r.model_label = c.top.front().label;
        r.score = c.top.front().prob;
        r.top = c.top;
        const double high = thresholds.empty() ? kMediumConfidenceThreshold : thresholds.for_class(c.top.front().index);
        r.label = file_type_verdict(r.model_label, r.score, mode, high, r.text_like);
      }
    }
    for (const Record& r : slots) {
      if (!r.error.empty()) ++failures;
      print(r, args.json);
    }
    std::cout << std::flush;
    slots.clear();
    prepared.clear();
    slot_of.clear();
  };

  for (size_t i = 0; i < inputs.size(); ++i) {
    t0 = Clock::now();
    const std::string& path = inputs[i].path;
    std::vector<uint8_t> bytes;
    size_t seam = std::string::npos;
    std::optional<Record> answer = inputs[i].error.empty()
                                       ? inspect(path, !args.no_dereference, window, args.read_timeout_s, bytes, seam)
                                       : failed(path, inputs[i].error, path);
    if (answer) {
      slots.push_back(std::move(*answer));
    } else {
      Record r;
      r.name = path;
      r.text_like = looks_like_text(bytes, seam);
      ModelInput in = clf.prepare(bytes, path, /*raw=*/false, static_cast<int64_t>(i));
      if (!in.error.empty()) {
        slots.push_back(failed(path, in.error, path));
      } else {
        slot_of.push_back(slots.size());
        slots.push_back(std::move(r));
        prepared.push_back(std::move(in));
      }
    }
    t.read_ms += ms_since(t0);
    if (static_cast<int64_t>(prepared.size()) >= kBatchesPerFlush * args.batch_size) flush();
  }
  flush();
  if (args.timings)
    std::cerr << fmt::format(
        "identify: timings: {:.0f} ms from the process's start to the command (the program and LibTorch loading), "
        "model load {:.1f} ms ({}), reading {:.1f} ms, {} forward pass(es) of {} file(s) {:.1f} ms on {} thread(s), "
        "{:.1f} ms in the command\n",
        startup_ms, t.load_ms, clf.weights_path(), t.read_ms, t.passes, t.model_files, t.forward_ms, threads_set,
        ms_since(start));
  if (failures > 0)
    throw std::runtime_error(fmt::format("{} of {} inputs could not be identified", failures, inputs.size()));
}

}  // namespace

void add_identify_command(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "identify",
      "Identify file types, as `file` or Magika: `path: label (score%)` a line, from the shipped file-type model "
      "(or --model RUN_DIR); only a file's first and last bytes are read");
  cmd->add_option("--model", args->model_dir, "A run folder of a file-type model (train --recipe file-types)")
      ->default_str("the installed share/byteformer/models/file-types, else the source tree's models/file-types");
  cmd->add_option("--mode", args->mode,
                  "high-confidence: the model's answer when its probability reaches the type's calibrated threshold "
                  "(thresholds.json); medium-confidence: when it reaches 0.5; best-guess: always. Otherwise txt for "
                  "text, unknown for other bytes")
      ->check(CLI::IsMember({"high-confidence", "medium-confidence", "best-guess", "high", "medium", "best"}))
      ->capture_default_str();
  cmd->add_flag("--json", args->json,
                "One JSON object a line: path, label, score, group, mime_type, model_label, top [{label, score}]");
  cmd->add_option("--top,--top-k", args->top, "Classes in --json's top")->check(positive_int())->capture_default_str();
  cmd->add_flag("-r,--recursive", args->recursive, "Identify the files under directories given");
  cmd->add_flag("--no-dereference", args->no_dereference, "A symbolic link answers `symlink` (not followed)");
  add_precision_flags(cmd, args->precision);
  cmd->add_option("--batch-size", args->batch_size, "Files per forward pass")
      ->check(positive_int())
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "Compute threads (0: all cores)")
      ->check(thread_count())
      ->capture_default_str();
  cmd->add_option("--device", args->device, "cpu | cuda | cuda:N | auto")
      ->check(device_spelling())
      ->capture_default_str();
  cmd->add_option("--read-timeout", args->read_timeout_s,
                  "Seconds to wait for the next byte from a fifo, pipe or device before that input is an error")
      ->check(positive_number())
      ->capture_default_str();
  cmd->add_flag("--timings", args->timings, "Print where the time went on stderr");
  cmd->add_option("files", args->files, "Files (directories with -r; - for stdin)")->required();
  cmd->callback([args] { run(*args); });
}

}  // namespace byteformer::cli
