// The server's request parsing (byteformer/serve/requests.h) on hand-made KServe v2 bodies,
// the fuzzer's seeds (fuzz/seeds/requests) and bounded random mutations of them: a request or
// a RequestError with a 4xx status naming the part, never another exception.
#include "byteformer/serve/requests.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

std::string status_and_message(const std::string& body, const std::optional<std::string>& header) {
  try {
    parse_infer_request(body, header);
    return "ok";
  } catch (const RequestError& e) {
    return std::to_string(e.status) + " " + e.what();
  }
}

std::string le32(uint32_t n) {
  return std::string{static_cast<char>(n & 255), static_cast<char>(n >> 8 & 255), static_cast<char>(n >> 16 & 255),
                     static_cast<char>(n >> 24)};
}

TEST(Requests, JsonStringsAndTheBinaryExtension) {
  const auto r = parse_infer_request(
      R"({"id": 7, "parameters": {"raw": true}, "inputs": [{"name": "IN", "datatype": "BYTES", "shape": [2],
          "data": [["ab"], "c"]}]})",
      std::nullopt);
  EXPECT_EQ(r.input_name, "IN");
  EXPECT_TRUE(r.raw);
  ASSERT_EQ(r.elements.size(), 2u);
  EXPECT_EQ(r.elements[0], (std::vector<uint8_t>{'a', 'b'}));
  EXPECT_EQ(r.elements[1], (std::vector<uint8_t>{'c'}));
  ASSERT_TRUE(r.id.has_value());
  EXPECT_EQ(*r.id, 7);
  EXPECT_TRUE(r.outputs.empty());  // none named: every output
  const auto o = parse_infer_request(
      R"({"inputs": [{"name": "IN", "datatype": "BYTES", "data": ["a"]}],
          "outputs": [{"name": "LABELS"}, {"name": "PROBABILITIES", "parameters": {"binary_data": false}}]})",
      std::nullopt);
  EXPECT_EQ(o.outputs, (std::vector<std::string>{"LABELS", "PROBABILITIES"}));

  const std::string data = le32(3) + std::string("x\0z", 3) + le32(0);
  const std::string header = R"({"inputs": [{"name": "INPUT", "datatype": "BYTES", "shape": [2], "parameters":
      {"binary_data_size": )" + std::to_string(data.size()) + "}}]}";
  const auto b = parse_infer_request(header + data, std::to_string(header.size()));
  EXPECT_FALSE(b.raw);
  ASSERT_EQ(b.elements.size(), 2u);
  EXPECT_EQ(b.elements[0], (std::vector<uint8_t>{'x', 0, 'z'}));
  EXPECT_TRUE(b.elements[1].empty());
}

TEST(Requests, EachMistakeIsA400NamingIt) {
  const std::string ok_input = R"("name": "IN", "datatype": "BYTES")";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "not JSON"},
      {"[]", "expected {\"inputs\""},
      {R"({"inputs": [1]})", "inputs[0]: expected an object"},
      {R"({"inputs": [{"name": 5, "datatype": "BYTES", "data": ["a"]}]})", "input name: expected a string"},
      {R"({"inputs": [{"name": "IN", "datatype": "FP32", "data": ["a"]}]})", "datatype \"FP32\": expected BYTES"},
      {R"({"inputs": [{"name": "IN", "datatype": 3, "data": ["a"]}]})", "datatype 3: expected BYTES"},
      {R"({"inputs": [{)" + ok_input + R"(}]})", "no data and no binary_data_size"},
      {R"({"inputs": [{)" + ok_input + R"(, "data": [1]}]})", "expected strings"},
      {R"({"inputs": [{)" + ok_input + R"(, "data": []}]})", "no elements"},
      {R"({"inputs": [{)" + ok_input + R"(, "shape": [5], "data": ["a"]}]})", "shape [5]: says 5 elements, the data has 1"},
      {R"({"inputs": [{)" + ok_input + R"(, "shape": [-3], "data": ["a"]}]})", "shape [-3]: expected whole numbers >= 0"},
      {R"({"inputs": [{)" + ok_input + R"(, "shape": "abc", "data": ["a"]}]})", "shape \"abc\": expected an array"},
      {R"({"inputs": [{)" + ok_input + R"(, "shape": [], "data": ["a"]}]})", "expected an array of dimensions"},
      {R"({"inputs": [{)" + ok_input + R"(, "shape": [4294967296, 4294967296], "data": ["a"]}]})", "says more elements than the data's 1"},
      {R"({"parameters": {"raw": "yes"}, "inputs": [{)" + ok_input + R"(, "data": ["a"]}]})", "parameters.raw"},
      {R"({"inputs": [{)" + ok_input + R"(, "parameters": {"binary_data_size": 4}}]})",
       "binary_data_size without an Inference-Header-Content-Length"},
      {R"({"outputs": {"name": "LOGITS"}, "inputs": [{)" + ok_input + R"(, "data": ["a"]}]})",
       "outputs: expected an array"},
      {R"({"outputs": [{"name": "LOGITS"}, {"id": 1}], "inputs": [{)" + ok_input + R"(, "data": ["a"]}]})",
       "outputs[1]: expected {\"name\": a string}"},
  };
  for (const auto& [body, says] : cases) {
    const std::string got = status_and_message(body, std::nullopt);
    EXPECT_EQ(got.rfind("400 ", 0), 0u) << body << " -> " << got;
    EXPECT_NE(got.find(says), std::string::npos) << body << " -> " << got;
  }
  // Nesting: bounded while the body is read (100,000 levels once overflowed the stack); a
  // tensor of depth 61 inside the body's 3 levels (64 in all) is still a tensor, 62 is not.
  const auto nested = [](int depth) { return std::string(depth, '[') + "\"ab\"" + std::string(depth, ']'); };
  for (const std::string& body : {R"({"inputs": [{)" + ok_input + R"(, "data": )" + nested(100000) + "}]}",
                                  R"({"id": )" + nested(100000) + R"(, "inputs": [{)" + ok_input + R"(, "data": ["a"]}]})",
                                  R"({"inputs": [{)" + ok_input + R"(, "data": )" + nested(kMaxJsonDepth - 2) + "}]}"}) {
    const std::string got = status_and_message(body, std::nullopt);
    EXPECT_EQ(got, "400 request body: JSON nested deeper than 64 levels") << body.substr(0, 80);
  }
  const InferRequest deep_ok = parse_infer_request(R"({"inputs": [{)" + ok_input + R"(, "data": )" + nested(kMaxJsonDepth - 3) + "}]}",
                                                   std::nullopt);
  ASSERT_EQ(deep_ok.elements.size(), 1u);
  EXPECT_EQ(parse_infer_request(R"({"inputs": [{)" + ok_input + R"(, "shape": [2, 1], "data": [["a"], ["b"]]}]})",
                                std::nullopt)
                .elements.size(),
            2u);
  EXPECT_EQ(std::string(deep_ok.elements[0].begin(), deep_ok.elements[0].end()), "ab");
  const std::string header = R"({"inputs": [{)" + ok_input + R"(, "parameters": {"binary_data_size": 9}}]})";
  EXPECT_NE(status_and_message(header + le32(2), std::to_string(header.size())).find("runs past the end of the body"),
            std::string::npos);
  EXPECT_NE(status_and_message(header + le32(200) + "abcde", std::to_string(header.size())).find("length 200 runs past"),
            std::string::npos);
  for (const std::string h : {"-1", "+3", "12abc", "", "99999999999999999999999"})
    EXPECT_NE(status_and_message(header, h).find("Inference-Header-Content-Length"), std::string::npos) << h;
  EXPECT_EQ(parse_int_param("top_k", "3", 1), 3);
  EXPECT_THROW(parse_int_param("top_k", "0", 1), RequestError);
  EXPECT_THROW(parse_int_param("top_k", "3x", 1), RequestError);
  EXPECT_TRUE(parse_bool_param("raw", ""));
  EXPECT_FALSE(parse_bool_param("raw", "false"));
  EXPECT_THROW(parse_bool_param("raw", "yes"), RequestError);
  EXPECT_DOUBLE_EQ(parse_threshold_param("0.25"), 0.25);
  EXPECT_THROW(parse_threshold_param("nan"), RequestError);
  EXPECT_THROW(parse_threshold_param("1.5"), RequestError);
}

// The fuzzer's seeds and 20,000 bounded mutations of them (bytes flipped, cut, spliced), framed
// as fuzz/fuzz_requests.cpp frames its input: only RequestError, and only 4xx.
TEST(Requests, SeedsAndMutationsOnlyEverGiveRequestErrors) {
  std::vector<std::string> seeds;
  for (const auto& e : fs::directory_iterator(std::string(BYTEFORMER_SOURCE_DIR) + "/fuzz/seeds/requests")) {
    const auto b = test::read_bytes(e.path().string());
    seeds.emplace_back(b.begin(), b.end());
  }
  ASSERT_GE(seeds.size(), 3u);
  std::mt19937 rng(11);
  int parsed = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string s = seeds[static_cast<size_t>(n) % seeds.size()];
    const int edits = n < static_cast<int>(seeds.size()) ? 0 : 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[at] = static_cast<char>(rng()); break;
        case 1: s.resize(at); break;
        default: s.insert(at, seeds[rng() % seeds.size()].substr(0, rng() % 40)); break;
      }
    }
    if (s.size() < 3) continue;
    std::optional<std::string> header;
    if (s[0] & 1) header = std::to_string((static_cast<size_t>(static_cast<uint8_t>(s[1])) << 8 |
                                           static_cast<uint8_t>(s[2])) % (s.size() + 8));
    try {
      const auto r = parse_infer_request(s.substr(3), header);
      EXPECT_FALSE(r.elements.empty());
      ++parsed;
    } catch (const RequestError& e) {
      EXPECT_GE(e.status, 400);
      EXPECT_LT(e.status, 500);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "mutation " << n << ": " << e.what();
    }
  }
  EXPECT_GE(parsed, 3);  // the seeds themselves parse
}

}  // namespace
}  // namespace byteformer
