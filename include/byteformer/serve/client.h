// The privacy client behind `byteformer predict --server URL`: it fetches the served model's
// evaluation pipeline (GET /v1/pipeline: the config's augmentation, encoding and privacy keys,
// the classes), prepares each file on this machine (decode, resize, crop, encode, the privacy
// transforms) and sends only the prepared bytes (POST /v1/classify?raw=1). The original file
// never leaves this machine; the answers equal local `predict` on the same files.
//
//   RemoteOptions o;
//   o.url = "http://127.0.0.1:8080";
//   const RemoteClassifier remote = RemoteClassifier::open(o);
//   const ModelInput in = remote.prepare(read_file("shoe.png"), "shoe.png", /*raw=*/false, 0);
//   const Classification c = remote.classify_prepared({in}, /*raw=*/false).front();
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "byteformer/classify/classifier.h"
#include "byteformer/data/byte_pipeline.h"

namespace byteformer {

struct RemoteOptions {
  std::string url;          // http://HOST[:PORT][/PREFIX] of a `byteformer serve`
  int64_t top_k = 5;        // classes per answer
  double timeout_s = 60.0;  // per request, and the longest a busy server (503) is waited for
};

class RemoteClassifier {
 public:
  /// Fetches the pipeline; throws std::runtime_error naming the URL and what went wrong (no
  /// connection, an answer that is not a byteformer pipeline).
  static RemoteClassifier open(const RemoteOptions& options);

  /// The bytes the served model would see, prepared here (Classifier::prepare's rules).
  ModelInput prepare(const std::vector<uint8_t>& bytes, const std::string& name, bool raw, int64_t position) const;
  /// Sends each prepared input (concurrently, one connection each) and returns the answers in
  /// order; a failed request is that input's error (naming it, the URL and the reason).
  std::vector<Classification> classify_prepared(const std::vector<ModelInput>& inputs, bool raw) const;

  int64_t max_file_bytes(bool raw) const;
  /// The served model's evaluation pipeline, as fetched.
  const BytePipelineOptions& pipeline_options() const { return pipeline_->options(); }
  /// The pipeline in one line, and where the prepared bytes go.
  std::string input_description(bool raw) const;
  const std::vector<std::string>& labels() const { return index_->classes; }

 private:
  RemoteClassifier() = default;
  Classification send(const ModelInput& in, const std::string& input) const;

  RemoteOptions options_;
  std::string scheme_host_port_;  // http://host:port
  std::string prefix_;            // a path the server lives under ("" or "/x")
  int64_t max_input_bytes_ = 0;
  std::shared_ptr<const DatasetIndex> index_;
  std::shared_ptr<const BytePipeline> pipeline_;
};

}  // namespace byteformer
