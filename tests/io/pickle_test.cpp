// io/pickle.h on hostile pickles: deep nesting and cycles are errors naming the offset, and
// nothing recurses over them (a million nested tuples once crashed the loader).
#include <gtest/gtest.h>

#include <string>

#include "byteformer/io/pickle.h"

namespace byteformer {
namespace {

std::string error_of(const std::string& bytes) {
  const pickle::StorageLoader no_storage = [](const std::string& key, uint64_t) -> std::pair<std::shared_ptr<const void>, size_t> {
    throw std::runtime_error("no storage " + key);
  };
  try {
    pickle::unpickle(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), no_storage, "x.pt");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(Pickle, NestingIsBoundedWithoutRecursion) {
  // PROTO 2, EMPTY_TUPLE, TUPLE1 n times, STOP.
  const auto nested = [](size_t n) { return std::string("\x80\x02)") + std::string(n, '\x85') + "."; };
  EXPECT_NE(error_of(nested(1000000)).find("x.pt: data.pkl byte offset 1000003: values nested deeper than 64 levels"),
            std::string::npos)
      << error_of(nested(1000000));
  EXPECT_NE(error_of(nested(64)).find("nested deeper than 64"), std::string::npos);
  EXPECT_EQ(error_of(nested(63)), "");  // 64 levels: the empty tuple inside 63 others
  // A list appended to itself: PROTO 2, EMPTY_LIST, BINPUT 0, BINGET 0, APPEND, STOP.
  EXPECT_NE(error_of(std::string("\x80\x02]q\x00h\x00" "a.", 9)).find("contains itself (a cycle)"), std::string::npos);
  // Lists linked in the order that a depth counted while building would miss: each appended
  // into the next before its own child is appended to it. PROTO 2, MARK, 200 lists put in the
  // memo, the links (LONG_BINGET parent, LONG_BINGET child, APPEND), TUPLE, STOP.
  const auto le32 = [](int v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  std::string links = "\x80\x02(";
  for (int i = 0; i < 200; ++i) links += "]r" + le32(i);
  for (int i = 198; i >= 0; --i) links += "j" + le32(i + 1) + "j" + le32(i) + "a";
  links += "t.";
  EXPECT_NE(error_of(links).find("nested deeper than 64"), std::string::npos) << error_of(links);
}

}  // namespace
}  // namespace byteformer
