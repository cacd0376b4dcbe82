// The labelling rules of `byteformer data file-types`: which content type a file owned by a
// Debian package is, from its name and path, confirmed by its content. Labels are the content
// type names of Google's Magika (its standard_v3_3 model's target labels), so a model trained on
// the corpus compares with Magika one to one. As in the Magika paper, a label comes from the
// extension (or the file name, or a bin/lib path) and is kept only when a content check agrees:
// magic bytes for binary formats, whole-file valid UTF-8 without NUL bytes for text formats,
// plus a first-character test where the format has one (JSON, XML, SVG). Never from
// libmagic or Magika itself.
//
// A file is matched in this order; the first match decides:
//   1. its exact file name (`Makefile`, `CMakeLists.txt`), then its extension, lower-cased
//      (`.h` is left out on purpose: C and C++ headers share it, and Magika's standard_v3_3
//      has no `h` label);
//   2. a file without extension under a bin/ or sbin/ folder whose first line is a `#!` naming
//      an interpreter of a rule's `shebangs` (python3, perl, sh, bash, ruby, ...);
//   3. a file under a bin/, sbin/, lib/, lib32/, lib64/ or libexec/ folder that starts with
//      7f 45 4c 46: `elf`.
//
//   const FileTypeRule* rule = rule_for_path("/usr/share/doc/x/logo.png");   // "png"
//   bool ok = rule && rule->accepts(bytes);                                  // PNG signature
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace byteformer {

/// One row of the rules table (file_type_rules.cpp).
struct FileTypeRule {
  std::string label;                    // Magika content type name
  std::vector<std::string> extensions;  // lower case, without the dot ("py", "tar")
  std::vector<std::string> names;       // exact file names ("Makefile"), matched before extensions
  std::vector<std::string> shebangs;    // interpreters of a "#!" line (file without extension in bin/)
  bool under_bin_lib = false;           // only under a bin/ or lib/ folder (elf)
  std::string check;                    // the content check, in words (the docs and --help list it)
  bool (*accepts)(std::string_view bytes) = nullptr;  // the content check on the whole file
};

/// The table, in match order. Every label is one of Magika standard_v3_3's.
const std::vector<FileTypeRule>& file_type_rules();

/// The rule a path's file name or extension claims (step 1 above); nullptr when none does.
const FileTypeRule* rule_for_path(const std::string& path);

/// The rule for a file the path alone does not claim, from its first bytes (steps 2 and 3);
/// nullptr when none. `head` is at least the file's first line (the first 4 KiB do).
const FileTypeRule* rule_for_head(const std::string& path, std::string_view head);

/// True when a file under this path may be labelled by rule_for_head (a bin/ or lib/ folder).
bool path_under_bin_or_lib(const std::string& path);

/// Whole-file check of the text rules: valid UTF-8 (no overlong forms, surrogates or code
/// points above U+10FFFF) and no NUL byte. An optional UTF-8 byte order mark is allowed.
bool is_utf8_text(std::string_view bytes);

}  // namespace byteformer
