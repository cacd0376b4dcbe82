#include "byteformer/data/byte_window.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace byteformer {

namespace {

bool is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Reads exactly `n` bytes at `offset`; a file that shrank underneath gives fewer.
size_t read_at(int fd, uint8_t* out, size_t n, int64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, out + done, n - done, static_cast<off_t>(offset + static_cast<int64_t>(done)));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(fmt::format("{}: read error at byte {}: {}", path, offset + static_cast<int64_t>(done),
                                           std::strerror(errno)));
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

}  // namespace

std::string ByteWindow::describe() const {
  return fmt::format("first {} + last {} bytes{}", head, tail, strip_whitespace ? ", whitespace stripped" : "");
}

std::vector<uint8_t> apply_byte_window(const uint8_t* data, size_t size, const ByteWindow& w) {
  size_t begin = 0, end = size;
  if (w.strip_whitespace) {
    const size_t slack = static_cast<size_t>(ByteWindow::kWhitespaceSlack);
    while (begin < end && begin < slack && is_space(data[begin])) ++begin;
    while (end > begin && size - end < slack && is_space(data[end - 1])) --end;
    if (begin == end) begin = 0, end = size;  // only whitespace: the bytes as they are
  }
  const size_t head = static_cast<size_t>(w.head), tail = static_cast<size_t>(w.tail);
  if (end - begin <= head + tail) return std::vector<uint8_t>(data + begin, data + end);
  std::vector<uint8_t> out(data + begin, data + begin + head);
  out.insert(out.end(), data + end - tail, data + end);
  return out;
}

std::vector<uint8_t> read_byte_window(const std::string& path, const ByteWindow& w) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::runtime_error(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw std::runtime_error(fmt::format("{}: not a regular file", path));
  const int64_t size = st.st_size;
  const int64_t slack = w.strip_whitespace ? ByteWindow::kWhitespaceSlack : 0;
  const int64_t head = w.head + slack, tail = w.tail + slack;
  std::vector<uint8_t> buf;
  if (size <= head + tail) {
    buf.resize(static_cast<size_t>(size));
    buf.resize(read_at(fd, buf.data(), buf.size(), 0, path));
    return apply_byte_window(buf.data(), buf.size(), w);
  }
  // The two ends only; the middle stands for the bytes between them, which the window never
  // reads. Whitespace slack is looked at within each end, as apply_byte_window does.
  std::vector<uint8_t> first(static_cast<size_t>(head)), last(static_cast<size_t>(tail));
  first.resize(read_at(fd, first.data(), first.size(), 0, path));
  last.resize(read_at(fd, last.data(), last.size(), size - tail, path));
  size_t b = 0, e = last.size();
  if (w.strip_whitespace) {
    while (b < first.size() && b < static_cast<size_t>(slack) && is_space(first[b])) ++b;
    while (e > 0 && last.size() - e < static_cast<size_t>(slack) && is_space(last[e - 1])) --e;
  }
  std::vector<uint8_t> out(first.begin() + static_cast<std::ptrdiff_t>(b),
                           first.begin() + static_cast<std::ptrdiff_t>(std::min(first.size(), b + static_cast<size_t>(w.head))));
  const size_t t = static_cast<size_t>(w.tail);
  out.insert(out.end(), last.begin() + static_cast<std::ptrdiff_t>(e >= t ? e - t : 0),
             last.begin() + static_cast<std::ptrdiff_t>(e));
  return out;
}

}  // namespace byteformer
