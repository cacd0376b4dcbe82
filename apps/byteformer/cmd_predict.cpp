// `byteformer predict`: classify files from their bytes.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "byteformer/model/inference.h"
#include "cli_common.h"
#include "commands.h"

namespace byteformer::cli {

void add_predict_command(CLI::App& app) {
  struct Args {
    ModelFlags model;
    int64_t top_k = 5;
    int64_t batch_size = 1;
    bool json = false;
    std::vector<std::string> files;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("predict", "Classify files from their raw bytes (no decoding)");
  add_model_flags(cmd, args->model, /*weights=*/true);
  cmd->add_option("--top-k", args->top_k, "Classes to print per file")->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", args->batch_size, "Files per forward pass")->check(CLI::PositiveNumber);
  cmd->add_flag("--json", args->json, "One JSON object per line");
  cmd->add_option("files", args->files, "Files to classify")->required();
  cmd->callback([args] {
    apply_threads(args->model.threads);
    auto loaded = load_model(args->model.spec());
    if (!args->json || loaded.numerics_note.rfind("note:", 0) == 0) std::cerr << loaded.numerics_note << "\n";
    auto preds = predict_files(loaded.model, args->files, args->batch_size, args->top_k, loaded.labels);
    for (const auto& p : preds) {
      if (args->json) {
        nlohmann::json j;
        j["file"] = p.file;
        j["num_bytes"] = p.num_bytes;
        j["logits"] = p.logits;
        j["top"] = nlohmann::json::array();
        for (const auto& t : p.top) j["top"].push_back({{"index", t.index}, {"label", t.label}, {"prob", t.prob}});
        std::cout << j.dump() << "\n";
      } else {
        std::cout << p.file << " (" << p.num_bytes << " bytes):";
        for (const auto& t : p.top) std::cout << fmt::format("  {} {:.4f}", t.label, t.prob);
        std::cout << "\n";
      }
    }
  });
}

}  // namespace byteformer::cli
