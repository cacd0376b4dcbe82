// Checked whole-file reading and replace-by-rename writing: every error names the path and
// the reason. (Durable writes of checkpoints: write_file_atomic in checkpoint.h.)
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace byteformer {

constexpr int64_t kNoFileLimit = std::numeric_limits<int64_t>::max();

/// Reads a whole regular file, fifo, pipe or character device ("-" is not special here). Reads
/// at most `max_bytes`: a longer input (a huge file, /dev/zero) is a std::runtime_error that
/// says so after reading max_bytes + 1 bytes, never an allocation of any size. A directory, a
/// missing or unreadable path is an error naming the path and the reason. A fifo or pipe that
/// gives no byte for `pipe_wait_s` seconds (a named fifo nobody writes, a stalled writer) is an
/// error too; opening a fifo never blocks. Negative: wait as long as the writer takes.
std::vector<uint8_t> read_file(const std::string& path, int64_t max_bytes = kNoFileLimit, double pipe_wait_s = -1.0);

/// Writes `bytes` under a temporary name beside `path` and renames it over `path`, so a reader
/// sees the old file or the whole new one. No fsync: for bulk data whose completeness a marker
/// file (written last, durably) records.
void write_file_replace(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace byteformer
