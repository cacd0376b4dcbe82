// One Classification as JSON: the record `predict --json` prints a line of and the answer of
// the server's POST /v1/classify, so the two cannot drift apart.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "byteformer/classify/classifier.h"

namespace byteformer {

/// The verdict: the top class's name, or "unknown" when its probability is below `threshold`.
std::string verdict(const Classification& c, double threshold);

/// {"file", "file_bytes", "num_bytes", "input", "label", "logits", "top": [{"index", "label",
/// "prob"}...]} with at most `top_k` classes in "top", or {"file", "error"}; "logits" only when
/// `logits` is set (the server's answers leave them out unless asked). Names pass through
/// display_name (valid UTF-8, one line).
nlohmann::json to_json(const Classification& c, int64_t top_k, double threshold, bool logits = true);

}  // namespace byteformer
