#include "byteformer/prepare/prepare_file_types.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "byteformer/io/file.h"
#include "byteformer/prepare/file_type_conversions.h"
#include "byteformer/prepare/file_type_rules.h"
#include "prepare/subprocess.h"

namespace byteformer {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMarker = ".byteformer_file_types.json";
constexpr const char* kManifest = "manifest.jsonl";
constexpr const char* kSplits[3] = {"train", "val", "test"};
constexpr size_t kNameHexDigits = 16;  // the sha256 prefix of a written file's name
constexpr size_t kMaxNameTail = 100;   // characters of the original file name kept
constexpr size_t kHeadBytes = 4096;    // read first for files only their bytes can label

const char* const kSkipEmpty = "empty file";
const char* const kSkipLink = "symbolic link";
const char* const kSkipSpecial = "not a regular file (fifo, device or socket)";
const char* const kSkipMissing = "listed but missing";
const char* const kSkipUnreadable = "unreadable";
const char* const kSkipHuge = "over the size cap";
const char* const kSkipNoRule = "no rule for its name or path";
const char* const kSkipCheck = "content check failed";
const char* const kSkipDuplicate = "duplicate (same SHA-256 as an earlier path)";
const char* const kSkipCap = "over the per-type cap";
const char* const kSkipChanged = "changed between reading and copying";
const char* const kSkipConversion = "conversion failed or failed its content check";
const char* const kSkipFewFiles = "of a type with fewer files than the minimum per type";
constexpr const char* kConvertDir = ".convert-tmp";  // conversions write here, removed at the end

void say(const FileTypesOptions& o, const std::string& line) {
  if (o.progress) o.progress(line);
}

struct EvpCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// Incremental SHA-256 (OpenSSL's EVP interface).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("data file-types: OpenSSL's SHA-256 could not be initialised");
  }
  void update(const void* data, size_t size) {
    if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) throw std::runtime_error("data file-types: SHA-256 update failed");
  }
  std::array<uint8_t, 32> digest() {
    std::array<uint8_t, 32> d{};
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), d.data(), &n) != 1 || n != d.size())
      throw std::runtime_error("data file-types: SHA-256 final failed");
    return d;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, EvpCtxDeleter> ctx_;
};

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kDigits[p[i] >> 4];
    s[2 * i + 1] = kDigits[p[i] & 15];
  }
  return s;
}

// A stable 64-bit hash of (seed, text): the first 8 bytes of SHA-256("<seed>:<text>").
uint64_t seeded_hash(uint64_t seed, const std::string& text) {
  const std::string s = std::to_string(seed) + ":" + text;
  Sha256 h;
  h.update(s.data(), s.size());
  const auto d = h.digest();
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | d[static_cast<size_t>(i)];
  return v;
}

// "libc6:amd64.list" -> "libc6".
std::string package_of_list(const std::string& file_name) {
  std::string name = file_name.substr(0, file_name.size() - 5);
  const size_t colon = name.find(':');
  if (colon != std::string::npos) name.resize(colon);
  return name;
}

struct PackageDb {
  std::map<std::string, std::string> owner;  // listed path -> package (first in sorted order)
  int64_t packages = 0;
  std::string fingerprint;  // SHA-256 over every list file's name and bytes, in sorted order
};

PackageDb read_package_db(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw std::runtime_error(fmt::format("data file-types: '{}' is not a folder; expected dpkg's info folder of "
                                         "<package>.list files (--dpkg-info)",
                                         dir));
  std::vector<std::string> lists;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".list") == 0) lists.push_back(name);
  }
  if (ec) throw std::runtime_error(fmt::format("data file-types: cannot read the folder '{}': {}", dir, ec.message()));
  if (lists.empty())
    throw std::runtime_error(fmt::format("data file-types: no <package>.list file in '{}'; expected dpkg's info "
                                         "folder (--dpkg-info)",
                                         dir));
  std::sort(lists.begin(), lists.end());
  PackageDb db;
  std::set<std::string> packages;
  Sha256 fp;
  for (const std::string& name : lists) {
    const std::string path = (fs::path(dir) / name).string();
    const std::vector<uint8_t> bytes = read_file(path, int64_t{256} << 20);
    fp.update(name.data(), name.size() + 1);  // with its NUL: names and contents cannot run together
    fp.update(bytes.data(), bytes.size());
    const std::string package = package_of_list(name);
    packages.insert(package);
    size_t start = 0;
    while (start < bytes.size()) {
      size_t end = start;
      while (end < bytes.size() && bytes[end] != '\n') ++end;
      std::string line(reinterpret_cast<const char*>(bytes.data()) + start, end - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty() && line.front() == '/') db.owner.emplace(std::move(line), package);
      start = end + 1;
    }
  }
  db.packages = static_cast<int64_t>(packages.size());
  const auto d = fp.digest();
  db.fingerprint = to_hex(d.data(), d.size());
  return db;
}

// Reads a regular file without following a final symbolic link and without blocking on a
// fifo; at most max_bytes (head_only: the first kHeadBytes). False when unreadable, or
// no longer a regular file of at most max_bytes.
bool read_regular(const std::string& path, int64_t max_bytes, bool head_only, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > max_bytes) {
    ::close(fd);
    return false;
  }
  const size_t want = head_only ? std::min<size_t>(kHeadBytes, static_cast<size_t>(st.st_size))
                                : static_cast<size_t>(st.st_size);
  out.assign(want, '\0');
  size_t got = 0;
  while (got < want) {
    const ssize_t n = ::read(fd, out.data() + got, want - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return head_only || got == want;
}

struct Candidate {
  std::string path;     // as listed (absolute, without the root)
  std::string package;
  std::string label;
  std::string sha256;
  int64_t size = 0;
  int split = 0;
  std::string name;     // the written file's name
  // A converted file: the tool's command, the extension added to the source's name, and where
  // the tool wrote it.
  std::string via, suffix, staged;
};

// "<16 hex>_<file name>", the name made safe: bytes outside [A-Za-z0-9._+-] become '_', and
// only the last kMaxNameTail characters are kept (the extension stays).
std::string output_name(const Candidate& c) {
  std::string base = fs::path(c.path).filename().string() + c.suffix;
  for (char& ch : base)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '+' || ch == '-')) ch = '_';
  if (base.size() > kMaxNameTail) base = base.substr(base.size() - kMaxNameTail);
  return c.sha256.substr(0, kNameHexDigits) + "_" + base;
}

bool has_our_prefix(const std::string& name) {
  return name.size() > kNameHexDigits && name[kNameHexDigits] == '_' &&
         std::all_of(name.begin(), name.begin() + kNameHexDigits,
                     [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); });
}

// One of ours, or write_file_atomic's temp file of one of ours (".<name>.tmp-<pid>-<hex>").
bool is_our_file_name(const std::string& name) {
  if (has_our_prefix(name)) return true;
  return name.size() > 1 && name[0] == '.' && name.find(".tmp-") != std::string::npos && has_our_prefix(name.substr(1));
}

// Our files in DIR/<split>/<label>/, per split.
std::array<int64_t, 3> count_our_files(const fs::path& out) {
  std::array<int64_t, 3> n{};
  std::error_code ec;
  for (int s = 0; s < 3; ++s) {
    const fs::path split_dir = out / kSplits[s];
    if (!fs::is_directory(split_dir, ec)) continue;
    for (const auto& label_dir : fs::directory_iterator(split_dir)) {
      if (!label_dir.is_directory()) continue;
      for (const auto& e : fs::directory_iterator(label_dir.path())) {
        const std::string name = e.path().filename().string();
        if (e.is_regular_file() && has_our_prefix(name)) ++n[static_cast<size_t>(s)];
      }
    }
  }
  return n;
}

// Removes what an earlier (interrupted, or other-options) run wrote: our own names only, and
// then the label folders left empty.
void remove_our_files(const fs::path& out) {
  std::error_code ec;
  for (const char* split : kSplits) {
    const fs::path split_dir = out / split;
    if (!fs::is_directory(split_dir, ec)) continue;
    for (const auto& label_dir : fs::directory_iterator(split_dir)) {
      if (!label_dir.is_directory()) continue;
      std::vector<fs::path> doomed;
      for (const auto& e : fs::directory_iterator(label_dir.path()))
        if (is_our_file_name(e.path().filename().string())) doomed.push_back(e.path());
      for (const auto& p : doomed) fs::remove(p);
      if (fs::is_empty(label_dir.path(), ec)) fs::remove(label_dir.path(), ec);
    }
  }
  fs::remove(out / kManifest, ec);
}

// At most `cap` of a label's candidates, taken in turns from its packages: each package's
// files in the order of a seeded hash of their SHA-256, the packages in the order of a seeded
// hash of "turn:" and their name; round k takes the k-th file of every package that has one.
// A type that many packages carry is not filled by the one or two largest.
std::vector<size_t> spread_over_packages(const std::vector<Candidate>& cands, uint64_t seed, size_t cap) {
  std::map<std::string, std::vector<std::pair<uint64_t, size_t>>> by_package;
  for (size_t i = 0; i < cands.size(); ++i)
    by_package[cands[i].package].emplace_back(seeded_hash(seed, cands[i].sha256), i);
  std::vector<std::pair<uint64_t, std::vector<std::pair<uint64_t, size_t>>>> queues;
  for (auto& [package, files] : by_package) {
    std::sort(files.begin(), files.end());
    // Not seeded_hash(seed, package), the split's tie-break: which files are kept stays
    // independent of where their packages go.
    queues.emplace_back(seeded_hash(seed, "turn:" + package), std::move(files));
  }
  std::sort(queues.begin(), queues.end());
  std::vector<size_t> picked;
  const size_t want = std::min(cands.size(), cap);
  for (size_t round = 0; picked.size() < want; ++round)
    for (const auto& q : queues)
      if (round < q.second.size() && picked.size() < want) picked.push_back(q.second[round].second);
  return picked;
}

nlohmann::json options_json(const FileTypesOptions& o, const PackageDb& db) {
  return {{"layout_version", kFileTypesLayoutVersion},
          {"choice", "spread over packages, balanced split"},
          {"dpkg_info_dir", fs::absolute(o.dpkg_info_dir).lexically_normal().string()},
          {"root", fs::absolute(o.root).lexically_normal().string()},
          {"package_db_sha256", db.fingerprint},
          {"max_per_type", o.max_per_type},
          {"min_per_type", o.min_per_type},
          {"converted_up_to", o.converted_up_to},
          {"hard_link", o.hard_link},
          {"max_file_bytes", o.max_file_bytes},
          {"val_fraction", o.val_fraction},
          {"test_fraction", o.test_fraction},
          {"seed", o.seed}};
}

}  // namespace

std::string sha256_hex(const void* data, size_t size) {
  Sha256 h;
  h.update(data, size);
  const auto d = h.digest();
  return to_hex(d.data(), d.size());
}

std::map<std::string, int> file_types_package_splits(
    const std::vector<std::pair<std::string, std::string>>& package_labels, uint64_t seed, double val_fraction,
    double test_fraction) {
  const std::array<double, 3> target{1.0 - val_fraction - test_fraction, val_fraction, test_fraction};
  std::map<std::string, std::map<std::string, int64_t>> files_of;  // package -> label -> files
  std::map<std::string, int64_t> total;                            // label -> files
  for (const auto& [package, label] : package_labels) {
    ++files_of[package][label];
    ++total[label];
  }
  // The largest packages first (then by a seeded hash of the name): the small ones that come
  // last even out what the large ones left.
  std::vector<std::tuple<int64_t, uint64_t, std::string>> order;
  for (const auto& [package, labels] : files_of) {
    int64_t n = 0;
    for (const auto& [label, k] : labels) n += k;
    order.emplace_back(-n, seeded_hash(seed, package), package);
  }
  std::sort(order.begin(), order.end());
  std::map<std::string, std::array<int64_t, 3>> have;  // label -> files placed per split
  std::map<std::string, int> split_of;
  for (const auto& [minus_n, hash, package] : order) {
    // The split whose shares move closest to the targets: the least change of the sum over the
    // package's labels of (share of the label's files in the split - target)^2 / target (a
    // chi-square: a point off val's 5% weighs as much as 16 points off train's 80%).
    int best = 0;
    double best_change = std::numeric_limits<double>::infinity();
    for (int s = 0; s < 3; ++s) {
      if (target[static_cast<size_t>(s)] <= 0) continue;
      double change = 0;
      for (const auto& [label, k] : files_of[package]) {
        const double n = static_cast<double>(total[label]);
        const double before = static_cast<double>(have[label][static_cast<size_t>(s)]) / n - target[static_cast<size_t>(s)];
        const double after = before + static_cast<double>(k) / n;
        change += (after * after - before * before) / target[static_cast<size_t>(s)];
      }
      if (change < best_change) {
        best_change = change;
        best = s;
      }
    }
    split_of[package] = best;
    for (const auto& [label, k] : files_of[package]) have[label][static_cast<size_t>(best)] += k;
  }
  return split_of;
}

std::string file_types_table(const FileTypesResult& r) {
  std::string s = fmt::format("{:<14} {:>7} {:>7} {:>7} {:>7}\n", "label", "train", "val", "test", "total");
  std::array<int64_t, 3> sum{};
  for (const auto& [label, n] : r.counts) {
    s += fmt::format("{:<14} {:>7} {:>7} {:>7} {:>7}\n", label, n[0], n[1], n[2], n[0] + n[1] + n[2]);
    for (size_t i = 0; i < 3; ++i) sum[i] += n[i];
  }
  s += fmt::format("{:<14} {:>7} {:>7} {:>7} {:>7}\n", fmt::format("{} types", r.counts.size()), sum[0], sum[1],
                   sum[2], sum[0] + sum[1] + sum[2]);
  return s;
}

FileTypesResult prepare_file_types(const FileTypesOptions& o) {
  if (o.out_dir.empty()) throw std::invalid_argument("data file-types: --out is empty");
  if (o.max_per_type <= 0)
    throw std::invalid_argument(fmt::format("data file-types: --max-per-type {} must be > 0", o.max_per_type));
  if (o.min_per_type < 0)
    throw std::invalid_argument(fmt::format("data file-types: --min-per-type {} must be >= 0", o.min_per_type));
  if (o.max_file_bytes <= 0)
    throw std::invalid_argument(fmt::format("data file-types: --max-file-mb gives {} bytes; expected > 0",
                                            o.max_file_bytes));
  if (!(o.val_fraction >= 0 && o.test_fraction >= 0 && o.val_fraction + o.test_fraction < 1))
    throw std::invalid_argument(fmt::format("data file-types: val fraction {} and test fraction {} must be >= 0 "
                                            "and sum to less than 1",
                                            o.val_fraction, o.test_fraction));
  const fs::path out(o.out_dir);
  const fs::path marker = out / kMarker;
  FileTypesResult r;

  say(o, fmt::format("file-types: reading the package lists in {}", o.dpkg_info_dir));
  const PackageDb db = read_package_db(o.dpkg_info_dir);
  r.packages = db.packages;
  const nlohmann::json options = options_json(o, db);

  std::error_code ec;
  if (fs::exists(marker, ec)) {
    try {
      const std::vector<uint8_t> text = read_file(marker.string(), 16 << 20);
      const nlohmann::json m = nlohmann::json::parse(text.begin(), text.end());
      const std::array<int64_t, 3> on_disk = count_our_files(out);
      std::array<int64_t, 3> want{};
      for (const auto& [label, n] : m.at("counts").items())
        for (size_t i = 0; i < 3; ++i) want[i] += n.at(i).get<int64_t>();
      if (m.at("options") == options && on_disk == want && fs::is_regular_file(out / kManifest, ec)) {
        for (const auto& [label, n] : m.at("counts").items())
          r.counts[label] = {n.at(0).get<int64_t>(), n.at(1).get<int64_t>(), n.at(2).get<int64_t>()};
        r.skipped = m.at("skipped").get<std::map<std::string, int64_t>>();
        r.converted = m.at("converted").get<std::map<std::string, int64_t>>();
        if (m.contains("too_few")) r.too_few = m.at("too_few").get<std::map<std::string, int64_t>>();
        r.missing_tools = m.at("missing_tools").get<std::set<std::string>>();
        r.files = want[0] + want[1] + want[2];
        r.reused = true;
        say(o, fmt::format("file-types: reusing {} ({} files: {} train / {} val / {} test)", out.string(), r.files,
                           want[0], want[1], want[2]));
        return r;
      }
    } catch (const std::exception&) {
      // An unreadable marker: rewrite below.
    }
    say(o, fmt::format("file-types: {} is incomplete or was made with other options or packages; rewriting it",
                       out.string()));
    fs::remove(marker);
  }

  // 1-3: label, check and deduplicate every listed file, in sorted path order.
  say(o, fmt::format("file-types: {} packages list {} paths; reading them under {}", db.packages, db.owner.size(),
                     o.root));
  const bool at_root = fs::path(o.root).lexically_normal() == fs::path("/");
  std::unordered_set<std::string> seen_sha;
  std::map<std::string, std::vector<Candidate>> by_label;
  std::string bytes;
  int64_t visited = 0;
  for (const auto& [path, package] : db.owner) {
    if (++visited % 20000 == 0) say(o, fmt::format("file-types: {}/{} paths", visited, db.owner.size()));
    const std::string full = at_root ? path : (fs::path(o.root) / path.substr(1)).string();
    struct stat st {};
    if (::lstat(full.c_str(), &st) != 0) {
      ++r.skipped[errno == ENOENT || errno == ENOTDIR ? kSkipMissing : kSkipUnreadable];
      continue;
    }
    if (S_ISDIR(st.st_mode)) continue;  // the lists name their folders too
    if (S_ISLNK(st.st_mode)) {
      ++r.skipped[kSkipLink];
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      ++r.skipped[kSkipSpecial];
      continue;
    }
    if (st.st_size == 0) {
      ++r.skipped[kSkipEmpty];
      continue;
    }
    if (st.st_size > o.max_file_bytes) {
      ++r.skipped[kSkipHuge];
      continue;
    }
    const FileTypeRule* rule = rule_for_path(path);
    if (!rule && path_under_bin_or_lib(path)) {
      if (!read_regular(full, o.max_file_bytes, /*head_only=*/true, bytes)) {
        ++r.skipped[kSkipUnreadable];
        continue;
      }
      rule = rule_for_head(path, bytes);
    }
    if (!rule) {
      ++r.skipped[kSkipNoRule];
      continue;
    }
    if (!read_regular(full, o.max_file_bytes, /*head_only=*/false, bytes)) {
      ++r.skipped[kSkipUnreadable];
      continue;
    }
    if (!rule->accepts(bytes)) {
      ++r.skipped[kSkipCheck];
      continue;
    }
    std::string sha = sha256_hex(bytes.data(), bytes.size());
    if (!seen_sha.insert(sha).second) {
      ++r.skipped[kSkipDuplicate];
      continue;
    }
    Candidate c;
    c.path = path;
    c.package = package;
    c.label = rule->label;
    c.sha256 = std::move(sha);
    c.size = static_cast<int64_t>(bytes.size());
    by_label[rule->label].push_back(std::move(c));
  }

  // 4 and 6: the per-type cap, and the split of what is kept by package.
  std::vector<Candidate> kept;
  for (auto& [label, cands] : by_label) {
    const std::vector<size_t> order = spread_over_packages(cands, o.seed, static_cast<size_t>(o.max_per_type));
    if (cands.size() > order.size()) r.skipped[kSkipCap] += static_cast<int64_t>(cands.size() - order.size());
    for (size_t i : order) {
      Candidate c = cands[i];
      c.name = output_name(c);
      kept.push_back(std::move(c));
    }
  }

  // 5: scarce labels filled up to `converted_up_to` with files made from real ones (in their
  // source's package, so in its split).
  fs::create_directories(out);
  const fs::path convert_dir = out / kConvertDir;
  fs::remove_all(convert_dir);
  if (o.converted_up_to > 0) {
    std::map<std::string, int64_t> have;
    for (const Candidate& c : kept) ++have[c.label];
    for (const FileTypeConversion& conv : file_type_conversions()) {
      const int64_t need = o.converted_up_to - have[conv.label];
      if (need <= 0) continue;
      if (!program_on_path(conv.program)) {
        r.missing_tools.insert(conv.program);
        say(o, fmt::format("file-types: no {} files made: {} is not installed", conv.label, conv.program));
        continue;
      }
      const FileTypeRule* rule = nullptr;
      for (const FileTypeRule& fr : file_type_rules())
        if (fr.label == conv.label) rule = &fr;
      std::vector<Candidate> sources;
      for (const std::string& from : conv.from)
        for (const Candidate& c : by_label[from])
          if (c.size <= conv.max_source_bytes) sources.push_back(c);
      fs::create_directories(convert_dir / conv.label);
      int64_t made = 0;
      for (size_t i : spread_over_packages(sources, seeded_hash(o.seed, "convert:" + conv.label), sources.size())) {
        if (made >= need) break;
        const Candidate& src = sources[i];
        const std::string in = at_root ? src.path : (fs::path(o.root) / src.path.substr(1)).string();
        const std::string staged = (convert_dir / conv.label / std::to_string(made)).string() + conv.extension;
        if (!run_file_type_conversion(conv, in, staged) ||
            !read_regular(staged, o.max_file_bytes, /*head_only=*/false, bytes) || !rule || !rule->accepts(bytes)) {
          ++r.skipped[kSkipConversion];
          fs::remove(staged, ec);
          continue;
        }
        std::string sha = sha256_hex(bytes.data(), bytes.size());
        if (!seen_sha.insert(sha).second) {
          ++r.skipped[kSkipDuplicate];
          fs::remove(staged, ec);
          continue;
        }
        Candidate c = src;
        c.label = conv.label;
        c.sha256 = std::move(sha);
        c.size = static_cast<int64_t>(bytes.size());
        c.via = conv.command;
        c.suffix = conv.extension;
        c.staged = staged;
        c.name = output_name(c);
        kept.push_back(std::move(c));
        ++made;
      }
      have[conv.label] += made;
      r.converted[conv.label] += made;
      say(o, fmt::format("file-types: made {} {} files from {} ({})", made, conv.label, fmt::join(conv.from, ", "),
                         conv.program));
    }
  }
  // 6: a type with fewer than `min_per_type` files is left out (too few to train, validate and
  // test on); 7: the split by package.
  {
    std::map<std::string, int64_t> n;
    for (const Candidate& c : kept) ++n[c.label];
    for (const auto& [label, k] : n)
      if (k < o.min_per_type) {
        r.skipped[kSkipFewFiles] += k;
        r.too_few[label] = k;
      }
    kept.erase(std::remove_if(kept.begin(), kept.end(),
                              [&](const Candidate& c) { return n[c.label] < o.min_per_type; }),
               kept.end());
    std::vector<std::pair<std::string, std::string>> package_labels;
    package_labels.reserve(kept.size());
    for (const Candidate& c : kept) package_labels.emplace_back(c.package, c.label);
    const std::map<std::string, int> split_of =
        file_types_package_splits(package_labels, o.seed, o.val_fraction, o.test_fraction);
    for (Candidate& c : kept) c.split = split_of.at(c.package);
  }
  std::sort(kept.begin(), kept.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.split, a.label, a.name) < std::tie(b.split, b.label, b.name);
  });
  {
    std::set<std::string> labels;
    int64_t made = 0;
    for (const Candidate& c : kept) {
      labels.insert(c.label);
      made += !c.via.empty();
    }
    say(o, fmt::format("file-types: {} files of {} types ({} made by conversions); copying them to {}", kept.size(),
                       labels.size(), made, out.string()));
  }

  // Written: the files (read again, their SHA-256 checked), the manifest, the marker last.
  remove_our_files(out);
  std::string manifest;
  size_t done = 0;
  for (const Candidate& c : kept) {
    const std::string full = !c.staged.empty() ? c.staged
                             : at_root          ? c.path
                                                : (fs::path(o.root) / c.path.substr(1)).string();
    if (!read_regular(full, o.max_file_bytes, /*head_only=*/false, bytes) ||
        sha256_hex(bytes.data(), bytes.size()) != c.sha256) {
      ++r.skipped[kSkipChanged];
      continue;
    }
    const fs::path dir = out / kSplits[c.split] / c.label;
    fs::create_directories(dir);
    const std::string rel = fmt::format("{}/{}/{}", kSplits[c.split], c.label, c.name);
    bool linked = false;
    if (o.hard_link && c.staged.empty()) {
      fs::create_hard_link(full, dir / c.name, ec);
      linked = !ec;
      if (linked) ++r.hard_links;
    }
    if (!linked) write_file_atomic((dir / c.name).string(), bytes.data(), bytes.size(), Durability::kRenameOnly);
    nlohmann::json row{{"file", rel},          {"label", c.label},  {"split", kSplits[c.split]},
                       {"package", c.package}, {"source", c.path},  {"sha256", c.sha256},
                       {"size", c.size},       {"converted", !c.via.empty()}};
    if (!c.via.empty()) row["via"] = c.via;
    manifest += row.dump() + "\n";
    r.counts[c.label][static_cast<size_t>(c.split)] += 1;
    ++r.files;
    if (++done % 10000 == 0) say(o, fmt::format("file-types: copied {}/{} files", done, kept.size()));
  }
  write_file_atomic((out / kManifest).string(), manifest.data(), manifest.size());
  fs::remove_all(convert_dir);

  nlohmann::json m;
  m["options"] = options;
  m["source"] = "files owned by the installed Debian packages (dpkg's <package>.list files)";
  m["rules"] = "src/prepare/file_type_rules.cpp; labels are Magika standard_v3_3 content types";
  m["split"] = fmt::format(
      "by package, largest first, each into the split (train {}, val {}, test {}) that brings its types' shares "
      "closest to those fractions",
      1.0 - o.val_fraction - o.test_fraction, o.val_fraction, o.test_fraction);
  m["too_few"] = r.too_few;
  m["counts"] = nlohmann::json::object();
  for (const auto& [label, n] : r.counts) m["counts"][label] = n;
  m["skipped"] = r.skipped;
  m["converted"] = r.converted;
  m["missing_tools"] = r.missing_tools;
  m["packages"] = r.packages;
  m["files"] = r.files;
  const std::string text = m.dump(2) + "\n";
  write_file_atomic(marker.string(), text.data(), text.size());
  std::array<int64_t, 3> sum{};
  for (const auto& [label, n] : r.counts)
    for (size_t i = 0; i < 3; ++i) sum[i] += n[i];
  say(o, fmt::format("file-types: done: {} ({} files of {} types: {} train / {} val / {} test)", out.string(), r.files,
                     r.counts.size(), sum[0], sum[1], sum[2]));
  return r;
}

}  // namespace byteformer
