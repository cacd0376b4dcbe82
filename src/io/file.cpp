#include "byteformer/io/file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

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

}  // namespace

std::vector<uint8_t> read_file(const std::string& path, int64_t max_bytes) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw std::runtime_error(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw std::runtime_error(fmt::format("{}: is a directory, not a file", path));
  if (S_ISREG(st.st_mode) && st.st_size > max_bytes)
    throw std::runtime_error(fmt::format("{}: {} bytes, more than the {} this reads", path, st.st_size, max_bytes));
  std::vector<uint8_t> out;
  if (S_ISREG(st.st_mode)) out.reserve(static_cast<size_t>(st.st_size));
  uint8_t buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
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
