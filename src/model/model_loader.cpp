#include "byteformer/model/model_loader.h"

#include "byteformer/model/device.h"

#include <fmt/format.h>

#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "byteformer/io/checkpoint.h"
#include "byteformer/io/file.h"

namespace byteformer {

std::optional<WeightsSidecar> read_weights_sidecar(const std::string& weights_path) {
  const std::string path = weights_path + ".json";
  if (!std::filesystem::exists(path)) return std::nullopt;
  const std::vector<uint8_t> bytes = read_file(path, /*max_bytes=*/64 << 20);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: invalid JSON: {}", path, e.what()));
  }
  WeightsSidecar s;
  try {
    if (j.contains("numerics")) s.numerics = parse_numerics(j.at("numerics").get<std::string>());
    if (j.contains("labels")) s.labels = j.at("labels").get<std::vector<std::string>>();
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", path, e.what()));
  }
  return s;
}

void write_weights_sidecar(const std::string& weights_path, const WeightsSidecar& sidecar) {
  nlohmann::json j;
  if (sidecar.numerics) j["numerics"] = to_string(*sidecar.numerics);
  j["labels"] = sidecar.labels;
  const std::string text = j.dump(1) + "\n";
  write_file_atomic(weights_path + ".json", text.data(), text.size());
}

std::vector<std::string> read_labels_file(const std::string& path) {
  if (std::filesystem::is_directory(path))
    throw std::runtime_error(fmt::format("{}: is a directory, expected a labels file (one class name a line)", path));
  const std::vector<uint8_t> bytes = read_file(path, /*max_bytes=*/64 << 20);
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  std::vector<std::string> labels;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) throw std::runtime_error(fmt::format("{}:{}: empty class name", path, n));
    labels.push_back(line);
  }
  return labels;
}

LoadedModel load_run_model(const RunFolder& run) {
  ModelSpec spec;
  spec.config_path = run.config;
  spec.weights = run.weights;
  spec.require_weights = true;
  return load_model(spec);
}

LoadedModel load_model(const ModelSpec& spec) {
  LoadedModel m;
  if (spec.config_path.empty()) throw std::invalid_argument("a config is required: ModelSpec::config_path is empty");
  m.config = load_config(spec.config_path, spec.overrides);
  bool numerics_in_config = false;
  auto options = ByteFormerOptions::from_config(m.config, &numerics_in_config);
  m.weights = !spec.weights.empty() ? spec.weights : m.config.get_string("model.classification.pretrained", "");
  const std::string& weights = m.weights;
  if (weights.empty() && spec.require_weights)
    throw std::invalid_argument(fmt::format(
        "no weights: pass {} or set model.classification.pretrained in {}; without them the model would be "
        "randomly initialised",
        spec.weights_arg, spec.config_path));
  std::optional<WeightsSidecar> sidecar;
  if (!weights.empty()) sidecar = read_weights_sidecar(weights);

  if (spec.numerics) {
    options.numerics = *spec.numerics;
    m.numerics_note = fmt::format("numerics {} (from the command line)", to_string(options.numerics));
  } else if (numerics_in_config) {
    m.numerics_note = fmt::format("numerics {} (from the config)", to_string(options.numerics));
  } else if (sidecar && sidecar->numerics) {
    options.numerics = *sidecar->numerics;
    m.numerics_note = fmt::format("numerics {} (recorded with the weights)", to_string(options.numerics));
  } else if (!weights.empty()) {
    options.numerics = Numerics::kCoreNet;
    m.numerics_note = fmt::format(
        "note: {} names no numeric mode (a CoreNet checkpoint): using --numerics corenet, CoreNet's own "
        "numbers for each file alone; pass --numerics masked for fully masked padding",
        weights);
  } else {
    m.numerics_note = "numerics masked (default for a new model)";
  }
  m.model = ByteFormer(options);
  if (!weights.empty()) {
    m.model->load_state_dict(load_state_dict(weights), weights);
    // Weights of NaN or infinity (a diverged run) would answer every file with NaN.
    torch::NoGradGuard no_grad;
    for (const auto& p : m.model->named_parameters())
      if (!torch::isfinite(p.value()).all().item<bool>())
        throw std::runtime_error(fmt::format("{}: '{}' holds NaN or infinite values: the weights are not usable "
                                             "(a run that diverged?)",
                                             weights, p.key()));
  }
  if (!spec.device.is_cpu()) {
    configure_cuda_matmul(options.allow_tf32, spec.device);
    m.model->to(spec.device);
  }
  if (!spec.labels_path.empty()) {
    m.labels = read_labels_file(spec.labels_path);
  } else if (sidecar) {
    m.labels = sidecar->labels;
  }
  if (!m.labels.empty() && static_cast<int64_t>(m.labels.size()) != options.n_classes)
    throw std::invalid_argument(fmt::format("{} class names given for a model with n_classes {}", m.labels.size(),
                                            options.n_classes));
  return m;
}

}  // namespace byteformer
