#include "byteformer/io/file.h"

#include <fcntl.h>
#include <signal.h>
#include <regex>
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

namespace {

// Writes all of `size` bytes to `fd`; throws naming `path` (and unlinks `tmp`, when given).
void write_all(int fd, const void* data, size_t size, const std::string& path, const char* tmp) {
  const auto* p = static_cast<const uint8_t*>(data);
  size_t left = size;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      if (tmp != nullptr) ::unlink(tmp);
      throw std::runtime_error(fmt::format("{}: write failed: {}", path, std::strerror(err)));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

void write_file_atomic(const std::string& path, const void* data, size_t size, Durability durability) {
  namespace fs = std::filesystem;
  // A symbolic link is followed: its target is replaced, the link stays. Something that is not
  // a regular file (a device, a fifo) is written in place, never replaced by a file.
  std::error_code ec;
  fs::path target(path);
  for (int hops = 0; fs::is_symlink(fs::symlink_status(target, ec)); ++hops) {
    if (hops == 40) throw std::runtime_error(fmt::format("{}: more than 40 links to follow", path));
    const fs::path next = fs::read_symlink(target, ec);
    if (ec) throw std::runtime_error(fmt::format("{}: cannot follow the link: {}", path, ec.message()));
    target = next.is_absolute() ? next : target.parent_path() / next;  // a dangling link's target is made
  }
  const fs::file_status st = fs::status(target, ec);
  if (fs::exists(st) && !fs::is_regular_file(st)) {
    if (fs::is_directory(st)) throw std::runtime_error(fmt::format("{}: is a directory, not a file", path));
    // O_NONBLOCK: a fifo nobody reads is an error (ENXIO), not a wait for ever.
    Fd f;
    f.fd = ::open(target.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (f.fd < 0) throw std::runtime_error(fmt::format("{}: cannot open for writing: {}", path, std::strerror(errno)));
    ::fcntl(f.fd, F_SETFL, ::fcntl(f.fd, F_GETFL) & ~O_NONBLOCK);
    write_all(f.fd, data, size, path, nullptr);
    return;
  }
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::random_device rd;
  const fs::path tmp = dir / fmt::format(".{}.tmp-{}-{:x}", target.filename().string(), ::getpid(), rd());
  Fd f;
  f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (f.fd < 0) throw std::runtime_error(fmt::format("{}: cannot create {}: {}", path, tmp.string(), std::strerror(errno)));
  write_all(f.fd, data, size, path, tmp.c_str());
  const bool durable = durability == Durability::kDurable;
  if ((durable && ::fsync(f.fd) != 0) || ::close(f.fd) != 0) {
    const int err = errno;
    f.fd = -1;
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: fsync/close failed: {}", path, std::strerror(err)));
  }
  f.fd = -1;
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: rename failed: {}", path, std::strerror(err)));
  }
  if (!durable) return;
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes, Durability durability) {
  write_file_atomic(path, bytes.data(), bytes.size(), durability);
}

std::vector<std::string> remove_stale_temp_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> removed;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return removed;
  static const std::regex kTemp(R"(\..+\.tmp-([0-9]+)-[0-9a-f]+)");  // write_file_atomic's names
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::smatch m;
    if (!entry.is_regular_file(ec) || !std::regex_match(name, m, kTemp)) continue;
    const long pid = std::strtol(m[1].str().c_str(), nullptr, 10);
    // A live writer other than us may be mid-write (kill(pid, 0) == 0, or EPERM: alive, not ours).
    if (pid != ::getpid() && pid > 0 && pid <= INT32_MAX && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM))
      continue;
    if (fs::remove(entry.path(), ec)) removed.push_back(name);
  }
  std::sort(removed.begin(), removed.end());
  return removed;
}


}  // namespace byteformer
