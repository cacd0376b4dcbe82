// Parsing of the server's untrusted request parts, apart from the HTTP library so that it can
// be fuzzed on its own (fuzz/fuzz_requests.cpp): query values and KServe v2 infer bodies
// (JSON, or JSON followed by Triton's binary tensor extension). Every failure is a
// RequestError carrying the HTTP status to answer and a message naming the offending part.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace byteformer {

/// A request the client got wrong: answered with `status` and {"error": message}.
struct RequestError : std::runtime_error {
  RequestError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
  int status;
};

/// Query value `key`=`text` as an integer >= min (400 otherwise).
int64_t parse_int_param(const char* key, const std::string& text, int64_t min);
/// "1", "true", "" -> true; "0", "false" -> false (400 otherwise).
bool parse_bool_param(const char* key, const std::string& text);
/// A number in [0, 1] (400 otherwise).
double parse_threshold_param(const std::string& text);

/// The deepest nesting of arrays and objects a request's JSON may have (an infer body needs 5).
constexpr int kMaxJsonDepth = 64;

/// A KServe v2 infer request on one BYTES input.
struct InferRequest {
  std::string input_name = "INPUT";
  bool raw = false;  // request parameters {"raw": true}: the elements are prepared bytes
  std::vector<std::vector<uint8_t>> elements;
  std::optional<nlohmann::json> id;  // echoed in the answer
  /// The outputs asked for by name ("outputs": [{"name": ...}...]), in order; empty: every output.
  std::vector<std::string> outputs;
};

/// Parses `body`; `header_length` is the Inference-Header-Content-Length header's value when
/// the request has one (the JSON part's size; the binary data follows it). JSON nested deeper
/// than kMaxJsonDepth is a 400, refused while it is read.
InferRequest parse_infer_request(const std::string& body, const std::optional<std::string>& header_length);

}  // namespace byteformer
