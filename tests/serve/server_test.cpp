// The HTTP service (byteformer/serve/server.h) on the fixture model, started in-process on
// 127.0.0.1 and a port of its own choosing, talked to with cpp-httplib's client: answers equal
// the Classifier's, errors are JSON with the right status, a full queue is a 503, KServe v2's
// endpoints, /metrics, the page; and the real CLI's `serve` end to end. Every loop is bounded.
#include "byteformer/serve/server.h"

#include <gtest/gtest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "byteformer/classify/thresholds.h"
#include "byteformer/codec/image_encoding.h"
#include "byteformer/model/precision.h"
#include "test_util.h"

namespace byteformer {
namespace {

using nlohmann::json;

const std::string kDir = test::fixtures_dir() + "/corenet-tiny-k8-w32";

std::string file_text(const std::string& name) {
  const auto b = test::read_bytes(kDir + "/inputs/" + name);
  return std::string(b.begin(), b.end());
}

Classifier open_fixture(Numerics numerics) {
  ClassifierOptions o;
  o.model.config_path = kDir + "/config.yaml";
  o.model.weights = kDir + "/model.pt";
  o.model.numerics = numerics;
  o.top_k = 1000;
  o.max_batch_size = 4;
  return Classifier::open(o);
}

// A server on 127.0.0.1:<any free port> in a thread of its own, stopped and joined at the end.
struct Running {
  explicit Running(ServeOptions options, Numerics numerics = Numerics::kCoreNet)
      : Running(open_fixture(numerics), std::move(options)) {}
  Running(Classifier classifier, ServeOptions options)
      : clf(std::move(classifier)), server(clf, with_any_port(std::move(options)), 0.25) {
    port = server.bind();
    thread = std::thread([this] { server.run(); });
  }
  ~Running() {
    server.stop();
    thread.join();
  }
  static ServeOptions with_any_port(ServeOptions o) {
    o.host = "127.0.0.1";
    o.port = 0;
    return o;
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    c.set_connection_timeout(10, 0);
    return c;
  }
  Classifier clf;
  Server server;
  int port = 0;
  std::thread thread;
};

void expect_near(const json& got, const std::vector<float>& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i].get<double>(), want[i], tol) << what << " class " << i;
}

TEST(Server, ClassifyAnswersAsTheClassifierAndPredictDo) {
  ServeOptions o;
  o.batch.max_queue_delay_ms = 0;
  Running r(o);
  auto c = r.client();
  const std::string jpg = file_text("img0_32px.jpg");
  auto res = c.Post("/v1/classify?raw=1&top_k=2&name=shoe.jpg&logits=1", jpg, "application/octet-stream");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json j = json::parse(res->body);
  const auto want = r.clf.classify(std::vector<uint8_t>(jpg.begin(), jpg.end()), "shoe.jpg", true);
  EXPECT_EQ(j["file"], "shoe.jpg");
  EXPECT_EQ(j["input"], "raw");
  EXPECT_EQ(j["num_bytes"], want.num_bytes);
  expect_near(j["logits"], want.logits, 1e-6, "raw jpg");
  ASSERT_EQ(j["top"].size(), 2u);
  EXPECT_EQ(j["top"][0]["index"], want.top[0].index);
  EXPECT_EQ(j["label"], want.top[0].label);

  // Without raw, the evaluation pipeline runs on the server (decode, crop, re-encode).
  const std::string png = file_text("img2_48px.png");
  res = c.Post("/v1/classify?logits=1", png, "application/octet-stream");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json p = json::parse(res->body);
  const auto via = r.clf.classify(std::vector<uint8_t>(png.begin(), png.end()), "request", false);
  EXPECT_EQ(p["input"], r.clf.input_description(false));
  EXPECT_EQ(p["num_bytes"], via.num_bytes);
  expect_near(p["logits"], via.logits, 1e-6, "png through the pipeline");
  EXPECT_EQ(p["top"].size(), 5u);  // the default top_k
}

// The logits (every class's, at full precision) only with logits=1; the top classes' probabilities
// always.
TEST(Server, ClassifyGivesLogitsOnlyWhenAsked) {
  Running r(ServeOptions{});
  auto c = r.client();
  const std::string jpg = file_text("img0_32px.jpg");
  const auto want = r.clf.classify(std::vector<uint8_t>(jpg.begin(), jpg.end()), "x", true);
  for (const char* query : {"", "&logits=0", "&logits=false", "&logits=1", "&logits=true", "&logits"}) {
    auto res = c.Post(std::string("/v1/classify?raw=1&top_k=3") + query, jpg, "application/octet-stream");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << query << ": " << res->body;
    const json j = json::parse(res->body);
    const std::string q = query;
    const bool asked = q == "&logits=1" || q == "&logits=true" || q == "&logits";
    EXPECT_EQ(j.contains("logits"), asked) << query << ": " << res->body;
    if (asked) expect_near(j["logits"], want.logits, 1e-6, query);
    ASSERT_EQ(j["top"].size(), 3u) << query;
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(j["top"][k]["index"], want.top[k].index) << query;
      EXPECT_NEAR(j["top"][k]["prob"].get<double>(), want.top[k].prob, 1e-6) << query;
    }
    EXPECT_EQ(j["label"], want.top[0].label) << query;
  }
  auto res = c.Post("/v1/classify?raw=1&logits=abc", jpg, "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find("logits=abc"), std::string::npos) << res->body;
}

TEST(Server, BadRequestsGetJsonErrorsWithTheRightStatus) {
  ServeOptions o;
  o.max_body_bytes = 4000;
  Running r(o);
  auto c = r.client();
  auto res = c.Post("/v1/classify?name=junk.png", std::string(100, 'x'), "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 422);  // undecodable
  EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find("junk.png"), std::string::npos) << res->body;
  for (const char* q : {"top_k=0", "top_k=abc", "raw=maybe", "threshold=2", "logits=abc"}) {
    res = c.Post(std::string("/v1/classify?") + q, file_text("img0_32px.jpg"), "application/octet-stream");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << q;
    const std::string key = std::string(q).substr(0, std::string(q).find('='));
    EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find(key), std::string::npos) << res->body;
  }
  res = c.Post("/v1/classify?raw=1", std::string(5000, 'a'), "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_TRUE(json::parse(res->body).contains("error")) << res->body;
  // The same bound for a chunked body (no Content-Length), cut off at the first chunk past it.
  for (const char* path : {"/v1/classify?raw=1", "/v2/models/byteformer/infer"}) {
    auto chunked = r.client();
    res = chunked.Post(
        path,
        [](size_t offset, httplib::DataSink& sink) {
          if (offset >= 200000) {
            sink.done();
            return true;
          }
          const std::string chunk(1000, 'a');
          return sink.write(chunk.data(), chunk.size());
        },
        "application/octet-stream");
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 413) << path;
    EXPECT_NE(res->body.find("over 4000 bytes (--max-body-bytes)"), std::string::npos) << res->body;
  }
  res = c.Get("/no/such/thing");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find("/no/such/thing"), std::string::npos);
  res = c.Get("/v2/models/other");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  // A known endpoint with the wrong method: 405 and the method it takes (was a 404).
  res = c.Get("/v1/classify");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "POST");
  EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find("GET /v1/classify: this endpoint takes POST"),
            std::string::npos)
      << res->body;
  res = c.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "GET");
  res = c.Post("/v2/models/byteformer/infer", "{not json", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("not JSON"), std::string::npos) << res->body;
}

// JSON nested 100,000 deep in `data` or `id` (once a stack overflow): a 400, and the server
// still answers.
TEST(Server, DeeplyNestedJsonIsA400) {
  Running r(ServeOptions{});
  auto c = r.client();
  const std::string deep = std::string(100000, '[') + "\"a\"" + std::string(100000, ']');
  for (const std::string& body :
       {R"({"inputs": [{"name": "IN", "datatype": "BYTES", "data": )" + deep + "}]}",
        R"({"id": )" + deep + R"(, "inputs": [{"name": "IN", "datatype": "BYTES", "data": ["a"]}]})"}) {
    auto res = c.Post("/v2/models/byteformer/infer", body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_NE(res->body.find("nested deeper than 64 levels"), std::string::npos) << res->body.substr(0, 200);
  }
  auto res = c.Get("/v2/health/live");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

// What curl sends: `--data-binary @file` says application/x-www-form-urlencoded (the HTTP
// library alone refuses those over 8 KB), `-F file=@x` a multipart form. Both are the file.
TEST(Server, CurlsUploadsAreTheFile) {
  Running r(ServeOptions{});
  auto c = r.client();
  const std::string text(8199, 'b');  // over the HTTP library's 8 KB for form-urlencoded; the model's longest
  const auto want = r.clf.classify(std::vector<uint8_t>(text.begin(), text.end()), "x", true);
  auto res = c.Post("/v1/classify?raw=1&logits=1", text, "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  expect_near(json::parse(res->body)["logits"], want.logits, 1e-6, "form-urlencoded");
  const httplib::MultipartFormDataItems form = {{"file", text, "notes.txt", "text/plain"},
                                                {"other", "ignored", "", "text/plain"}};
  res = c.Post("/v1/classify?raw=1&logits=1", form);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json j = json::parse(res->body);
  EXPECT_EQ(j["file"], "notes.txt");
  expect_near(j["logits"], want.logits, 1e-6, "multipart");
}

TEST(Server, ConcurrentRequestsWithMaskedNumericsEachGetTheirAloneAnswer) {
  ServeOptions o;
  o.batch.max_batch_size = 8;
  o.batch.max_queue_delay_ms = 5;
  o.threads = 32;  // 32 clients at once, each with a worker of its own
  Running r(o, Numerics::kMasked);
  const std::vector<std::string> files = {"img0_32px.jpg", "img1_40px.png", "img2_48px.tiff", "tone0.wav"};
  std::vector<std::vector<float>> alone;
  for (const auto& f : files) {
    const std::string t = file_text(f);
    alone.push_back(r.clf.classify(std::vector<uint8_t>(t.begin(), t.end()), f, true).logits);
  }
  constexpr int kThreads = 32, kEach = 2;
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto c = r.client();
      for (int k = 0; k < kEach; ++k) {
        const size_t f = static_cast<size_t>(t + k) % files.size();
        auto res = c.Post("/v1/classify?raw=1&logits=1", file_text(files[f]), "application/octet-stream");
        if (!res || res->status != 200) {
          failures[static_cast<size_t>(t)] +=
              res ? fmt::format("HTTP {}: {}; ", res->status, res->body) : "no answer: " + httplib::to_string(res.error()) + "; ";
          continue;
        }
        const json j = json::parse(res->body);
        for (size_t i = 0; i < alone[f].size(); ++i)
          if (std::abs(j["logits"][i].get<double>() - alone[f][i]) > 1e-5)
            failures[static_cast<size_t>(t)] += files[f] + " differs; ";
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& f : failures) EXPECT_EQ(f, "");
  auto res = r.client().Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("byteformer_requests_total{endpoint=\"/v1/classify\",status=\"200\"} 64"),
            std::string::npos)
      << res->body;
}

// A request of more elements than the queue holds can never be queued: 413 on an idle server,
// not a 503 to retry for ever.
TEST(Server, MoreElementsThanTheQueueHoldsIs413) {
  ServeOptions o;
  o.batch.max_queue = 2;
  Running r(o);
  auto c = r.client();
  const std::string a(100, 'a'), b(100, 'b');
  const json body = {{"inputs", {{{"name", "INPUT"}, {"shape", {3}}, {"datatype", "BYTES"}, {"data", {a, b, a}}}}},
                     {"parameters", {{"raw", true}}}};
  auto res = c.Post("/v2/models/byteformer/infer", body.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find("more than the 2 this server queues at once (--max-queue)"),
            std::string::npos)
      << res->body;
  const json two = {{"inputs", {{{"name", "INPUT"}, {"shape", {2}}, {"datatype", "BYTES"}, {"data", {a, b}}}}},
                    {"parameters", {{"raw", true}}}};
  res = c.Post("/v2/models/byteformer/infer", two.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST(Server, AFullQueueAnswers503WithRetryAfter) {
  ServeOptions o;
  o.batch.max_queue = 2;
  o.batch.max_batch_size = 2;
  o.batch.start_paused = true;  // nothing leaves the queue until start()
  Running r(o);
  const std::string jpg = file_text("img0_32px.jpg");
  std::vector<int> status(2, 0);
  std::vector<std::thread> waiting;
  for (int i = 0; i < 2; ++i)
    waiting.emplace_back([&, i] {
      auto res = r.client().Post("/v1/classify?raw=1", jpg, "application/octet-stream");
      status[static_cast<size_t>(i)] = res ? res->status : -1;
    });
  for (int tries = 0; tries < 1000 && r.server.batcher().queue_depth() < 2; ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(r.server.batcher().queue_depth(), 2);
  auto res = r.client().Post("/v1/classify?raw=1", jpg, "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find("--max-queue 2"), std::string::npos);
  r.server.batcher().start();
  for (auto& t : waiting) t.join();
  EXPECT_EQ(status, (std::vector<int>{200, 200}));
}

// Triton's binary tensor extension: a JSON header, then each BYTES element as a 4-byte
// little-endian length and its bytes.
std::string binary_elements(const std::vector<std::string>& elements) {
  std::string out;
  for (const auto& e : elements) {
    const auto n = static_cast<uint32_t>(e.size());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
    out += e;
  }
  return out;
}

TEST(Server, KServeV2HealthMetadataAndInfer) {
  Running r(ServeOptions{});
  auto c = r.client();
  auto res = c.Get("/v2/health/live");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = c.Get("/v2/health/ready");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["ready"], true);
  res = c.Get("/v2/models/byteformer");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const json meta = json::parse(res->body);
  const int64_t classes = r.clf.num_classes();
  EXPECT_EQ(meta["inputs"][0]["datatype"], "BYTES");
  EXPECT_EQ(meta["outputs"][0]["shape"][1], classes);
  EXPECT_EQ(meta["parameters"]["class_names"].size(), static_cast<size_t>(classes));
  EXPECT_EQ(meta["parameters"]["numerics"], "corenet");
  EXPECT_EQ(meta["parameters"]["pipeline"], r.clf.input_description(false));

  // Binary extension, two files through the pipeline.
  const std::vector<std::string> files = {file_text("img1_40px.png"), file_text("img2_48px.jpg")};
  const std::string tensor = binary_elements(files);
  const json header = {{"id", "req-7"},
                       {"inputs",
                        {{{"name", "INPUT"},
                          {"shape", {2}},
                          {"datatype", "BYTES"},
                          {"parameters", {{"binary_data_size", tensor.size()}}}}}}};
  const std::string h = header.dump();
  httplib::Headers headers = {{"Inference-Header-Content-Length", std::to_string(h.size())}};
  res = c.Post("/v2/models/byteformer/infer", headers, h + tensor, "application/octet-stream");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json out = json::parse(res->body);
  EXPECT_EQ(out["id"], "req-7");
  EXPECT_EQ(out["model_name"], "byteformer");
  const json& probs = out["outputs"][0];
  EXPECT_EQ(probs["name"], "PROBABILITIES");
  EXPECT_EQ(probs["shape"], json({2, classes}));
  for (size_t f = 0; f < files.size(); ++f) {
    const auto want = r.clf.classify(std::vector<uint8_t>(files[f].begin(), files[f].end()), "x", false,
                                     static_cast<int64_t>(f));
    for (int64_t k = 0; k < classes; ++k)
      EXPECT_NEAR(probs["data"][static_cast<size_t>(f * classes + k)].get<double>(), want.probs[k], 1e-6);
    EXPECT_EQ(out["outputs"][2]["data"][f], want.top[0].label);
  }

  // JSON data: each string's bytes, here fed raw.
  const json body = {{"inputs", {{{"name", "INPUT"}, {"shape", {1}}, {"datatype", "BYTES"},
                                  {"data", {"bytes are all you need, bytes are all you need"}}}}},
                     {"parameters", {{"raw", true}}}};
  res = c.Post("/v2/models/byteformer/infer", body.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const std::string s = "bytes are all you need, bytes are all you need";
  const auto want = r.clf.classify(std::vector<uint8_t>(s.begin(), s.end()), "x", true);
  expect_near(json::parse(res->body)["outputs"][1]["data"], want.logits, 1e-6, "json bytes");

  // The outputs a request names, in its order; the others left out.
  json some = body;
  some["outputs"] = {{{"name", "LABELS"}}, {{"name", "PROBABILITIES"}}};
  res = c.Post("/v2/models/byteformer/infer", some.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json picked = json::parse(res->body)["outputs"];
  ASSERT_EQ(picked.size(), 2u) << res->body;
  EXPECT_EQ(picked[0]["name"], "LABELS");
  EXPECT_EQ(picked[0]["data"], json({want.top[0].label}));
  EXPECT_EQ(picked[1]["name"], "PROBABILITIES");
  expect_near(picked[1]["data"], want.probs, 1e-6, "probabilities asked for");
  for (const auto& [outputs, why] : std::vector<std::pair<json, std::string>>{
           {json::array({{{"name", "SCORES"}}}), "outputs[0]: no output SCORES"},
           {json::array({{{"name", "LOGITS"}}, {{"name", "LOGITS"}}}), "outputs[1]: LOGITS asked for twice"},
           {json::array({"LOGITS"}), "outputs[0]: expected {\"name\": a string}"}}) {
    json wrong = body;
    wrong["outputs"] = outputs;
    res = c.Post("/v2/models/byteformer/infer", wrong.dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << outputs;
    EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find(why), std::string::npos) << res->body;
  }

  // A binary size past the body, a wrong datatype: 400 naming what is wrong.
  const json bad = {{"inputs", {{{"name", "INPUT"}, {"shape", {1}}, {"datatype", "BYTES"},
                                 {"parameters", {{"binary_data_size", 1000}}}}}}};
  headers = {{"Inference-Header-Content-Length", std::to_string(bad.dump().size())}};
  res = c.Post("/v2/models/byteformer/infer", headers, bad.dump() + "abc", "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("binary_data_size 1000"), std::string::npos) << res->body;
  const json fp = {{"inputs", {{{"name", "INPUT"}, {"shape", {1}}, {"datatype", "FP32"}, {"data", {1.0}}}}}};
  res = c.Post("/v2/models/byteformer/infer", fp.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("expected BYTES"), std::string::npos) << res->body;
}

TEST(Server, MetricsAndThePage) {
  Running r(ServeOptions{});
  auto c = r.client();
  ASSERT_TRUE(c.Post("/v1/classify?raw=1", file_text("img0_32px.jpg"), "application/octet-stream"));
  ASSERT_TRUE(c.Post("/v1/classify?top_k=0", "x", "application/octet-stream"));
  auto res = c.Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const std::string& m = res->body;
  for (const char* want :
       {"byteformer_requests_total{endpoint=\"/v1/classify\",status=\"200\"} 1",
        "byteformer_requests_total{endpoint=\"/v1/classify\",status=\"400\"} 1",
        "byteformer_request_failures_total{endpoint=\"/v1/classify\"} 1", "# TYPE byteformer_queue_seconds histogram",
        "byteformer_batch_size_count 1", "byteformer_batch_size_bucket{le=\"1\"} 1",
        "byteformer_compute_seconds_count 1", "byteformer_queue_depth 0", "byteformer_model_load_seconds 0.25"})
    EXPECT_NE(m.find(want), std::string::npos) << want << "\n" << m;
  res = c.Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("<!doctype html>"), std::string::npos);
  EXPECT_NE(res->body.find("fetch('/v1/classify"), std::string::npos);
}

// An idle server stops at once: stop() (what the CLI's signal handler calls), the run() thread
// joined and the server destroyed (its destructor stops it again) within a second.
TEST(Server, StopsWithinASecondWhenIdle) {
  auto r = std::make_unique<Running>(ServeOptions{});
  {
    auto c = r->client();  // a request first; its connection closed with the client
    auto res = c.Get("/v2/health/live");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
  }
  const auto t0 = std::chrono::steady_clock::now();
  r.reset();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 1.0) << "stop, join and destruction took " << s << " s";
}

// A stop() before run() is not lost: run() returns at once instead of serving.
TEST(Server, AStopBeforeRunMakesRunReturn) {
  const Classifier clf = open_fixture(Numerics::kCoreNet);
  Server server(clf, Running::with_any_port(ServeOptions{}), 0.0);
  server.bind();
  server.stop();
  auto done = std::async(std::launch::async, [&] { server.run(); });
  const bool returned = done.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
  EXPECT_TRUE(returned) << "run() served after stop()";
  if (!returned) server.stop();  // a stop() now reaches the running loop; done's wait ends
}

// A request received before stop() still gets its answer; new connections are refused.
TEST(Server, AStopAnswersTheRequestsAlreadyReceived) {
  ServeOptions o;
  o.batch.start_paused = true;  // the request waits in the queue until start()
  Running r(o);
  int status = 0;
  std::thread waiting([&] {
    auto res = r.client().Post("/v1/classify?raw=1", file_text("img0_32px.jpg"), "application/octet-stream");
    status = res ? res->status : -1;
  });
  for (int tries = 0; tries < 1000 && r.server.batcher().queue_depth() < 1; ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(r.server.batcher().queue_depth(), 1);
  r.server.stop();
  auto late = r.client();
  late.set_connection_timeout(2, 0);
  EXPECT_FALSE(late.Get("/v2/health/live")) << "a connection accepted after stop()";
  r.server.batcher().start();
  waiting.join();
  EXPECT_EQ(status, 200);
}

// The page names the model (its run folder), says what it reads and lists its classes, every
// name HTML-escaped: class names are folder names, a user's data.
TEST(Server, ThePageNamesTheModelAndItsClasses) {
  namespace fs = std::filesystem;
  const std::string root = test::make_temp_dir("serve_page_names");
  const std::string run = root + "/pets <b>&\"'";
  fs::create_directories(run);
  fs::create_symlink(fs::absolute(kDir + "/model.pt"), run + "/checkpoint_best.pt");
  const std::vector<std::string> classes = {"cat", "<script>alert(1)</script>", "a&b", "\"quoted\"", "it's",
                                            "@TITLE@", "</li><li>fake", "dog", "bird", "fish"};
  std::string lines;
  for (const auto& c : classes) lines += c + "\n";
  test::write_bytes(root + "/labels.txt", std::vector<uint8_t>(lines.begin(), lines.end()));
  ClassifierOptions o;
  o.model.config_path = kDir + "/config.yaml";
  o.model.weights = run + "/checkpoint_best.pt";
  o.model.labels_path = root + "/labels.txt";
  Running r(Classifier::open(o), ServeOptions{});
  auto res = r.client().Get("/");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const std::string& page = res->body;
  const std::string title = "pets &lt;b&gt;&amp;&quot;&#39;";
  EXPECT_NE(page.find("<title>" + title + " - byteformer</title>"), std::string::npos) << page;
  EXPECT_NE(page.find("<h1>" + title + "</h1>"), std::string::npos) << page;
  EXPECT_NE(page.find("ByteFormer, 10 classes, reads image files (JPEG, PNG, TIFF, BMP, PPM)"), std::string::npos)
      << page;
  for (const char* shown : {"<li>cat</li>", "<li>&lt;script&gt;alert(1)&lt;/script&gt;</li>", "<li>a&amp;b</li>",
                            "<li>&quot;quoted&quot;</li>", "<li>it&#39;s</li>", "<li>@TITLE@</li>",
                            "<li>&lt;/li&gt;&lt;li&gt;fake</li>", "<li>fish</li>"})
    EXPECT_NE(page.find(shown), std::string::npos) << shown << "\n" << page;
  EXPECT_EQ(page.find("<script>alert"), std::string::npos);
  EXPECT_EQ(page.find("<li>fake"), std::string::npos);
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  fs::remove_all(root);
}

// The memory budget of work in flight: with --max-decodes 1, eight clients sending large
// images at once are decoded one at a time (the peak gauge), and all are answered.
TEST(Server, DecodesNoMoreFilesAtOnceThanItsBudget) {
  ServeOptions o;
  o.max_decodes = 1;
  o.threads = 8;
  Running r(o);
  Image img;
  img.width = img.height = 1500;
  img.channels = 3;
  for (int i = 0; i < 1500 * 1500 * 3; ++i) img.pixels.push_back(static_cast<uint8_t>((i * 31) % 251));
  const auto png = encode_image(img, ImageEncoding::parse("png"));
  const std::string body(png.begin(), png.end());
  std::vector<int> status(8, 0);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < status.size(); ++i)
    clients.emplace_back([&, i] {
      auto res = r.client().Post("/v1/classify", body, "image/png");
      status[i] = res ? res->status : -1;
    });
  for (auto& t : clients) t.join();
  for (int st : status) EXPECT_EQ(st, 200);
  auto metrics = r.client().Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("byteformer_decodes_in_flight_max 1\n"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("byteformer_decodes_in_flight 0\n"), std::string::npos) << metrics->body;
}

// A run folder's calibrated thresholds (thresholds.json) decide the answer's label unless the
// request asks for its own threshold.
TEST(Server, TheRunsCalibratedThresholdsSayUnknown) {
  namespace fs = std::filesystem;
  const std::string run = test::make_temp_dir("serve_thresholds");
  fs::copy_file(kDir + "/config.yaml", run + "/config.yaml");
  fs::copy_file(kDir + "/model.pt", run + "/checkpoint_best.pt");
  std::string labels;
  std::vector<std::string> classes;
  for (int c = 0; c < 10; ++c) classes.push_back("c" + std::to_string(c));
  ClassThresholds strict;
  strict.per_class.assign(10, 1.0);  // no answer is sure enough
  write_thresholds(run + "/thresholds.json", strict, classes);
  for (const auto& c : classes) labels += c + "\n";
  test::write_bytes(run + "/labels.txt", std::vector<uint8_t>(labels.begin(), labels.end()));
  ClassifierOptions o;
  o.run_dir = run;
  o.model.labels_path = run + "/labels.txt";
  Running r(Classifier::open(o), ServeOptions{});
  const auto file = test::read_bytes(kDir + "/inputs/img0_32px.jpg");
  const std::string body(file.begin(), file.end());
  auto res = r.client().Post("/v1/classify", body, "application/octet-stream");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto j = json::parse(res->body);
  EXPECT_EQ(j["label"], "unknown") << res->body;
  res = r.client().Post("/v1/classify?threshold=0", body, "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["label"], j["top"][0]["label"]) << res->body;
  fs::remove_all(run);
}

// Bytes that are not HTTP, truncated requests, absurd headers: the server drops them and keeps
// answering. 300 connections of random bytes and mangled requests, each written and closed.
TEST(Server, SurvivesRandomAndTruncatedRequests) {
  Running r(ServeOptions{});
  std::mt19937 rng(20231);
  const std::string good = "POST /v1/classify?raw=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 774\r\n\r\n" +
                           file_text("img0_32px.jpg");
  for (int i = 0; i < 300; ++i) {
    std::string msg;
    switch (i % 4) {
      case 0:  // random bytes
        for (int k = 0, n = static_cast<int>(rng() % 2000); k < n; ++k) msg.push_back(static_cast<char>(rng()));
        break;
      case 1:  // a valid request cut short anywhere
        msg = good.substr(0, rng() % good.size());
        break;
      case 2:  // a valid request with bytes flipped
        msg = good;
        for (int k = 0; k < 8; ++k) msg[rng() % msg.size()] = static_cast<char>(rng());
        break;
      default:  // absurd headers and lengths
        msg = "POST /v2/models/byteformer/infer HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n"
              "Inference-Header-Content-Length: -5\r\n" + std::string(rng() % 9000, 'h') + "\r\n\r\n{}";
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(r.port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    [[maybe_unused]] const ssize_t sent = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);  // the server sees the end of the request, answers or drops it
    char buf[4096];
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (::recv(fd, buf, sizeof(buf), 0) > 0) {
    }
    ::close(fd);
  }
  auto c = r.client();
  auto res = c.Post("/v1/classify?raw=1", file_text("img0_32px.jpg"), "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = c.Get("/v2/health/live");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

// What one raw request over its own connection gets back (the whole answer, up to 5 s).
std::string raw_exchange(int port, const std::string& msg) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string got;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    // The request asks for Connection: close; the write side stays open (a half-closed socket
    // gets no answer from the HTTP layer).
    [[maybe_unused]] const ssize_t sent = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return got;
}

// Framing the HTTP layer would read leniently is refused before the body is read: a
// Content-Length that is not a number, two that differ, more than 100 header fields.
TEST(Server, RefusesAmbiguousLengthsAndTooManyHeaders) {
  Running r(ServeOptions{});
  const std::string body = file_text("img0_32px.jpg");
  const std::string head = "POST /v1/classify?raw=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  std::string got = raw_exchange(r.port, head + "Content-Length: abc\r\n\r\n" + body);
  EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << got.substr(0, 200);
  EXPECT_NE(got.find("Content-Length: abc: expected a number of bytes"), std::string::npos) << got.substr(0, 400);
  got = raw_exchange(r.port, head + "Content-Length: " + std::to_string(body.size()) + "\r\nContent-Length: 5\r\n\r\n" +
                                 body);
  EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << got.substr(0, 200);
  EXPECT_NE(got.find("two different Content-Length values"), std::string::npos) << got.substr(0, 400);
  std::string many;
  for (int i = 0; i < 150; ++i) many += "X-Filler-" + std::to_string(i) + ": y\r\n";
  got = raw_exchange(r.port, head + many + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(got.rfind("HTTP/1.1 431", 0), 0u) << got.substr(0, 200);
  // The same value twice is one length; a good request still gets its answer.
  got = raw_exchange(r.port, head + "Content-Length: " + std::to_string(body.size()) + "\r\nContent-Length: " +
                                 std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got.substr(0, 200);
}

// The real CLI's `byteformer serve --port 0` in the background, its port read from what it
// prints. `pid` is 0 when it did not start, `port` 0 when it printed no port within 60 s.
struct CliServer {
  std::string dir;
  int pid = 0;
  int port = 0;
  std::string err() const { return test::read_text(dir + "/err"); }
};

CliServer start_cli_server(const std::string& tag, const std::string& flags = "") {
  CliServer s;
  s.dir = test::make_temp_dir(tag);
  const auto started = test::run_command(test::cli_path() + " serve --threads 1 --port 0 --config " + kDir +
                                         "/config.yaml --weights " + kDir + "/model.pt " + flags + " > " + s.dir +
                                         "/out 2> " +
                                         s.dir + "/err & echo $!");
  if (started.exit_code != 0) return s;
  s.pid = std::stoi(started.out);
  for (int tries = 0; tries < 600 && s.port == 0; ++tries) {  // at most 60 s to load
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::string out = test::read_text(s.dir + "/out");
    const auto at = out.find("http://127.0.0.1:");
    if (at != std::string::npos && out.find("/\n", at) != std::string::npos) s.port = std::stoi(out.substr(at + 17));
  }
  return s;
}

// Seconds until process `pid` is gone (a zombie nobody reaped counts as gone), polled every
// 10 ms for at most `limit_s`; SIGKILLed and -1 when it outlives that.
double seconds_until_gone(int pid, double limit_s) {
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    const std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (kill(pid, 0) != 0 || !stat || text.find(") Z ") != std::string::npos) return s;
    if (s > limit_s) {
      kill(pid, SIGKILL);
      return -1.0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// The real CLI: `byteformer serve --port 0` prints its port; a request; SIGTERM stops it.
TEST(ServeCli, StartsAnswersAndStopsOnSigterm) {
  const CliServer s = start_cli_server("serve_cli");
  ASSERT_GT(s.pid, 0);
  ASSERT_GT(s.port, 0) << s.err();
  httplib::Client c("127.0.0.1", s.port);
  c.set_read_timeout(60, 0);
  auto res = c.Post("/v1/classify?raw=1", file_text("img1_40px.tiff"), "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["num_bytes"], 4940);
  res = c.Get("/");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("<h1>model</h1>"), std::string::npos) << res->body;  // --weights .../model.pt
  ASSERT_EQ(kill(s.pid, SIGTERM), 0);
  EXPECT_GE(seconds_until_gone(s.pid, 30.0), 0.0) << "serve did not stop on SIGTERM";
  EXPECT_NE(s.err().find("stopping"), std::string::npos) << s.err();
}

// `serve --precision auto`: the choice on stderr, and the model's metadata names the precision
// it resolved to (choose_auto_precision on this machine), not "auto".
TEST(ServeCli, PrecisionAutoReportsItsChoice) {
  const CliServer s = start_cli_server("serve_cli_auto", "--precision auto");
  ASSERT_GT(s.pid, 0);
  ASSERT_GT(s.port, 0) << s.err();
  const AutoPrecision want = choose_auto_precision(detect_precision_features());
  ASSERT_TRUE(want.precision.has_value());
  httplib::Client c("127.0.0.1", s.port);
  c.set_read_timeout(60, 0);
  auto res = c.Get("/v2/models/byteformer");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["parameters"]["precision"], to_string(*want.precision)) << res->body;
  ASSERT_EQ(kill(s.pid, SIGTERM), 0);
  EXPECT_GE(seconds_until_gone(s.pid, 30.0), 0.0) << "serve did not stop on SIGTERM";
  EXPECT_NE(s.err().find(fmt::format("precision auto: {} ({})", to_string(*want.precision), want.reason)),
            std::string::npos)
      << s.err();
}

// Idle (its last client gone), the CLI exits within a second of SIGTERM.
TEST(ServeCli, ExitsWithinASecondOfSigtermWhenIdle) {
  const CliServer s = start_cli_server("serve_cli_idle");
  ASSERT_GT(s.pid, 0);
  ASSERT_GT(s.port, 0) << s.err();
  {
    httplib::Client c("127.0.0.1", s.port);
    c.set_read_timeout(60, 0);
    auto res = c.Post("/v1/classify?raw=1", file_text("img1_40px.tiff"), "application/octet-stream");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
  }
  ASSERT_EQ(kill(s.pid, SIGTERM), 0);
  const double gone_s = seconds_until_gone(s.pid, 30.0);
  EXPECT_GE(gone_s, 0.0) << "serve did not stop on SIGTERM";
  EXPECT_LT(gone_s, 1.0) << "serve took " << gone_s << " s to exit";
}

// A client that keeps its connection open holds a stopping server until that connection's
// keep-alive runs out (httplib's 5 s); a second SIGTERM exits at once.
TEST(ServeCli, ASecondSigtermExitsAtOnce) {
  const CliServer s = start_cli_server("serve_cli_twice");
  ASSERT_GT(s.pid, 0);
  ASSERT_GT(s.port, 0) << s.err();
  httplib::Client c("127.0.0.1", s.port);
  c.set_keep_alive(true);
  c.set_read_timeout(60, 0);
  auto res = c.Get("/v2/health/live");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  // The server's worker back waiting on the open connection (a stop before that ends it at once).
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(kill(s.pid, SIGTERM), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(kill(s.pid, 0), 0) << "serve exited on the first SIGTERM: nothing held it";
  ASSERT_EQ(kill(s.pid, SIGTERM), 0);
  const double gone_s = seconds_until_gone(s.pid, 30.0);
  EXPECT_GE(gone_s, 0.0) << "serve did not stop on SIGTERM";
  EXPECT_LT(gone_s, 1.0) << "serve took " << gone_s << " s to exit after a second SIGTERM";
  EXPECT_NE(s.err().find("exiting now"), std::string::npos) << s.err();
}

}  // namespace
}  // namespace byteformer
