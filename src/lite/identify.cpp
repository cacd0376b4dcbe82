#include "byteformer/lite/identify.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "byteformer/classify/file_type_info.h"
#include "byteformer/io/display_name.h"
#include "byteformer/io/file.h"
#include "byteformer/prepare/file_type_rules.h"

namespace byteformer {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The most bytes read from a stream (stdin, a pipe, a fifo) whose tail window is only known at
// its end; a longer one is an error that asks for the file itself.
constexpr int64_t kMaxStreamBytes = int64_t{64} << 20;
// Magika's min_file_size_for_dl: a file of fewer bytes is answered from its bytes alone, `txt`
// when they are UTF-8 text, else `unknown`.
constexpr int64_t kMinBytesForModel = 8;
// Forward passes gathered before the answers are written: room to batch inputs by length.
constexpr int64_t kBatchesPerFlush = 4;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Milliseconds from this process's start (the kernel's record, in clock ticks) to now: the
// loading of the program and its libraries (LibTorch's static initialisers, where it links LibTorch).
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

// One line of output: an answer by rule or by the model, or an error.
struct Record {
  std::string name;  // the path as given or as found under a directory; "-" for stdin
  std::string label;
  double score = 1.0;
  std::string model_label;  // the model's own top class ("" when a rule answered)
  std::vector<IdentifyScore> top;
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

void print(const Record& r, bool json, std::ostream& out) {
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
    out << j.dump() << "\n";
    return;
  }
  if (!r.error.empty())
    out << name << ": error: " << display_name(r.error) << "\n";
  else
    out << fmt::format("{}: {} ({:.1f}%)\n", name, display_name(r.label), 100.0 * r.score);
}

struct Timings {
  double load_ms = 0, read_ms = 0, forward_ms = 0;
  int64_t passes = 0, model_files = 0;
};

}  // namespace

std::string find_file_type_model(const std::string& asked, const std::string& file_name,
                                 const std::string& installed_rel, const std::string& source_dir) {
  std::error_code ec;
  if (!asked.empty()) {
    if (!fs::is_directory(asked, ec)) return asked;  // a file, or a path whose error the loader names
    const fs::path in = fs::path(asked) / file_name;
    if (!fs::is_regular_file(in, ec))
      throw std::runtime_error(fmt::format("{}: no {} in this folder (expected a file-type model's folder)", asked,
                                           file_name));
    return in.string();
  }
  std::vector<std::string> looked;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) looked.push_back((exe.parent_path() / installed_rel).lexically_normal().string());
  looked.push_back(source_dir);
  for (const auto& dir : looked)
    if (fs::is_regular_file(fs::path(dir) / file_name, ec)) return (fs::path(dir) / file_name).string();
  std::string places;
  for (const auto& dir : looked) places += (places.empty() ? "" : ", ") + dir;
  throw std::runtime_error(fmt::format(
      "no file-type model: looked for {} in {} (the installed copy, then the source tree's models/file-types); "
      "give one with --model",
      file_name, places));
}

void run_identify(const IdentifyOptions& args, const OpenIdentifyModel& open_model, std::ostream& out) {
  const Clock::time_point start = Clock::now();
  const double startup_ms = ms_since_process_start();
  const PredictionMode mode = parse_prediction_mode(args.mode);
  const std::vector<Input> inputs = list_inputs(args.files, args.recursive, !args.no_dereference);

  Timings t;
  Clock::time_point t0 = Clock::now();
  const std::unique_ptr<IdentifyModel> model = open_model(static_cast<int64_t>(inputs.size()));
  t.load_ms = ms_since(t0);
  const ByteWindow window = model->window();

  int64_t failures = 0;
  std::vector<Record> slots;                    // the records of this batch, in order
  std::vector<std::vector<uint8_t>> prepared;  // the windows of this batch that go through the model
  std::vector<size_t> slot_of;                  // prepared[i] answers slots[slot_of[i]]
  auto flush = [&] {
    if (!prepared.empty()) {
      // Shortest first: a batch is padded to its longest input, so inputs of like length go
      // together (under masked numerics a file's answer does not depend on its batch).
      std::vector<size_t> order(prepared.size());
      std::iota(order.begin(), order.end(), size_t{0});
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return prepared[a].size() < prepared[b].size(); });
      std::vector<std::vector<uint8_t>> sorted;
      sorted.reserve(order.size());
      std::vector<std::string> names;
      names.reserve(order.size());
      for (const size_t i : order) {
        sorted.push_back(std::move(prepared[i]));
        names.push_back(slots[slot_of[i]].name);
      }
      t0 = Clock::now();
      std::vector<IdentifyAnswer> answers;
      for (size_t b0 = 0; b0 < sorted.size(); b0 += static_cast<size_t>(args.batch_size)) {
        const size_t b1 = std::min(sorted.size(), b0 + static_cast<size_t>(args.batch_size));
        const std::vector<std::vector<uint8_t>> batch(std::make_move_iterator(sorted.begin() + b0),
                                                      std::make_move_iterator(sorted.begin() + b1));
        const std::vector<std::string> batch_names(names.begin() + b0, names.begin() + b1);
        std::vector<IdentifyAnswer> part = model->classify(batch, batch_names, args.top);
        if (part.size() != batch.size())
          throw std::logic_error(fmt::format("identify: the model gave {} answers for {} inputs", part.size(),
                                             batch.size()));
        for (auto& a : part) answers.push_back(std::move(a));
        ++t.passes;
      }
      t.forward_ms += ms_since(t0);
      t.model_files += static_cast<int64_t>(sorted.size());
      for (size_t k = 0; k < answers.size(); ++k) {
        Record& r = slots[slot_of[order[k]]];
        const IdentifyAnswer& c = answers[k];
        if (!c.error.empty() || c.top.empty()) {
          r = failed(r.name, c.error.empty() ? "the model gave no class" : c.error, r.name);
          continue;
        }
        r.model_label = c.top.front().label;
        r.score = c.top.front().prob;
        r.top = c.top;
        r.label = file_type_verdict(r.model_label, r.score, mode, model->high_threshold(c.top.front().index),
                                    r.text_like);
      }
    }
    for (const Record& r : slots) {
      if (!r.error.empty()) ++failures;
      print(r, args.json, out);
    }
    out << std::flush;
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
      slot_of.push_back(slots.size());
      slots.push_back(std::move(r));
      prepared.push_back(std::move(bytes));
    }
    t.read_ms += ms_since(t0);
    if (static_cast<int64_t>(prepared.size()) >= kBatchesPerFlush * args.batch_size) flush();
  }
  flush();
  if (args.timings)
    std::cerr << fmt::format(
        "identify: timings: {:.0f} ms from the process's start to the command (loading the program and its "
        "libraries), model load {:.1f} ms ({}), reading {:.1f} ms, {} forward pass(es) of {} file(s) {:.1f} ms on {} "
        "thread(s), {:.1f} ms in the command\n",
        startup_ms, t.load_ms, model->source(), t.read_ms, t.passes, t.model_files, t.forward_ms, model->threads(),
        ms_since(start));
  if (failures > 0)
    throw std::runtime_error(fmt::format("{} of {} inputs could not be identified", failures, inputs.size()));
}

}  // namespace byteformer
