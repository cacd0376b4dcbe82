// libFuzzer target: the server's request parsing (byteformer/serve/requests.h) on arbitrary
// bytes must return a request or throw RequestError with a 4xx status, nothing else. The first
// byte picks whether an Inference-Header-Content-Length header is present and the next two
// its value; the rest is the body (and, as text, the query values).
#include <cstddef>
#include <cstdint>
#include <string>

#include "byteformer/serve/requests.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  std::optional<std::string> header;
  if (data[0] & 1) header = std::to_string((size_t{data[1]} << 8 | data[2]) % (size + 8));
  if (data[0] & 2) header = std::string(reinterpret_cast<const char*>(data + 1), 2);  // not a number
  const std::string body(reinterpret_cast<const char*>(data + 3), size - 3);
  try {
    const byteformer::InferRequest r = byteformer::parse_infer_request(body, header);
    if (r.elements.empty()) __builtin_trap();  // the parser promised at least one element
    size_t total = 0;
    for (const auto& e : r.elements) total += e.size();
    if (total > body.size()) __builtin_trap();  // elements are parts of the body
  } catch (const byteformer::RequestError& e) {
    if (e.status < 400 || e.status > 499) __builtin_trap();
  }
  for (const char* key : {"top_k", "raw", "threshold"}) {
    try {
      if (key[0] == 't' && key[1] == 'o') byteformer::parse_int_param(key, body, 1);
      if (key[0] == 'r') byteformer::parse_bool_param(key, body);
      if (key[0] == 't' && key[1] == 'h') byteformer::parse_threshold_param(body);
    } catch (const byteformer::RequestError& e) {
      if (e.status != 400) __builtin_trap();
    }
  }
  return 0;
}
