// Checked whole-file reading and replace-by-rename writing: every error names the path and
// the reason.
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

/// How write_file_atomic makes its file last.
enum class Durability {
  /// fsync the file before the rename and the folder after it: the new file survives a power
  /// loss (checkpoints, the run folder's files, command outputs).
  kDurable,
  /// The rename alone: a reader still sees the old file or the whole new one, but a power loss
  /// may lose it. For bulk data whose completeness a marker file (written last, durably)
  /// records: a data set of thousands of files.
  kRenameOnly,
};

/// Writes `size` bytes at `data` to `path` atomically: a temp file `.<name>.tmp-<pid>-<hex>`
/// in the same folder, renamed over `path` once whole, so a reader sees the old file or the
/// whole new one. A symbolic link is followed (its target is replaced, the link stays); a path
/// that is not a regular file (a character device, a fifo) is written in place, never replaced
/// by a file (a fifo nobody reads is an error). Errors name the path and the reason.
void write_file_atomic(const std::string& path, const void* data, size_t size,
                       Durability durability = Durability::kDurable);
void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes,
                       Durability durability = Durability::kDurable);

/// Removes the temp files of write_file_atomic's pattern that a killed writer left in `dir`
/// (not those of a live process other than this one). Returns the names removed.
std::vector<std::string> remove_stale_temp_files(const std::string& dir);

}  // namespace byteformer
