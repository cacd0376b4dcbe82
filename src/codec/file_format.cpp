#include "byteformer/codec/file_format.h"

#include <cstring>

namespace byteformer {
namespace {

bool starts_with(const uint8_t* data, size_t size, const char* magic, size_t n) {
  return size >= n && std::memcmp(data, magic, n) == 0;
}

// An MPEG audio frame header: 11 sync bits, a valid version, layer, bitrate and rate index.
bool is_mpeg_frame_header(const uint8_t* d, size_t size) {
  if (size < 4 || d[0] != 0xFF || (d[1] & 0xE0) != 0xE0) return false;
  const int version = (d[1] >> 3) & 3;  // 1 is reserved
  const int layer = (d[1] >> 1) & 3;    // 0 is reserved
  const int bitrate = d[2] >> 4;        // 15 is invalid
  const int rate = (d[2] >> 2) & 3;     // 3 is reserved
  return version != 1 && layer != 0 && bitrate != 15 && rate != 3;
}

}  // namespace

FileFormat detect_format(const uint8_t* data, size_t size) {
  if (data == nullptr || size == 0) return FileFormat::kUnknown;
  if (starts_with(data, size, "\xFF\xD8\xFF", 3)) return FileFormat::kJpeg;
  if (starts_with(data, size, "\x89PNG\r\n\x1A\n", 8)) return FileFormat::kPng;
  if (starts_with(data, size, "II*\0", 4) || starts_with(data, size, "MM\0*", 4) ||
      starts_with(data, size, "II+\0", 4) || starts_with(data, size, "MM\0+", 4)) {
    return FileFormat::kTiff;
  }
  if (starts_with(data, size, "BM", 2) && size >= 14) return FileFormat::kBmp;
  if (size >= 3 && data[0] == 'P' && (data[1] == '2' || data[1] == '3' || data[1] == '5' ||
                                      data[1] == '6')) {
    const uint8_t c = data[2];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '#') return FileFormat::kPnm;
  }
  if (size >= 12 && (starts_with(data, size, "RIFF", 4) || starts_with(data, size, "RF64", 4)) &&
      std::memcmp(data + 8, "WAVE", 4) == 0) {
    return FileFormat::kWav;
  }
  if (starts_with(data, size, "ID3", 3) || is_mpeg_frame_header(data, size)) {
    return FileFormat::kMp3;
  }
  return FileFormat::kUnknown;
}

bool looks_like_audio(const uint8_t* data, size_t size) {
  const FileFormat f = detect_format(data, size);
  return f == FileFormat::kWav || f == FileFormat::kMp3;
}

bool looks_like_image(const uint8_t* data, size_t size) {
  const FileFormat f = detect_format(data, size);
  return f == FileFormat::kJpeg || f == FileFormat::kPng || f == FileFormat::kTiff ||
         f == FileFormat::kBmp || f == FileFormat::kPnm;
}

std::string format_name(FileFormat format) {
  switch (format) {
    case FileFormat::kJpeg: return "jpeg";
    case FileFormat::kPng: return "png";
    case FileFormat::kTiff: return "tiff";
    case FileFormat::kBmp: return "bmp";
    case FileFormat::kPnm: return "pnm";
    case FileFormat::kWav: return "wav";
    case FileFormat::kMp3: return "mp3";
    case FileFormat::kUnknown: break;
  }
  return "unknown";
}

}  // namespace byteformer
