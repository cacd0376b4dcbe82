#include "byteformer/serve/server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "byteformer/classify/classification_json.h"
#include "byteformer/io/display_name.h"
#include "byteformer/runtime/build_info.h"
#include "byteformer/model/device.h"
#include "byteformer/serve/requests.h"
#include "byteformer/serve/web_page.h"

namespace byteformer {

namespace {

using nlohmann::json;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

// The body of a request that the HTTP library has not read yet (a content-reader route), read
// here so that every framing is held to the same bound: a Content-Length over `max_bytes` is
// refused by the library before the body is read (it sets 413); a chunked body is cut off here
// at the first chunk past it. A multipart/form-data upload (curl -F file=@x.png) gives its first
// part; `filename` is then that part's file name. Any Content-Type is taken as the file's bytes.
std::string read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                      int64_t max_bytes, std::string* filename) {
  // Past the bound, up to this many more bytes are read and dropped, so that a client still
  // sending its body gets the 413 rather than a reset connection; beyond it the read stops.
  constexpr size_t kMaxDiscardedBytes = size_t{1} << 20;
  std::string body;
  bool over = false;
  size_t parts = 0, total = 0;  // every part's bytes count towards the bound
  const auto append = [&](const char* data, size_t n) {
    total += n;
    if (total > static_cast<size_t>(max_bytes)) {
      over = true;
      return total - static_cast<size_t>(max_bytes) <= kMaxDiscardedBytes;
    }
    if (parts <= 1) body.append(data, n);  // only the first part is the file
    return true;
  };
  bool ok = false;
  if (req.is_multipart_form_data()) {
    ok = reader(
        [&](const httplib::MultipartFormData& part) {
          if (++parts == 1 && filename != nullptr) *filename = part.filename;
          return true;
        },
        append);
  } else {
    ok = reader(append);
  }
  if (over || res.status == 413) {
    res.set_header("Connection", "close");  // what is left of the body is not read
    throw RequestError(413, fmt::format("request body over {} bytes (--max-body-bytes)", max_bytes));
  }
  if (!ok) throw RequestError(400, "request body: cut short or malformed (Content-Length, chunks or multipart)");
  if (req.is_multipart_form_data() && parts == 0) throw RequestError(400, "multipart/form-data request without a part");
  return body;
}

// The endpoint label of a path for /metrics (model names folded into {name}).
std::string endpoint_of(const std::string& path) {
  if (path.rfind("/v2/models/", 0) == 0) {
    if (path.size() > 6 && path.compare(path.size() - 6, 6, "/infer") == 0) return "/v2/models/{name}/infer";
    if (path.size() > 6 && path.compare(path.size() - 6, 6, "/ready") == 0) return "/v2/models/{name}/ready";
    return "/v2/models/{name}";
  }
  for (const char* known : {"/v1/classify", "/v1/pipeline", "/v2/health/live", "/v2/health/ready", "/v2", "/metrics", "/"})
    if (path == known) return path;
  return "other";
}

// The method an endpoint (endpoint_of) answers, or nullptr for an unknown one.
const char* method_of(const std::string& endpoint) {
  if (endpoint == "other") return nullptr;
  return endpoint == "/v1/classify" || endpoint == "/v2/models/{name}/infer" ? "POST" : "GET";
}

int64_t int_param(const httplib::Request& req, const char* key, int64_t fallback, int64_t min) {
  return req.has_param(key) ? parse_int_param(key, req.get_param_value(key), min) : fallback;
}

bool bool_param(const httplib::Request& req, const char* key) {
  return req.has_param(key) && parse_bool_param(key, req.get_param_value(key));
}

// Every class's name in index order: the model's labels, a class without one by its index.
std::vector<std::string> class_names(const Classifier& clf) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < clf.num_classes(); ++i)
    out.push_back(i < static_cast<int64_t>(clf.labels().size()) ? clf.labels()[static_cast<size_t>(i)]
                                                                : std::to_string(i));
  return out;
}

// ?threshold=P for every answer, else the model's calibrated threshold of the answer's top
// class (thresholds.json; none: 0, the best guess).
double threshold_for(const httplib::Request& req, const Classifier& clf, const Classification& c) {
  if (req.has_param("threshold")) return parse_threshold_param(req.get_param_value("threshold"));
  return c.top.empty() ? 0.0 : clf.thresholds().for_class(c.top.front().index);
}

}  // namespace

Server::Server(const Classifier& clf, ServeOptions options, double load_s)
    : clf_(clf), options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {
  if (options_.threads < 1) throw std::invalid_argument(fmt::format("--threads {}: expected >= 1", options_.threads));
  if (options_.max_body_bytes < 1)
    throw std::invalid_argument(fmt::format("--max-body-bytes {}: expected >= 1", options_.max_body_bytes));
  metrics_.set_model_load_seconds(load_s);
  batcher_ = std::make_unique<Batcher>(clf_, options_.batch, &metrics_);
  routes();
}

Server::~Server() { stop(); }

void Server::stop() {
  {
    std::lock_guard<std::mutex> lock(run_mutex_);
    stop_requested_ = true;
    if (!running_) return;  // run() has not begun (it will return at once) or has returned
  }
  // httplib's stop() stops an accept loop that has begun; run() may be just before it. Waits
  // only in that window (bounded), never once run() has returned.
  for (int i = 0; i < 5000 && !http_->is_running(); ++i) {
    {
      std::lock_guard<std::mutex> lock(run_mutex_);
      if (!running_) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  http_->stop();
}

int Server::bind() {
  // Warm-up: one forward pass, so that the first user does not pay for lazy initialisation.
  const int64_t warm = std::min<int64_t>(1024, clf_.model_options().max_input_bytes());
  const auto c = clf_.classify(std::vector<uint8_t>(static_cast<size_t>(std::max<int64_t>(warm, 0)), 0x42), "warm-up",
                               /*raw=*/true);
  if (!c.ok()) throw std::runtime_error("serve: the warm-up request failed: " + c.error);
  int port = options_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(options_.host);
    if (port < 0) throw std::runtime_error(fmt::format("serve: cannot bind to any port on {}", options_.host));
  } else if (!http_->bind_to_port(options_.host, port)) {
    throw std::runtime_error(fmt::format("serve: cannot listen on {}:{} (in use, or not an address of this machine)",
                                         options_.host, port));
  }
  // Debian's httplib listens with a backlog of 5: 32 clients connecting at once overflowed it and
  // some of them lost their connection ("Read" errors; ListenOverflows in /proc/net/netstat).
  // listen() again on a listening socket sets its backlog.
  if (listen_socket_ >= 0 && ::listen(listen_socket_, SOMAXCONN) != 0)
    throw std::runtime_error(fmt::format("serve: listen on {}:{}: {}", options_.host, port, std::strerror(errno)));
  ready_ = true;
  return port;
}

void Server::run() {
  {
    std::lock_guard<std::mutex> lock(run_mutex_);
    if (stop_requested_) return;
    running_ = true;
  }
  http_->listen_after_bind();  // returns once the worker threads have answered what they hold
  std::lock_guard<std::mutex> lock(run_mutex_);
  running_ = false;
}

// The most header fields a request may carry (a browser sends about 15).
constexpr size_t kMaxHeaders = 100;

void Server::configure_http() {
  httplib::Server& svr = *http_;
  const int threads = options_.threads;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr.set_payload_max_length(static_cast<size_t>(options_.max_body_bytes));
  svr.set_read_timeout(30, 0);  // a client that stops sending does not hold a worker for ever
  svr.set_write_timeout(30, 0);
  // An answer goes out as two writes (headers, body): with Nagle's algorithm on, a keep-alive
  // client's delayed ACK holds each answer of a kept-alive connection for 40 ms.
  svr.set_tcp_nodelay(true);
  svr.set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);  // SO_REUSEADDR, as without this callback
    listen_socket_ = sock;
  });
  // Framing the HTTP layer reads leniently, refused before any body is read: a Content-Length
  // that is not a number (read as 0, the body then parsed as the next request), two that
  // differ, and more headers than a client needs.
  svr.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.headers.size() > kMaxHeaders) {
      reply(res, 431, {{"error", fmt::format("{} header fields; at most {} are read", req.headers.size(), kMaxHeaders)}});
      return httplib::Server::HandlerResponse::Handled;
    }
    std::string length;
    for (auto [it, end] = req.headers.equal_range("Content-Length"); it != end; ++it) {
      const std::string& v = it->second;
      if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos) {
        reply(res, 400, {{"error", fmt::format("Content-Length: {}: expected a number of bytes", display_name(v))}});
        return httplib::Server::HandlerResponse::Handled;
      }
      if (!length.empty() && v != length) {
        reply(res, 400, {{"error", fmt::format("two different Content-Length values ({} and {})", length, v)}});
        return httplib::Server::HandlerResponse::Handled;
      }
      length = v;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Counted before the answer is written (cpp-httplib calls the post-routing handler for every
  // answer, errors included, ahead of the write; its logger runs after it): a client that reads
  // /metrics after its answer came back sees that answer counted.
  svr.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    metrics_.request(endpoint_of(req.path), res.status);
  });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const RequestError& e) {
      reply(res, e.status, {{"error", e.what()}});
      if (e.status == 503) res.set_header("Retry-After", "1");
    } catch (const std::exception& e) {
      reply(res, 500, {{"error", e.what()}});
    } catch (...) {
      reply(res, 500, {{"error", "unknown error"}});
    }
  });
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler's own answer
    std::string why = fmt::format("HTTP {}", res.status);
    if (res.status == 404) {
      why = fmt::format("no such endpoint: {} {}", req.method, display_name(req.path));
      // A known endpoint asked with another method: 405, saying which one it takes.
      const char* method = method_of(endpoint_of(req.path));
      if (method != nullptr && req.method != method && !(req.method == "HEAD" && std::string(method) == "GET")) {
        res.status = 405;
        res.set_header("Allow", method);
        why = fmt::format("{} {}: this endpoint takes {}", req.method, display_name(req.path), method);
      }
    }
    if (res.status == 400) why = "malformed HTTP request (its request line, headers or body framing)";
    if (res.status == 413) why = "request body too large (--max-body-bytes)";
    reply(res, res.status, {{"error", why}});
  });
}

std::vector<Classification> Server::classify_all(std::vector<ModelInput> inputs, bool raw, Batcher::Arrival& arrival) {
  std::vector<std::future<Classification>> futures;
  for (auto& in : inputs) {
    try {
      futures.push_back(batcher_->submit(std::move(in), raw));
    } catch (const QueueFull& e) {
      arrival.release();
      for (auto& f : futures) f.wait();  // the queued ones still run; their answers are dropped
      throw RequestError(503, std::string("server busy: ") + e.what());
    }
  }
  arrival.release();
  std::vector<Classification> out;
  for (auto& f : futures) out.push_back(f.get());
  return out;
}

void Server::check_model(const httplib::Request& req) const {
  const std::string name = req.matches[1];
  if (name != options_.name)
    throw RequestError(404, fmt::format("no model {} (this server has {})", display_name(name), options_.name));
}

ModelInput Server::prepare_within_budget(const std::vector<uint8_t>& bytes, const std::string& name, bool raw,
                                         int64_t position) {
  if (raw || !clf_.decodes()) return clf_.prepare(bytes, name, raw, position);
  {
    std::unique_lock<std::mutex> lock(decode_mutex_);
    decode_free_.wait(lock, [&] { return decodes_ < options_.max_decodes; });
    metrics_.set_decodes(++decodes_);
  }
  struct Release {
    Server* s;
    ~Release() {
      {
        std::lock_guard<std::mutex> lock(s->decode_mutex_);
        s->metrics_.set_decodes(--s->decodes_);
      }
      s->decode_free_.notify_one();
    }
  } release{this};
  return clf_.prepare(bytes, name, raw, position);  // never throws: a bad input is its error
}

void Server::handle_classify(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
  const int64_t top_k = int_param(req, "top_k", options_.default_top_k, 1);
  const bool raw = bool_param(req, "raw");
  const bool logits = bool_param(req, "logits");  // every class's logit: long, and most callers want "top"
  if (req.has_param("threshold")) parse_threshold_param(req.get_param_value("threshold"));  // a bad one: 400 first
  std::string filename;
  const std::string body = read_body(req, res, reader, options_.max_body_bytes, &filename);
  Batcher::Arrival arrival = batcher_->arrive();
  const std::string name = req.has_param("name") ? req.get_param_value("name")
                           : filename.empty()    ? std::string("request")
                                                 : filename;
  const std::vector<uint8_t> bytes(body.begin(), body.end());
  ModelInput in = prepare_within_budget(bytes, name, raw, /*position=*/0);
  if (!in.error.empty()) {
    Classification c;
    c.name = name;
    c.error = in.error;
    return reply(res, 422, to_json(c, top_k, 0.0, logits));  // well-formed, but not a file the pipeline takes
  }
  std::vector<ModelInput> one;
  one.push_back(std::move(in));
  const Classification c = std::move(classify_all(std::move(one), raw, arrival).front());
  reply(res, c.ok() ? 200 : 422, to_json(c, top_k, threshold_for(req, clf_, c), logits));
}

void Server::handle_pipeline(const httplib::Request&, httplib::Response& res) {
  json labels = json::array();
  for (const auto& l : clf_.labels()) labels.push_back(display_name(l));
  reply(res, 200,
        {{"name", options_.name},
         {"modality", to_string(clf_.pipeline_options().modality)},
         {"config", pipeline_config(clf_.config()).to_yaml()},
         {"input", clf_.input_description(false)},
         {"labels", labels},
         {"max_input_bytes", clf_.model_options().max_input_bytes()}});
}

void Server::handle_model_metadata(const httplib::Request& req, httplib::Response& res) {
  check_model(req);
  const int64_t classes = clf_.num_classes();
  json labels = json::array();
  for (const auto& l : class_names(clf_)) labels.push_back(display_name(l));
  const auto& m = clf_.model_options();
  reply(res, 200,
        {{"name", options_.name},
         {"versions", {"1"}},
         {"platform", "byteformer_libtorch"},
         {"inputs", {{{"name", "INPUT"}, {"datatype", "BYTES"}, {"shape", {-1}}}}},
         {"outputs",
          {{{"name", "PROBABILITIES"}, {"datatype", "FP32"}, {"shape", {-1, classes}}},
           {{"name", "LOGITS"}, {"datatype", "FP32"}, {"shape", {-1, classes}}},
           {{"name", "LABELS"}, {"datatype", "BYTES"}, {"shape", {-1}}}}},
         {"parameters",
          {{"class_names", labels},
           {"numerics", to_string(m.numerics)},
           {"precision", to_string(clf_.precision())},
           {"device", device_name(clf_.options().model.device)},
           {"pipeline", clf_.input_description(false)},
           {"max_input_bytes", m.max_input_bytes()},
           {"max_batch_size", options_.batch.max_batch_size}}}});
}

void Server::handle_infer(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
  check_model(req);
  const std::string body = read_body(req, res, reader, options_.max_body_bytes, nullptr);
  Batcher::Arrival arrival = batcher_->arrive();
  std::optional<std::string> header_length;
  if (req.has_header("Inference-Header-Content-Length"))
    header_length = req.get_header_value("Inference-Header-Content-Length");
  const InferRequest infer = parse_infer_request(body, header_length);
  // The outputs asked for, in order (KServe v2: every output when the request names none).
  static const std::vector<std::string> kOutputs = {"PROBABILITIES", "LOGITS", "LABELS"};
  const std::vector<std::string>& wanted = infer.outputs.empty() ? kOutputs : infer.outputs;
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (std::find(kOutputs.begin(), kOutputs.end(), wanted[i]) == kOutputs.end())
      throw RequestError(400, fmt::format("outputs[{}]: no output {} (this model has PROBABILITIES, LOGITS, LABELS)",
                                          i, wanted[i]));
    if (std::find(wanted.begin(), wanted.begin() + static_cast<std::ptrdiff_t>(i), wanted[i]) !=
        wanted.begin() + static_cast<std::ptrdiff_t>(i))
      throw RequestError(400, fmt::format("outputs[{}]: {} asked for twice", i, wanted[i]));
  }
  const std::string& input_name = infer.input_name;
  const bool raw = infer.raw;
  const auto& elements = infer.elements;
  // More elements than the queue holds could never be queued, however idle the server.
  if (static_cast<int64_t>(elements.size()) > options_.batch.max_queue)
    throw RequestError(413, fmt::format("input {}: {} elements: more than the {} this server queues at once "
                                        "(--max-queue); send them in several requests",
                                        input_name, elements.size(), options_.batch.max_queue));
  std::vector<ModelInput> inputs;
  for (size_t i = 0; i < elements.size(); ++i) {
    inputs.push_back(
        prepare_within_budget(elements[i], fmt::format("{}[{}]", input_name, i), raw, static_cast<int64_t>(i)));
    if (!inputs.back().error.empty()) throw RequestError(422, inputs.back().error);
  }
  const auto answers = classify_all(std::move(inputs), raw, arrival);
  const int64_t classes = clf_.num_classes();
  const bool want_logits = std::find(wanted.begin(), wanted.end(), "LOGITS") != wanted.end();
  json probs = json::array(), logits = json::array(), labels = json::array();
  for (const auto& c : answers) {
    if (!c.ok()) throw RequestError(422, c.error);
    for (float p : c.probs) probs.push_back(p);
    if (want_logits)
      for (float l : c.logits) logits.push_back(l);
    labels.push_back(display_name(verdict(c, 0.0)));
  }
  const auto n = static_cast<int64_t>(answers.size());
  json outputs = json::array();
  for (const auto& name : wanted) {
    if (name == "PROBABILITIES")
      outputs.push_back({{"name", name}, {"datatype", "FP32"}, {"shape", {n, classes}}, {"data", probs}});
    else if (name == "LOGITS")
      outputs.push_back({{"name", name}, {"datatype", "FP32"}, {"shape", {n, classes}}, {"data", logits}});
    else
      outputs.push_back({{"name", name}, {"datatype", "BYTES"}, {"shape", {n}}, {"data", labels}});
  }
  json out = {{"model_name", options_.name}, {"model_version", "1"}, {"outputs", outputs}};
  if (infer.id) out["id"] = *infer.id;
  reply(res, 200, out);
}

void Server::routes() {
  configure_http();
  httplib::Server& svr = *http_;
  using Req = httplib::Request;
  using Res = httplib::Response;
  // The two routes that take a body read it themselves (read_body): one bound for every framing.
  svr.Post("/v1/classify", [this](const Req& req, Res& res, const httplib::ContentReader& reader) {
    handle_classify(req, res, reader);
  });
  // What the privacy client (`predict --server`) needs to prepare files itself: the evaluation
  // pipeline's config keys (no data paths, no weights), the classes and the model's byte limit.
  svr.Get("/v1/pipeline", [this](const Req& req, Res& res) { handle_pipeline(req, res); });
  svr.Get("/v2/health/live", [](const Req&, Res& res) { reply(res, 200, {{"live", true}}); });
  svr.Get("/v2/health/ready", [this](const Req&, Res& res) {
    reply(res, ready_ ? 200 : 503, {{"ready", ready_.load()}});
  });
  svr.Get("/v2", [](const Req&, Res& res) {
    reply(res, 200,
          {{"name", "byteformer"}, {"version", byteformer_version_string()}, {"extensions", {"binary_tensor_data"}}});
  });
  svr.Get(R"(/v2/models/([^/]+)/ready)", [this](const Req& req, Res& res) {
    check_model(req);
    reply(res, ready_ ? 200 : 503, {{"name", options_.name}, {"ready", ready_.load()}});
  });
  svr.Get(R"(/v2/models/([^/]+))", [this](const Req& req, Res& res) { handle_model_metadata(req, res); });
  svr.Post(R"(/v2/models/([^/]+)/infer)", [this](const Req& req, Res& res, const httplib::ContentReader& reader) {
    handle_infer(req, res, reader);
  });
  svr.Get("/metrics", [this](const Req&, Res& res) {
    metrics_.set_queue_depth(batcher_->queue_depth());
    res.set_content(metrics_.prometheus(), "text/plain; version=0.0.4");
  });
  PageModel page;
  page.title = model_title(clf_.weights_path());
  if (page.title.empty()) page.title = options_.name;
  page.description = model_description(clf_.pipeline_options(), clf_.num_classes());
  page.pipeline = clf_.input_description(false);
  page.classes = class_names(clf_);
  svr.Get("/", [html = web_page(page)](const Req&, Res& res) { res.set_content(html, "text/html; charset=utf-8"); });
}

}  // namespace byteformer
