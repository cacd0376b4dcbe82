// `byteformer serve`: an HTTP inference service over one Classifier (cpp-httplib, Debian's
// libcpp-httplib-dev 0.11: a threaded blocking server in one header plus a small library, no
// event loop to run; JSON with nlohmann-json).
//
//   POST /v1/classify[?top_k=K&raw=1&threshold=P&name=N&logits=1]  body: the file's bytes
//        -> the object of one line of `predict --json`, its logits only with logits=1 (422
//        when the bytes cannot be decoded)
//   GET  /v2/health/live, /v2/health/ready, /v2, /v2/models/{name}, /v2/models/{name}/ready
//   POST /v2/models/{name}/infer   KServe v2 / Triton: a BYTES input, JSON strings or the
//        binary tensor extension (Inference-Header-Content-Length)
//   GET  /metrics  Prometheus text;  GET /  a page to drop a file on
//
// Requests are prepared (decoded, re-encoded) in the HTTP worker threads and classified by the
// Batcher; a full queue answers 503 with Retry-After.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "byteformer/classify/classifier.h"
#include "byteformer/serve/batcher.h"
#include "byteformer/serve/serve_metrics.h"

namespace httplib {
class Server;
class ContentReader;
struct Request;
struct Response;
}

namespace byteformer {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (bind() returns it)
  std::string name = "byteformer";  // the model's name in /v2/models/{name}
  int64_t max_body_bytes = int64_t{64} << 20;
  int threads = 8;  // HTTP worker threads
  int64_t default_top_k = 5;
  /// The memory budget of work in flight: at most this many inputs are decoded at once (each
  /// may take up to about 1.2 GB: the decoders' pixel budget, 2^27 RGB pixels, decoded and
  /// resized); the others wait for a slot. Inputs fed raw, and models that do not decode, take
  /// no slot.
  int64_t max_decodes = 2;
  BatcherOptions batch;
};

class Server {
 public:
  /// `clf` must outlive the server; `load_s` is reported as byteformer_model_load_seconds.
  Server(const Classifier& clf, ServeOptions options, double load_s);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Runs one request through the model (the readiness warm-up), then binds; returns the port.
  /// Throws std::runtime_error naming host and port when it cannot bind.
  int bind();
  /// Serves until stop() (from another thread or a signal handler's thread); returns once the
  /// requests already received are answered. Returns at once when stop() came first.
  void run();
  /// Stops accepting connections and makes run() return; no wait when run() is not serving.
  void stop();
  bool ready() const { return ready_; }
  Batcher& batcher() { return *batcher_; }

 private:
  /// The endpoints, each a named handler below (the table is in routes()).
  void routes();
  /// Limits, timeouts, error answers and the metrics hook of the HTTP layer.
  void configure_http();
  /// Queues prepared inputs and waits for their answers; a full queue is a 503. `arrival`
  /// (taken when the request came in) is released once every input is queued.
  std::vector<Classification> classify_all(std::vector<ModelInput> inputs, bool raw, Batcher::Arrival& arrival);
  /// 404 unless the request's {name} is this server's model.
  void check_model(const httplib::Request& req) const;
  // POST /v1/classify: the body (or a multipart upload's first part) is the file.
  void handle_classify(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  void handle_pipeline(const httplib::Request& req, httplib::Response& res);       // GET /v1/pipeline
  void handle_model_metadata(const httplib::Request& req, httplib::Response& res); // GET /v2/models/{name}
  // POST /v2/models/{name}/infer
  void handle_infer(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);

  const Classifier& clf_;
  ServeOptions options_;
  ServeMetrics metrics_;
  std::unique_ptr<Batcher> batcher_;
  /// The decode budget (max_decodes): a counting semaphore around Classifier::prepare.
  std::mutex decode_mutex_;
  std::condition_variable decode_free_;
  int64_t decodes_ = 0;
  ModelInput prepare_within_budget(const std::vector<uint8_t>& bytes, const std::string& name, bool raw,
                                   int64_t position);
  std::unique_ptr<httplib::Server> http_;
  std::atomic<bool> ready_{false};
  std::mutex run_mutex_;
  bool stop_requested_ = false;  // stop() was called: a run() after it returns at once
  bool running_ = false;         // run() is in httplib's accept loop or about to enter it
  int listen_socket_ = -1;  // the socket bind() listens on (its backlog raised from httplib's 5)
};

}  // namespace byteformer
