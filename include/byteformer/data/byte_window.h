// Byte windows: what a model of arbitrary files (Modality::kBytes) reads of a file, with no
// decoding: its first `head` and last `tail` bytes, joined; a file of at most head + tail
// bytes is read whole, once. With strip_whitespace, leading and trailing ASCII whitespace is
// dropped first (Magika's preparation; a run of it longer than kWhitespaceSlack bytes is
// dropped only that far).
//
//   ByteWindow w;                                  // 1024 + 1024
//   std::vector<uint8_t> bytes = read_byte_window("/usr/bin/ls", w);   // 2048 bytes
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace byteformer {

class Config;

struct ByteWindow {
  int64_t head = 1024;
  int64_t tail = 1024;
  bool strip_whitespace = false;

  /// How much leading or trailing whitespace a window looks past when stripping.
  static constexpr int64_t kWhitespaceSlack = 4096;
  /// The most either window may be: a model's input is bounded.
  static constexpr int64_t kMaxWindow = int64_t{1} << 20;

  /// Reads byte_window.head, byte_window.tail, byte_window.strip_whitespace; throws
  /// std::invalid_argument naming the key, value and file of a bad value.
  static ByteWindow from_config(const Config& config);
  /// e.g. "first 1024 + last 1024 bytes".
  std::string describe() const;
};

/// The window of the bytes `data[0, size)` (the whole file).
std::vector<uint8_t> apply_byte_window(const uint8_t* data, size_t size, const ByteWindow& window);

/// The window of the regular file `path`, reading only the bytes the window needs (a 50 GB
/// file costs what a 4 KB one does). Throws std::runtime_error naming the file when it cannot
/// be read or is not a regular file.
std::vector<uint8_t> read_byte_window(const std::string& path, const ByteWindow& window);

}  // namespace byteformer
