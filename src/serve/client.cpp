#include "byteformer/serve/client.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "byteformer/io/config.h"

namespace byteformer {

namespace {

using nlohmann::json;

// http://HOST[:PORT][/PREFIX] -> ("http://HOST:PORT", "/PREFIX" without a trailing slash).
std::pair<std::string, std::string> split_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    throw std::runtime_error(fmt::format("--server {}: expected http://HOST[:PORT] (https is not supported)", url));
  const size_t slash = url.find('/', scheme.size());
  const std::string host_port = url.substr(0, slash);
  if (host_port.size() == scheme.size()) throw std::runtime_error(fmt::format("--server {}: no host", url));
  std::string prefix = slash == std::string::npos ? "" : url.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return {host_port, prefix};
}

std::unique_ptr<httplib::Client> connect(const std::string& scheme_host_port, double timeout_s) {
  auto c = std::make_unique<httplib::Client>(scheme_host_port);
  const auto sec = static_cast<time_t>(timeout_s);
  const auto usec = static_cast<time_t>((timeout_s - static_cast<double>(sec)) * 1e6);
  c->set_connection_timeout(sec, usec);
  c->set_read_timeout(sec, usec);
  c->set_write_timeout(sec, usec);
  return c;
}

// httplib's failure in words a user can act on.
std::string describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "cannot connect (nothing listening there, or not reachable)";
    case httplib::Error::Read:
      return "the connection failed or timed out while waiting for the answer";
    case httplib::Error::Write:
      return "the connection failed while sending";
    default:
      return httplib::to_string(e);
  }
}

// The server's {"error": ...} when the body has one, else the start of the body.
std::string error_text(const std::string& body) {
  try {
    const json j = json::parse(body);
    if (j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  } catch (const json::exception&) {
  }
  return body.substr(0, 200);
}

}  // namespace

RemoteClassifier RemoteClassifier::open(const RemoteOptions& options) {
  if (options.top_k < 1) throw std::invalid_argument(fmt::format("top_k {}: expected >= 1", options.top_k));
  if (!(options.timeout_s > 0.0))
    throw std::invalid_argument(fmt::format("timeout {} s: expected > 0", options.timeout_s));
  RemoteClassifier r;
  r.options_ = options;
  std::tie(r.scheme_host_port_, r.prefix_) = split_url(options.url);
  const std::string where = r.scheme_host_port_ + r.prefix_ + "/v1/pipeline";
  auto res = connect(r.scheme_host_port_, options.timeout_s)->Get(r.prefix_ + "/v1/pipeline");
  if (!res) throw std::runtime_error(fmt::format("--server: GET {}: {}", where, describe(res.error())));
  if (res->status != 200)
    throw std::runtime_error(
        fmt::format("--server: GET {}: HTTP {}: {}", where, res->status, error_text(res->body)));
  try {
    const json j = json::parse(res->body);
    const std::string modality = j.at("modality").get<std::string>();
    const Config config = Config::load_string(j.at("config").get<std::string>(), where);
    r.max_input_bytes_ = j.at("max_input_bytes").get<int64_t>();
    auto index = std::make_shared<DatasetIndex>();
    index->modality = parse_modality(modality);
    index->classes = j.at("labels").get<std::vector<std::string>>();
    index->description = "remote classifier";
    r.index_ = index;
    r.pipeline_ = std::make_shared<const BytePipeline>(
        BytePipelineOptions::from_config(config, index->modality, /*training=*/false), r.index_);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("--server: GET {}: not a byteformer pipeline: {}", where, e.what()));
  }
  return r;
}

int64_t RemoteClassifier::max_file_bytes(bool raw) const { return input_byte_limit(*pipeline_, max_input_bytes_, raw); }

std::string RemoteClassifier::input_description(bool raw) const {
  const std::string steps = changes_bytes(*pipeline_, raw) ? pipeline_->options().describe() : std::string("raw");
  return fmt::format("{}, prepared here; only those bytes sent to {}{}", steps, scheme_host_port_, prefix_);
}

ModelInput RemoteClassifier::prepare(const std::vector<uint8_t>& bytes, const std::string& name, bool raw,
                                     int64_t position) const {
  return prepare_input(*pipeline_, bytes, name, raw, position, max_file_bytes(raw));
}

Classification RemoteClassifier::send(const ModelInput& in, const std::string& input) const {
  Classification c;
  c.name = in.name;
  c.file_bytes = in.file_bytes;
  c.num_bytes = static_cast<int64_t>(in.bytes.size());
  if (!in.error.empty()) {
    c.error = in.error;
    return c;
  }
  std::string body(in.bytes.size(), '\0');
  for (size_t i = 0; i < in.bytes.size(); ++i) body[i] = static_cast<char>(static_cast<uint8_t>(in.bytes[i]));
  // The logits too: every class's probability comes from them, and `predict --json` prints them.
  const std::string path = fmt::format("{}/v1/classify?raw=1&logits=1&top_k={}", prefix_, options_.top_k);
  const std::string where = scheme_host_port_ + prefix_ + "/v1/classify";
  auto client = connect(scheme_host_port_, options_.timeout_s);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(options_.timeout_s);
  for (;;) {
    auto res = client->Post(path, body, "application/octet-stream");
    if (!res) {
      c.error = fmt::format("{}: POST {}: {}", in.name, where, describe(res.error()));
      return c;
    }
    if (res->status == 503 && std::chrono::steady_clock::now() < deadline) {  // busy: wait as it says, retry
      double wait_s = 1.0;
      try {
        wait_s = std::clamp(std::stod(res->get_header_value("Retry-After")), 0.05, 5.0);
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(wait_s));
      continue;
    }
    if (res->status != 200) {
      c.error = fmt::format("{}: POST {}: HTTP {}: {}", in.name, where, res->status, error_text(res->body));
      return c;
    }
    try {
      const json j = json::parse(res->body);
      c.logits = j.at("logits").get<std::vector<float>>();
      for (const auto& t : j.at("top")) {
        TopClass top;
        top.index = t.at("index").get<int64_t>();
        top.label = t.at("label").get<std::string>();
        top.prob = t.at("prob").get<double>();
        c.top.push_back(std::move(top));
      }
    } catch (const std::exception& e) {
      c.error = fmt::format("{}: POST {}: an answer that is not a classification: {}", in.name, where, e.what());
      c.logits.clear();
      c.top.clear();
      return c;
    }
    // Probabilities over every class, as the local classifier gives them.
    const float most = c.logits.empty() ? 0.0f : *std::max_element(c.logits.begin(), c.logits.end());
    double sum = 0.0;
    for (float l : c.logits) sum += std::exp(static_cast<double>(l - most));
    for (float l : c.logits) c.probs.push_back(static_cast<float>(std::exp(static_cast<double>(l - most)) / sum));
    c.input = input;
    return c;
  }
}

std::vector<Classification> RemoteClassifier::classify_prepared(const std::vector<ModelInput>& inputs,
                                                                bool raw) const {
  const std::string input = input_description(raw);
  std::vector<std::future<Classification>> pending;
  pending.reserve(inputs.size());
  for (const auto& in : inputs) pending.push_back(std::async(std::launch::async, [&] { return send(in, input); }));
  std::vector<Classification> out;
  out.reserve(inputs.size());
  for (auto& f : pending) out.push_back(f.get());
  return out;
}

}  // namespace byteformer
