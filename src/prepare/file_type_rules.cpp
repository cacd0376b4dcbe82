#include "byteformer/prepare/file_type_rules.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>

namespace byteformer {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool has_at(std::string_view s, size_t offset, std::string_view magic) {
  return s.size() >= offset + magic.size() && s.compare(offset, magic.size(), magic) == 0;
}

// The text after an optional UTF-8 byte order mark and leading white space.
std::string_view trimmed_text(std::string_view s) {
  if (starts_with(s, "\xEF\xBB\xBF")) s.remove_prefix(3);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return s;
}

bool text(std::string_view b) { return is_utf8_text(b); }
bool text_json(std::string_view b) {
  const std::string_view t = trimmed_text(b);
  return !t.empty() && (t.front() == '{' || t.front() == '[') && is_utf8_text(b);
}
bool text_markup(std::string_view b) {  // XML, HTML: markup from the first character
  const std::string_view t = trimmed_text(b);
  return !t.empty() && t.front() == '<' && is_utf8_text(b);
}
bool text_svg(std::string_view b) {
  return text_markup(b) && b.substr(0, 1 << 16).find("<svg") != std::string_view::npos;
}
bool text_pem(std::string_view b) { return starts_with(trimmed_text(b), "-----BEGIN ") && is_utf8_text(b); }
bool text_rtf(std::string_view b) { return starts_with(b, "{\\rtf"); }
bool text_postscript(std::string_view b) { return starts_with(b, "%!"); }

bool png(std::string_view b) { return starts_with(b, "\x89PNG\r\n\x1a\n"); }
bool jpeg(std::string_view b) { return starts_with(b, "\xFF\xD8\xFF"); }
bool gif(std::string_view b) { return starts_with(b, "GIF87a") || starts_with(b, "GIF89a"); }
bool bmp(std::string_view b) { return starts_with(b, "BM") && b.size() >= 26; }
bool ico(std::string_view b) { return starts_with(b, std::string_view("\0\0\1\0", 4)) && b.size() >= 22; }
bool tiff(std::string_view b) {
  return starts_with(b, std::string_view("II*\0", 4)) || starts_with(b, std::string_view("MM\0*", 4));
}
bool webp(std::string_view b) { return starts_with(b, "RIFF") && has_at(b, 8, "WEBP"); }
bool pdf(std::string_view b) { return starts_with(b, "%PDF-"); }
bool gzip(std::string_view b) { return starts_with(b, "\x1f\x8b\x08"); }
bool bzip(std::string_view b) { return starts_with(b, "BZh") && b.size() > 3 && b[3] >= '1' && b[3] <= '9'; }
bool xz(std::string_view b) { return starts_with(b, std::string_view("\xFD" "7zXZ\0", 6)); }
bool zip(std::string_view b) { return starts_with(b, "PK\x03\x04"); }
bool tar(std::string_view b) { return has_at(b, 257, "ustar"); }
bool deb(std::string_view b) { return starts_with(b, "!<arch>\ndebian-binary"); }
bool elf(std::string_view b) { return starts_with(b, "\x7F" "ELF"); }
bool pe(std::string_view b) { return starts_with(b, "MZ"); }
bool javaclass(std::string_view b) { return starts_with(b, "\xCA\xFE\xBA\xBE"); }
bool wasm(std::string_view b) { return starts_with(b, std::string_view("\0asm", 4)); }
bool ttf(std::string_view b) {
  return starts_with(b, std::string_view("\0\1\0\0", 4)) || starts_with(b, "true") || starts_with(b, "ttcf");
}
bool otf(std::string_view b) { return starts_with(b, "OTTO"); }
bool woff(std::string_view b) { return starts_with(b, "wOFF"); }
bool woff2(std::string_view b) { return starts_with(b, "wOF2"); }
bool ogg(std::string_view b) { return starts_with(b, "OggS"); }
bool flac(std::string_view b) { return starts_with(b, "fLaC"); }
bool wav(std::string_view b) { return starts_with(b, "RIFF") && has_at(b, 8, "WAVE"); }
bool mp3(std::string_view b) {
  if (starts_with(b, "ID3")) return true;
  // An MPEG audio frame header: 11 sync bits, layer III.
  return b.size() >= 2 && static_cast<uint8_t>(b[0]) == 0xFF && (static_cast<uint8_t>(b[1]) & 0xE6) == 0xE2;
}
bool midi(std::string_view b) { return starts_with(b, "MThd"); }
bool sqlite(std::string_view b) { return starts_with(b, std::string_view("SQLite format 3\0", 16)); }

const std::vector<std::string> kNone;

}  // namespace

bool is_utf8_text(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t c = p[i];
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // a continuation byte first, C0/C1 (overlong), or F5..FF
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

// The rules. A label reached by several rows would be fine; each label has one row here.
// Extensions follow Magika's content types knowledge base, widened where Debian's files of the
// type use another (`.pm` for Perl modules, `.hpp` for C++ headers, `.oga` for Ogg audio).
const std::vector<FileTypeRule>& file_type_rules() {
  static const std::vector<FileTypeRule> kRules = {
      // label        extensions                          names                     shebangs
      // --- text: source code and data, valid UTF-8 without NUL ---
      {"makefile", {"mk"}, {"Makefile", "makefile", "GNUmakefile"}, {}, false, "UTF-8 text", text},
      {"cmake", {"cmake"}, {"CMakeLists.txt"}, {}, false, "UTF-8 text", text},
      {"dockerfile", {}, {"Dockerfile"}, {}, false, "UTF-8 text", text},
      {"python", {"py", "pyi"}, {}, {"python", "python3"}, false, "UTF-8 text", text},
      {"c", {"c"}, {}, {}, false, "UTF-8 text", text},
      {"cpp", {"cc", "cpp", "cxx", "c++", "hpp", "hxx", "hh"}, {}, {}, false, "UTF-8 text", text},
      {"java", {"java"}, {}, {}, false, "UTF-8 text", text},
      {"javascript", {"js", "mjs", "cjs"}, {}, {"node", "nodejs"}, false, "UTF-8 text", text},
      {"typescript", {"ts", "mts", "cts"}, {}, {}, false, "UTF-8 text (not an MPEG transport stream)", text},
      {"go", {"go"}, {}, {}, false, "UTF-8 text", text},
      {"rust", {"rs"}, {}, {}, false, "UTF-8 text", text},
      {"ruby", {"rb"}, {}, {"ruby"}, false, "UTF-8 text", text},
      {"perl", {"pl", "pm"}, {}, {"perl"}, false, "UTF-8 text", text},
      {"php", {"php"}, {}, {"php"}, false, "UTF-8 text", text},
      {"lua", {"lua"}, {}, {"lua", "lua5.1", "lua5.3", "lua5.4"}, false, "UTF-8 text", text},
      {"tcl", {"tcl"}, {}, {"tclsh", "wish"}, false, "UTF-8 text", text},
      {"shell", {"sh", "bash"}, {}, {"sh", "bash", "dash"}, false, "UTF-8 text", text},
      {"awk", {"awk"}, {}, {"awk", "gawk", "mawk"}, false, "UTF-8 text", text},
      {"m4", {"m4"}, {}, {}, false, "UTF-8 text", text},
      {"sql", {"sql"}, {}, {}, false, "UTF-8 text", text},
      {"pascal", {"pas", "pp"}, {}, {}, false, "UTF-8 text", text},
      {"fortran", {"f90", "f95", "f03"}, {}, {}, false, "UTF-8 text", text},
      {"haskell", {"hs", "lhs"}, {}, {}, false, "UTF-8 text", text},
      {"ocaml", {"ml", "mli"}, {}, {}, false, "UTF-8 text", text},
      {"lisp", {"lisp", "lsp", "el", "cl"}, {}, {}, false, "UTF-8 text", text},
      {"scala", {"scala"}, {}, {}, false, "UTF-8 text", text},
      {"kotlin", {"kt", "kts"}, {}, {}, false, "UTF-8 text", text},
      {"groovy", {"groovy", "gradle"}, {}, {}, false, "UTF-8 text", text},
      {"powershell", {"ps1"}, {}, {}, false, "UTF-8 text", text},
      {"batch", {"bat", "cmd"}, {}, {}, false, "UTF-8 text", text},
      {"vba", {"vbs", "vba"}, {}, {}, false, "UTF-8 text", text},
      {"asm", {"s", "asm"}, {}, {}, false, "UTF-8 text", text},
      {"proto", {"proto"}, {}, {}, false, "UTF-8 text", text},
      {"css", {"css"}, {}, {}, false, "UTF-8 text", text},
      {"scss", {"scss"}, {}, {}, false, "UTF-8 text", text},
      {"html", {"html", "htm", "xhtml"}, {}, {}, false, "UTF-8 text starting with '<'", text_markup},
      {"xml", {"xml"}, {}, {}, false, "UTF-8 text starting with '<'", text_markup},
      {"svg", {"svg"}, {}, {}, false, "UTF-8 text starting with '<', '<svg' in its first 64 KiB", text_svg},
      {"json", {"json"}, {}, {}, false, "UTF-8 text starting with '{' or '['", text_json},
      {"yaml", {"yaml", "yml"}, {}, {}, false, "UTF-8 text", text},
      {"toml", {"toml"}, {}, {}, false, "UTF-8 text", text},
      {"ini", {"ini"}, {}, {}, false, "UTF-8 text", text},
      {"csv", {"csv"}, {}, {}, false, "UTF-8 text", text},
      {"tsv", {"tsv"}, {}, {}, false, "UTF-8 text", text},
      {"markdown", {"md", "markdown"}, {}, {}, false, "UTF-8 text", text},
      {"rst", {"rst"}, {}, {}, false, "UTF-8 text", text},
      {"latex", {"tex", "sty", "cls", "ltx"}, {}, {}, false, "UTF-8 text", text},
      {"bib", {"bib"}, {}, {}, false, "UTF-8 text", text},
      {"po", {"po"}, {}, {}, false, "UTF-8 text", text},
      {"diff", {"diff", "patch"}, {}, {}, false, "UTF-8 text", text},
      {"txt", {"txt"}, {}, {}, false, "UTF-8 text", text},
      {"pem", {"pem"}, {}, {}, false, "UTF-8 text starting with '-----BEGIN '", text_pem},
      {"crt", {"crt"}, {}, {}, false, "UTF-8 text starting with '-----BEGIN '", text_pem},
      {"rtf", {"rtf"}, {}, {}, false, "starts with '{\\rtf'", text_rtf},
      {"postscript", {"ps", "eps"}, {}, {}, false, "starts with '%!'", text_postscript},
      // --- binary: magic bytes ---
      {"png", {"png"}, {}, {}, false, "89 50 4e 47 0d 0a 1a 0a", png},
      {"jpeg", {"jpg", "jpeg"}, {}, {}, false, "ff d8 ff", jpeg},
      {"gif", {"gif"}, {}, {}, false, "'GIF87a' or 'GIF89a'", gif},
      {"bmp", {"bmp"}, {}, {}, false, "'BM'", bmp},
      {"ico", {"ico"}, {}, {}, false, "00 00 01 00", ico},
      {"tiff", {"tif", "tiff"}, {}, {}, false, "'II*\\0' or 'MM\\0*'", tiff},
      {"webp", {"webp"}, {}, {}, false, "'RIFF', 'WEBP' at 8", webp},
      {"pdf", {"pdf"}, {}, {}, false, "'%PDF-'", pdf},
      {"gzip", {"gz", "tgz"}, {}, {}, false, "1f 8b 08", gzip},
      {"bzip", {"bz2", "tbz2"}, {}, {}, false, "'BZh1'..'BZh9'", bzip},
      {"xz", {"xz", "txz"}, {}, {}, false, "fd '7zXZ' 00", xz},
      {"zip", {"zip"}, {}, {}, false, "'PK' 03 04", zip},
      {"jar", {"jar"}, {}, {}, false, "'PK' 03 04", zip},
      {"tar", {"tar"}, {}, {}, false, "'ustar' at 257", tar},
      {"deb", {"deb", "udeb"}, {}, {}, false, "'!<arch>\\ndebian-binary'", deb},
      {"pebin", {"exe", "dll"}, {}, {}, false, "'MZ'", pe},
      {"javabytecode", {"class"}, {}, {}, false, "ca fe ba be", javaclass},
      {"wasm", {"wasm"}, {}, {}, false, "00 'asm'", wasm},
      {"ttf", {"ttf", "ttc"}, {}, {}, false, "00 01 00 00, 'true' or 'ttcf'", ttf},
      {"otf", {"otf"}, {}, {}, false, "'OTTO'", otf},
      {"woff", {"woff"}, {}, {}, false, "'wOFF'", woff},
      {"woff2", {"woff2"}, {}, {}, false, "'wOF2'", woff2},
      {"ogg", {"ogg", "oga", "ogv", "opus"}, {}, {}, false, "'OggS'", ogg},
      {"flac", {"flac"}, {}, {}, false, "'fLaC'", flac},
      {"wav", {"wav"}, {}, {}, false, "'RIFF', 'WAVE' at 8", wav},
      {"mp3", {"mp3"}, {}, {}, false, "'ID3' or an MPEG layer III frame header", mp3},
      {"midi", {"mid", "midi"}, {}, {}, false, "'MThd'", midi},
      {"sqlite", {"sqlite", "sqlite3", "db"}, {}, {}, false, "'SQLite format 3' 00", sqlite},
      // --- by path and magic: any other file under a bin/ or lib/ folder ---
      {"elf", {}, {}, {}, true, "7f 'ELF', under a bin/, sbin/, lib*/ or libexec/ folder", elf},
  };
  return kRules;
}

namespace {

std::string_view base_name(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool path_has_dir(std::string_view path, std::initializer_list<std::string_view> dirs) {
  for (std::string_view d : dirs) {
    const std::string needle = "/" + std::string(d) + "/";
    if (path.find(needle) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

bool path_under_bin_or_lib(const std::string& path) {
  return path_has_dir(path, {"bin", "sbin", "lib", "lib32", "lib64", "libexec"});
}

const FileTypeRule* rule_for_path(const std::string& path) {
  const std::string_view name = base_name(path);
  for (const FileTypeRule& r : file_type_rules())
    if (std::find(r.names.begin(), r.names.end(), name) != r.names.end()) return &r;
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return nullptr;
  std::string ext(name.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const FileTypeRule& r : file_type_rules())
    if (std::find(r.extensions.begin(), r.extensions.end(), ext) != r.extensions.end()) return &r;
  return nullptr;
}

const FileTypeRule* rule_for_head(const std::string& path, std::string_view head) {
  if (!path_under_bin_or_lib(path)) return nullptr;
  const std::string_view name = base_name(path);
  if (starts_with(head, "#!") && name.find('.') == std::string_view::npos &&
      path_has_dir(path, {"bin", "sbin"})) {
    // "#!/usr/bin/env python3 -u" or "#! /bin/sh -e": the interpreter's base name.
    std::string_view line = head.substr(2, head.find('\n') == std::string_view::npos ? head.size() - 2
                                                                                      : head.find('\n') - 2);
    auto next_word = [&line]() {
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      size_t end = 0;
      while (end < line.size() && line[end] != ' ' && line[end] != '\t' && line[end] != '\r') ++end;
      std::string_view word = line.substr(0, end);
      line.remove_prefix(end);
      return word;
    };
    std::string_view interpreter = base_name(next_word());
    if (interpreter == "env") {
      interpreter = next_word();
      while (starts_with(interpreter, "-")) interpreter = next_word();  // env -S ...
    }
    for (const FileTypeRule& r : file_type_rules())
      if (std::find(r.shebangs.begin(), r.shebangs.end(), interpreter) != r.shebangs.end()) return &r;
    return nullptr;
  }
  if (elf(head)) {
    for (const FileTypeRule& r : file_type_rules())
      if (r.under_bin_lib) return &r;
  }
  return nullptr;
}

}  // namespace byteformer
