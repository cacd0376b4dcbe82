// `byteformer data file-types`: a corpus of real files labelled by content type, for
// `byteformer train --data DIR --recipe file-types`, made from the files that the installed
// Debian packages own. Labels are Magika's content type names (file_type_rules.h: a file's
// extension, name or bin/lib path proposes a label, a content check confirms it).
//
//   1. Every `<package>.list` in the dpkg info folder names the files of a package; a path
//      listed by several packages belongs to the first package in sorted order. Paths are
//      visited in sorted order, under `root`. Symbolic links, folders, fifos, devices and
//      sockets are skipped without being opened, and so are empty files, files over
//      `max_file_bytes` and unreadable ones; each skip is a counted reason.
//   2. A file whose rule's content check fails is left out (a `.png` that is not a PNG).
//   3. Files are deduplicated by SHA-256 over the whole corpus: the first by sorted path wins.
//   4. At most `max_per_type` files a label are kept, taken in turns from the packages that
//      carry the label (packages and their files in the order of a seeded hash of the package
//      name and of the SHA-256): a type many packages carry is not filled by the largest one.
//   5. A label with fewer than `converted_up_to` files is filled up to it, where a row of
//      file_type_conversions.h makes it from real files of other labels (ImageMagick, xz,
//      bzip2, tar, sox, lame): the made file keeps its source's package and must pass its
//      label's content check; its manifest line says `converted: true` and the command.
//   6. A label with fewer than `min_per_type` files (after 5) is left out: too few to train,
//      validate and test on. The left-out labels and their counts are in the result.
//   7. Every package falls in one split, so that a package's files are never in two splits,
//      and since contents are unique, no SHA-256 is in two splits either. The packages are
//      placed largest first (ties by a seeded hash of the name), each into the split that
//      brings the shares of its labels' files closest to the fractions (train 1 - val - test,
//      val, test): each type gets about its fractions where it has enough packages, and a
//      type carried by one package stays whole in one split.
//
// Written: DIR/{train,val,test}/<label>/<first 16 hex of sha256>_<file name> (copies, or hard
// links with `hard_link`; the original extension kept), DIR/manifest.jsonl (one JSON object a file: file, label, split,
// package, source, sha256, size, converted) and, last, the marker `.byteformer_file_types.json`
// with the options, a fingerprint of the package database and the counts. A second run with
// the same options and the same installed packages reuses a complete corpus; otherwise the
// corpus's own files are removed and written again.
//
//   FileTypesOptions o;
//   o.out_dir = "data/file_types";
//   FileTypesResult r = prepare_file_types(o);  // r.counts["png"] = {train, val, test}
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace byteformer {

constexpr const char* kDpkgInfoDir = "/var/lib/dpkg/info";
constexpr uint64_t kFileTypesSplitSeed = 20240;
/// Bumped whenever the files written would change; an older marker triggers a rewrite.
constexpr int kFileTypesLayoutVersion = 2;

struct FileTypesOptions {
  std::string out_dir;
  std::string dpkg_info_dir = kDpkgInfoDir;  // the `*.list` files: package -> owned paths
  std::string root = "/";                    // listed paths are read under this folder
  int64_t max_per_type = 3000;               // files kept per label (> 0)
  int64_t min_per_type = 80;                 // fewer files: the label is left out (0: none left out)
  int64_t max_file_bytes = int64_t{64} << 20;  // larger files are skipped (a counted reason)
  int64_t converted_up_to = 500;             // 0: no converted files
  /// Hard links to the packages' files instead of copies, where the output is on their file
  /// system (else copies). Saves the space (ELF files are most of it); a corpus file is then
  /// the installed file itself: never edit one in place.
  bool hard_link = false;
  double val_fraction = 0.05;                // of each type's files, by package (step 7)
  double test_fraction = 0.15;
  uint64_t seed = kFileTypesSplitSeed;       // of the split and of the per-type choice
  std::function<void(const std::string&)> progress;  // one line per step
};

struct FileTypesResult {
  /// label -> files in {train, val, test}, labels sorted.
  std::map<std::string, std::array<int64_t, 3>> counts;
  /// Why files were left out, and how many: "content check failed", "duplicate (same
  /// SHA-256)", "over the per-type cap", "symbolic link", ...
  std::map<std::string, int64_t> skipped;
  std::map<std::string, int64_t> converted;  // label -> files made by a conversion
  std::map<std::string, int64_t> too_few;    // label -> files, labels left out by min_per_type
  std::set<std::string> missing_tools;        // conversion programs not on PATH
  int64_t packages = 0;  // packages read from the dpkg info folder
  int64_t files = 0;     // files written
  int64_t hard_links = 0;  // of which hard links (hard_link)
  bool reused = false;   // a complete earlier corpus with the same options was found
};

/// Builds the corpus described above. Throws std::invalid_argument for bad options and
/// std::runtime_error naming the path when the dpkg info folder cannot be read, holds no
/// `*.list` file, or the output cannot be written.
FileTypesResult prepare_file_types(const FileTypesOptions& options);

/// The counts as a table: one row a label (train, val, test, total) and a total row.
std::string file_types_table(const FileTypesResult& result);

/// Step 7: the split of every package (0 train, 1 val, 2 test) from one (package, label) pair a
/// file. Deterministic for the same pairs in any order and the same seed.
std::map<std::string, int> file_types_package_splits(
    const std::vector<std::pair<std::string, std::string>>& package_labels, uint64_t seed, double val_fraction,
    double test_fraction);

/// SHA-256 of `size` bytes, as 64 lower-case hex digits (OpenSSL's).
std::string sha256_hex(const void* data, size_t size);

}  // namespace byteformer
