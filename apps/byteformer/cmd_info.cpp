// `byteformer info`: parameters, tokens after each stage, FLOPs per sample.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "byteformer/io/checkpoint.h"
#include "byteformer/io/config_schema.h"
#include "cli_common.h"
#include "commands.h"

namespace byteformer::cli {

void add_info_command(CLI::App& app) {
  struct Args {
    ModelFlags model;
    int64_t input_bytes = 0;
    bool json = false;
    std::string save_init;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("info", "Describe the model a config builds");
  add_model_flags(cmd, args->model, /*weights=*/false);
  cmd->add_option("--input-bytes", args->input_bytes,
                  "Input length (dummy_input_token_length, or the longest input the model takes if shorter)")
      ->check(positive_int())
      ->default_str("dummy_input_token_length");
  cmd->add_flag("--json", args->json, "Print JSON");
  cmd->add_option("--save-init", args->save_init,
                  "Also write the model's initial weights (seeded by common.seed, as train starts) to FILE, a .pt "
                  "that predict, eval and serve load: for benchmarks and smoke tests of untrained models");
  cmd->callback([args] {
    apply_threads(args->model);  // building the model initialises its weights on these threads
    const Config config = load_config(args->model.config, args->model.spec().overrides);
    const ConfigCheck check = check_config(config);  // the keys and values train --dry-run accepts
    if (!check.ignored.empty() && !args->json) std::cerr << describe_ignored(check) << "\n";
    const auto options = ByteFormerOptions::from_config(config);
    torch::manual_seed(static_cast<uint64_t>(config.get_int("common.seed", 0)));
    ByteFormer model(options);
    if (!args->save_init.empty()) {
      save_state_dict(args->save_init, model->state_dict());
      if (!args->json) std::cerr << "info: initial weights written to " << args->save_init << "\n";
    }
    int64_t L = args->input_bytes;
    if (L == 0) {
      L = options.dummy_input_token_length;
      if (const int64_t longest = options.max_input_bytes(); L > longest) {
        if (!args->json)
          std::cerr << fmt::format("note: dummy_input_token_length {} gives more than max_num_tokens {} tokens; "
                                   "showing the longest input the model takes, {} bytes\n",
                                   L, options.max_num_tokens, longest);
        L = longest;
      }
    }
    options.check_input_bytes(L);  // what predict would refuse, info refuses too
    const auto stages = model->stage_costs(L);
    double total = 0;
    for (const auto& s : stages) total += s.flops;
    if (args->json) {
      nlohmann::json j;
      j["config"] = args->model.config;
      j["mode"] = options.mode;
      j["embed_dim"] = options.embed_dim;
      j["num_layers"] = options.num_layers;
      j["n_classes"] = options.n_classes;
      j["parameters"] = model->parameter_count();
      j["input_bytes"] = L;
      j["flops"] = total;
      j["stages"] = nlohmann::json::array();
      for (const auto& s : stages) j["stages"].push_back({{"name", s.name}, {"tokens", s.tokens}, {"flops", s.flops}});
      std::cout << j.dump(1) << "\n";
      return;
    }
    std::cout << fmt::format("ByteFormer {} (C={}, heads={}, ffn={}, layers={}, classes={})\n", options.mode,
                             options.embed_dim, options.num_heads, options.ffn_dim, options.num_layers,
                             options.n_classes);
    std::cout << fmt::format("parameters: {}\n", model->parameter_count());
    std::cout << fmt::format("input: {} bytes, conv kernel {} stride {}\n", L, options.conv_kernel_size,
                             options.conv_stride());
    std::cout << fmt::format("{:<18} {:>10} {:>14}\n", "stage", "tokens", "GFLOP");
    for (const auto& s : stages) std::cout << fmt::format("{:<18} {:>10} {:>14.4f}\n", s.name, s.tokens, s.flops / 1e9);
    std::cout << fmt::format("{:<18} {:>10} {:>14.4f}\n", "total", "", total / 1e9);
  });
}

}  // namespace byteformer::cli
