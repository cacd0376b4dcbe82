#include "byteformer/prepare/file_type_conversions.h"

#include <fmt/format.h>

#include <filesystem>

#include "prepare/subprocess.h"

namespace byteformer {

namespace {

constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * kKiB;

// Text sources of the compressors and of tar: plain documents and code of many packages.
const std::vector<std::string> kTextSources = {"txt", "rst", "markdown", "python", "perl", "shell", "c", "html"};

}  // namespace

// ImageMagick is called as `convert-im6.q16` (Debian's imagemagick-6.q16), not `convert`, which a
// machine may shadow with a program of its own. `-strip` drops the metadata (dates included).
const std::vector<FileTypeConversion>& file_type_conversions() {
  static const std::vector<FileTypeConversion> kConversions = {
      // label   from            extension  program            command
      {"xz", kTextSources, ".xz", "xz", "xz -6 -c {in} > {out}", 4 * kMiB},
      {"bzip", kTextSources, ".bz2", "bzip2", "bzip2 -9 -c {in} > {out}", 4 * kMiB},
      {"tar", kTextSources, ".tar", "tar",
       "tar --format=ustar --mtime=@0 --owner=0 --group=0 --numeric-owner -cf {out} -C \"$(dirname {in})\" "
       "\"$(basename {in})\"",
       4 * kMiB},
      {"jpeg", {"png"}, ".jpg", "convert-im6.q16", "convert-im6.q16 {in} -strip -quality 85 jpg:{out}", 2 * kMiB},
      {"gif", {"png"}, ".gif", "convert-im6.q16", "convert-im6.q16 {in} -strip gif:{out}", 2 * kMiB},
      {"bmp", {"png"}, ".bmp", "convert-im6.q16", "convert-im6.q16 {in} -strip bmp3:{out}", 2 * kMiB},
      {"tiff", {"png"}, ".tiff", "convert-im6.q16",
       "convert-im6.q16 {in} -strip -define tiff:timestamp=false tiff:{out}", 2 * kMiB},
      {"webp", {"png"}, ".webp", "convert-im6.q16", "convert-im6.q16 {in} -strip -quality 80 webp:{out}", 2 * kMiB},
      {"ico", {"png"}, ".ico", "convert-im6.q16", "convert-im6.q16 {in} -strip -resize '64x64>' ico:{out}", 2 * kMiB},
      // One member, dated 1980-01-01 (the zip epoch), deflated by zlib.
      {"zip", kTextSources, ".zip", "python3",
       "python3 -c \"import os, sys, zipfile; m = zipfile.ZipInfo(os.path.basename(sys.argv[1]), (1980, 1, 1, 0, 0, "
       "0)); m.compress_type = zipfile.ZIP_DEFLATED; m.external_attr = 0o644 << 16; z = zipfile.ZipFile(sys.argv[2], "
       "'w'); z.writestr(m, open(sys.argv[1], 'rb').read()); z.close()\" {in} {out}",
       4 * kMiB},
      // The CSV's rows as a table (its first row names the columns).
      {"sqlite", {"csv"}, ".sqlite", "sqlite3", "sqlite3 {out} \".import --csv {in} t\"", 4 * kMiB},
      {"wav", {"ogg", "flac", "mp3"}, ".wav", "sox", "sox -q {in} -t wav {out}", 16 * kMiB},
      {"flac", {"wav", "ogg"}, ".flac", "sox", "sox -q {in} -t flac {out}", 16 * kMiB},
      {"mp3", {"wav", "ogg", "flac"}, ".mp3", "lame",
       "sox -q {in} -t wav - | lame --quiet --noreplaygain -b 96 - {out}", 16 * kMiB},
  };
  return kConversions;
}

bool run_file_type_conversion(const FileTypeConversion& c, const std::string& in, const std::string& out) {
  std::string command = c.command;
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"{in}", shell_quote(in)}, {"{out}", shell_quote(out)}})
    for (size_t at = command.find(key); at != std::string::npos; at = command.find(key, at + value.size()))
      command.replace(at, key.size(), value);
  if (run_shell(fmt::format("({}) 2>/dev/null </dev/null", command)) != 0) return false;
  std::error_code ec;
  return std::filesystem::file_size(out, ec) > 0 && !ec;
}

}  // namespace byteformer
