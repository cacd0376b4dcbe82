// The conversions of `byteformer data file-types`: formats that Debian's packages carry too few
// of are made from real content with Debian's own tools (a PNG of a package re-encoded as JPEG
// by ImageMagick, a text file compressed by xz, a WAV encoded as FLAC...). The made file keeps
// its source's package, so it falls in the source's split, and it must pass the content check
// of its label (file_type_rules.h) like any other file. Its manifest line says `converted:
// true`, the source path and the tool. Every command is chosen to give the same bytes for the
// same input (no timestamps, no random serial numbers), so the corpus stays deterministic for
// the same versions of the tools.
//
//   for (const FileTypeConversion& c : file_type_conversions()) ...   // c.label, c.from, c.tool
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace byteformer {

/// One row of the conversions table (file_type_conversions.cpp).
struct FileTypeConversion {
  std::string label;              // the label made (Magika's name)
  std::vector<std::string> from;  // labels of the sources, in turn
  std::string extension;          // appended to the source's file name (".xz")
  std::string program;            // must be on PATH, else the row is skipped
  std::string command;            // /bin/sh command; {in} and {out} are quoted paths
  int64_t max_source_bytes;       // larger sources are not used
};

/// The table, in order.
const std::vector<FileTypeConversion>& file_type_conversions();

/// Runs `conversion` on the file `in`, writing `out`. False when the tool failed or wrote
/// nothing (its stderr is discarded: a source it cannot read is simply not used).
bool run_file_type_conversion(const FileTypeConversion& conversion, const std::string& in, const std::string& out);

}  // namespace byteformer
