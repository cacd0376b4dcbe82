#include "byteformer/classify/classification_json.h"

#include <algorithm>

#include "byteformer/io/display_name.h"

namespace byteformer {

std::string verdict(const Classification& c, double threshold) {
  if (c.top.empty()) return "unknown";
  return c.top.front().prob < threshold ? std::string("unknown") : c.top.front().label;
}

nlohmann::json to_json(const Classification& c, int64_t top_k, double threshold, bool logits) {
  nlohmann::json j;
  j["file"] = display_name(c.name);
  if (!c.ok()) {
    j["error"] = display_name(c.error);
    return j;
  }
  j["file_bytes"] = c.file_bytes;
  j["num_bytes"] = c.num_bytes;
  j["input"] = c.input;
  j["label"] = display_name(verdict(c, threshold));
  if (logits) j["logits"] = c.logits;
  j["top"] = nlohmann::json::array();
  const size_t k = std::min(c.top.size(), static_cast<size_t>(std::max<int64_t>(top_k, 0)));
  for (size_t i = 0; i < k; ++i)
    j["top"].push_back({{"index", c.top[i].index}, {"label", display_name(c.top[i].label)}, {"prob", c.top[i].prob}});
  return j;
}

}  // namespace byteformer
