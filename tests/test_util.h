// Helpers shared by the test binaries: fixture paths, file I/O, running the real CLI.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace byteformer::test {

/// ../shared/fixtures as seen from the build (BYTEFORMER_FIXTURES_DIR).
std::string fixtures_dir();
/// Path of the built `byteformer` CLI.
std::string cli_path();
/// The project source root.
std::string source_dir();
/// A fresh empty temporary directory, removed by the caller if wanted.
std::string make_temp_dir(const std::string& tag);
std::vector<uint8_t> read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
std::string read_text(const std::string& path);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
/// Runs `command` through /bin/sh, capturing stdout and stderr.
CommandResult run_command(const std::string& command);

/// LibTorch's intra-op threads set to `threads` while alive, the previous count restored after
/// (also when a failed ASSERT returns early). For tests of code that spreads work over threads.
class ScopedThreads {
 public:
  explicit ScopedThreads(int threads);
  ~ScopedThreads();
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int previous_;
};

}  // namespace byteformer::test
