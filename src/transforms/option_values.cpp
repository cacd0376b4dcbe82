#include "transforms/option_values.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace byteformer::detail {
namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::vector<std::string> split_list(const std::string& key, const std::string& value) {
  std::string v = trim(value);
  if (!v.empty() && (v.front() == '[' || v.front() == '(')) {
    const char close = v.front() == '[' ? ']' : ')';
    if (v.back() != close) throw_bad_value(key, value, "a list like [a, b]");
    v = v.substr(1, v.size() - 2);
  }
  std::vector<std::string> items;
  std::string cur;
  for (char c : v) {
    if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) items.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) items.push_back(cur);
  return items;
}

}  // namespace

void throw_bad_value(const std::string& key, const std::string& value,
                     const std::string& expected) {
  throw std::invalid_argument("option " + key + ": expected " + expected + ", got '" + value +
                              "'");
}

std::string normalise_key(std::string key, const std::string& prefix) {
  key = trim(key);
  if (key.rfind("--", 0) == 0) key = key.substr(2);
  std::replace(key.begin(), key.end(), '-', '_');
  if (!prefix.empty() && key.rfind(prefix, 0) == 0) key = key.substr(prefix.size());
  return key;
}

bool parse_bool(const std::string& key, const std::string& value) {
  std::string v = trim(value);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  throw_bad_value(key, value, "a boolean (true/false)");
}

int64_t parse_int(const std::string& key, const std::string& value) {
  const std::string v = trim(value);
  if (v.empty()) throw_bad_value(key, value, "an integer");
  char* end = nullptr;
  errno = 0;
  const long long r = std::strtoll(v.c_str(), &end, 10);
  if (errno != 0 || end != v.c_str() + v.size()) throw_bad_value(key, value, "an integer");
  return r;
}

double parse_double(const std::string& key, const std::string& value) {
  const std::string v = trim(value);
  if (v.empty()) throw_bad_value(key, value, "a number");
  char* end = nullptr;
  errno = 0;
  const double r = std::strtod(v.c_str(), &end);
  if (errno != 0 || end != v.c_str() + v.size() || !std::isfinite(r)) {
    throw_bad_value(key, value, "a number");
  }
  return r;
}

std::vector<double> parse_double_list(const std::string& key, const std::string& value) {
  std::vector<double> out;
  for (const auto& item : split_list(key, value)) out.push_back(parse_double(key, item));
  return out;
}

std::vector<int64_t> parse_int_list(const std::string& key, const std::string& value) {
  std::vector<int64_t> out;
  for (const auto& item : split_list(key, value)) out.push_back(parse_int(key, item));
  return out;
}

std::pair<std::string, std::string> split_key_value(const std::string& item) {
  const auto eq = item.find('=');
  if (eq == std::string::npos) {
    throw std::invalid_argument("expected an option as key=value, got '" + item + "'");
  }
  return {trim(item.substr(0, eq)), trim(item.substr(eq + 1))};
}

}  // namespace byteformer::detail
