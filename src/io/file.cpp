#include "byteformer/io/file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>

namespace byteformer {

namespace {

// Closes a descriptor on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Waits until `fd` (a fifo or pipe) can be read or its writer has gone; false after wait_s
// seconds with neither (wait_s < 0: no limit).
bool wait_readable(int fd, double wait_s) {
  const int timeout_ms = wait_s < 0 ? -1 : static_cast<int>(std::min(wait_s * 1000.0, 2.0e9));
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    return n != 0;  // an error of poll's own shows again in read()
  }
}

}  // namespace

std::vector<uint8_t> read_file(const std::string& path, int64_t max_bytes, double pipe_wait_s) {
  // A named fifo is opened without blocking (open() would wait for a writer); poll() below
  // waits for its first byte, as long as pipe_wait_s allows.
  struct stat named {};
  const bool fifo_path = ::stat(path.c_str(), &named) == 0 && S_ISFIFO(named.st_mode);
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (fifo_path ? O_NONBLOCK : 0));
  if (f.fd < 0) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw std::runtime_error(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw std::runtime_error(fmt::format("{}: is a directory, not a file", path));
  if (S_ISREG(st.st_mode) && st.st_size > max_bytes)
    throw std::runtime_error(fmt::format("{}: {} bytes, more than the {} this reads", path, st.st_size, max_bytes));
  std::vector<uint8_t> out;
  if (S_ISREG(st.st_mode)) out.reserve(static_cast<size_t>(st.st_size));
  const bool pipe = S_ISFIFO(st.st_mode);
  uint8_t buf[1 << 16];
  for (;;) {
    if (pipe && !wait_readable(f.fd, pipe_wait_s))
      throw std::runtime_error(fmt::format("{}: a fifo or pipe that gave no data for {} s after {} bytes (no writer?)",
                                           path, pipe_wait_s, out.size()));
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw std::runtime_error(fmt::format("{}: read error after {} bytes: {}", path, out.size(), std::strerror(errno)));
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
    if (static_cast<int64_t>(out.size()) > max_bytes)
      throw std::runtime_error(
          fmt::format("{}: longer than the {} bytes this reads (stopped reading there)", path, max_bytes));
  }
  return out;
}

void write_file_replace(const std::string& path, const std::vector<uint8_t>& bytes) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::random_device rd;
  const fs::path tmp = dir / fmt::format(".{}.tmp-{}-{:x}", target.filename().string(), ::getpid(), rd());
  Fd f;
  f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (f.fd < 0) throw std::runtime_error(fmt::format("{}: cannot create {}: {}", path, tmp.string(), std::strerror(errno)));
  const uint8_t* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(f.fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::unlink(tmp.c_str());
      throw std::runtime_error(fmt::format("{}: write failed: {}", path, std::strerror(err)));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  const int rc = ::close(f.fd);
  f.fd = -1;
  if (rc != 0 || ::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: close/rename failed: {}", path, std::strerror(err)));
  }
}

}  // namespace byteformer
