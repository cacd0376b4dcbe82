// ByteWindow's keys of a run's config; apart from byte_window.cpp, which needs no YAML (it is
// part of what runs without LibTorch: bf_portable in CMakeLists.txt).
#include <fmt/format.h>

#include <stdexcept>

#include "byteformer/data/byte_window.h"
#include "byteformer/io/config.h"

namespace byteformer {

ByteWindow ByteWindow::from_config(const Config& c) {
  return parse_options([&] {
    ByteWindow w;
    w.head = c.get_int("byte_window.head", w.head);
    w.tail = c.get_int("byte_window.tail", w.tail);
    w.strip_whitespace = c.get_bool("byte_window.strip_whitespace", w.strip_whitespace);
    for (const char* key : {"byte_window.head", "byte_window.tail"}) {
      const int64_t v = c.get_int(key, 0);
      if (v < 0 || v > kMaxWindow)
        throw std::invalid_argument(fmt::format("config: {}: expected 0 to {} bytes", c.describe(key), kMaxWindow));
    }
    if (w.head + w.tail == 0)
      throw std::invalid_argument(fmt::format("config {}: byte_window.head and byte_window.tail are both 0: the model "
                                              "would read nothing",
                                              c.path()));
    return w;
  });
}

}  // namespace byteformer
