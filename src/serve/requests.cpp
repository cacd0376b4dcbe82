#include "byteformer/serve/requests.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "byteformer/io/display_name.h"

namespace byteformer {

namespace {

using nlohmann::json;

// The elements of a KServe v2 BYTES tensor in the binary extension: each a 4-byte
// little-endian length and that many bytes.
std::vector<std::vector<uint8_t>> binary_bytes_elements(const std::string& body, size_t offset, size_t size,
                                                        const std::string& input) {
  if (offset > body.size() || size > body.size() - offset)
    throw RequestError(400, fmt::format("input {}: binary_data_size {} runs past the end of the body ({} bytes after "
                                        "the JSON header)",
                                        input, size, body.size() - std::min(offset, body.size())));
  std::vector<std::vector<uint8_t>> out;
  size_t at = offset;
  const size_t end = offset + size;
  while (at < end) {
    if (end - at < 4)
      throw RequestError(400, fmt::format("input {}: element {} at byte {}: 4-byte length expected", input,
                                          out.size(), at - offset));
    const auto* p = reinterpret_cast<const unsigned char*>(body.data() + at);
    const uint64_t n = uint64_t{p[0]} | uint64_t{p[1]} << 8 | uint64_t{p[2]} << 16 | uint64_t{p[3]} << 24;
    at += 4;
    if (n > end - at)
      throw RequestError(400, fmt::format("input {}: element {} at byte {}: length {} runs past binary_data_size {}",
                                          input, out.size(), at - 4 - offset, n, size));
    out.emplace_back(body.begin() + static_cast<std::ptrdiff_t>(at),
                     body.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
  }
  return out;
}

// JSON "data" of a BYTES tensor: strings (their bytes), possibly nested row-major. Nesting is
// bounded by parse_infer_request's depth limit (kMaxJsonDepth) on the body it came from.
void json_bytes_elements(const json& data, std::vector<std::vector<uint8_t>>& out, const std::string& input) {
  if (data.is_string()) {
    const auto& s = data.get_ref<const std::string&>();
    out.emplace_back(s.begin(), s.end());
    return;
  }
  if (!data.is_array())
    throw RequestError(400, fmt::format("input {}: data: expected strings (a BYTES tensor), got {}", input,
                                        data.type_name()));
  for (const auto& e : data) json_bytes_elements(e, out, input);
}

// A tensor's "shape": whole numbers >= 0 whose product is the number of elements given.
void check_shape(const json& shape, size_t elements, const std::string& input) {
  const auto bad = [&](const std::string& why) {
    return RequestError(400, fmt::format("input {}: shape {}: {}", input, display_name(shape.dump()), why));
  };
  if (!shape.is_array() || shape.empty()) throw bad("expected an array of dimensions");
  for (const auto& d : shape)
    if (!d.is_number_integer() || d.get<int64_t>() < 0) throw bad("expected whole numbers >= 0");
  uint64_t product = 1;
  bool saturated = false;  // the product passed 2^64 (a later 0 still makes it 0)
  for (const auto& d : shape) {
    const auto n = d.get<uint64_t>();
    if (n == 0) {
      product = 0, saturated = false;
      break;
    }
    if (product > std::numeric_limits<uint64_t>::max() / n) saturated = true;
    product *= n;
  }
  if (saturated) throw bad(fmt::format("says more elements than the data's {}", elements));
  if (product != elements) throw bad(fmt::format("says {} elements, the data has {}", product, elements));
}

}  // namespace

int64_t parse_int_param(const char* key, const std::string& text, int64_t min) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v >= min) return v;
  } catch (const std::exception&) {
  }
  throw RequestError(400, fmt::format("query parameter {}={}: expected an integer >= {}", key, display_name(text), min));
}

bool parse_bool_param(const char* key, const std::string& text) {
  if (text == "1" || text == "true" || text.empty()) return true;
  if (text == "0" || text == "false") return false;
  throw RequestError(400, fmt::format("query parameter {}={}: expected 1, 0, true or false", key, display_name(text)));
}

double parse_threshold_param(const std::string& text) {
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && v >= 0.0 && v <= 1.0) return v;
  } catch (const std::exception&) {
  }
  throw RequestError(400, fmt::format("query parameter threshold={}: expected a number in [0, 1]", display_name(text)));
}

InferRequest parse_infer_request(const std::string& body, const std::optional<std::string>& header_length) {
  size_t header_size = body.size();
  if (header_length) {
    const std::string& h = *header_length;
    try {
      size_t used = 0;
      if (h.empty() || h[0] == '-' || h[0] == '+') throw std::out_of_range("size");
      header_size = std::stoul(h, &used);
      if (used != h.size() || header_size > body.size()) throw std::out_of_range("size");
    } catch (const std::exception&) {
      throw RequestError(400, fmt::format("Inference-Header-Content-Length {}: expected a size <= the body's {} bytes",
                                          display_name(h), body.size()));
    }
  }
  json j;
  try {
    // The parser itself builds any depth; a value nested deeper than the limit is refused while
    // it is read, before anything recurses over it.
    const json::parser_callback_t depth_limit = [](int depth, json::parse_event_t event, json&) {
      if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
          depth >= kMaxJsonDepth)
        throw RequestError(400, fmt::format("request body: JSON nested deeper than {} levels", kMaxJsonDepth));
      return true;
    };
    j = json::parse(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(header_size), depth_limit);
  } catch (const json::exception& e) {
    throw RequestError(400, fmt::format("request body: not JSON: {}", display_name(e.what())));
  }
  if (!j.is_object() || !j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].size() != 1)
    throw RequestError(400, "request: expected {\"inputs\": [one BYTES tensor]}");
  const json& input = j["inputs"][0];
  if (!input.is_object()) throw RequestError(400, "request: inputs[0]: expected an object");
  InferRequest out;
  if (input.contains("name")) {
    if (!input["name"].is_string()) throw RequestError(400, "input name: expected a string");
    out.input_name = display_name(input["name"].get<std::string>());
  }
  const json* datatype = input.contains("datatype") ? &input["datatype"] : nullptr;
  if (datatype == nullptr || !datatype->is_string() || datatype->get<std::string>() != "BYTES")
    throw RequestError(400, fmt::format("input {}: datatype {}: expected BYTES", out.input_name,
                                        datatype == nullptr ? std::string("(none)") : display_name(datatype->dump())));
  if (j.contains("parameters") && j["parameters"].is_object() && j["parameters"].contains("raw")) {
    const json& raw = j["parameters"]["raw"];
    if (!raw.is_boolean()) throw RequestError(400, "parameters.raw: expected true or false");
    out.raw = raw.get<bool>();
  }
  const bool binary_size = input.contains("parameters") && input["parameters"].is_object() &&
                           input["parameters"].contains("binary_data_size");
  if (binary_size) {
    if (!header_length) throw RequestError(400, "binary_data_size without an Inference-Header-Content-Length header");
    const auto& size = input["parameters"]["binary_data_size"];
    if (!size.is_number_unsigned()) throw RequestError(400, "binary_data_size: expected a byte count");
    out.elements = binary_bytes_elements(body, header_size, size.get<size_t>(), out.input_name);
  } else if (input.contains("data")) {
    json_bytes_elements(input["data"], out.elements, out.input_name);
  } else {
    throw RequestError(400, fmt::format("input {}: no data and no binary_data_size", out.input_name));
  }
  if (out.elements.empty()) throw RequestError(400, fmt::format("input {}: no elements", out.input_name));
  if (input.contains("shape")) check_shape(input["shape"], out.elements.size(), out.input_name);
  if (j.contains("id")) out.id = j["id"];
  if (j.contains("outputs")) {
    if (!j["outputs"].is_array()) throw RequestError(400, "request: outputs: expected an array of {\"name\": ...}");
    for (size_t i = 0; i < j["outputs"].size(); ++i) {
      const json& o = j["outputs"][i];
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string())
        throw RequestError(400, fmt::format("request: outputs[{}]: expected {{\"name\": a string}}", i));
      out.outputs.push_back(display_name(o["name"].get<std::string>()));
    }
  }
  return out;
}

}  // namespace byteformer
