// `byteformer predict`: classify files. By default each file goes through the config's
// evaluation pipeline (SPEC.md section 7: decode, resize, centre crop, encode as pil_save /
// torchaudio_save says, the privacy transforms), so the model sees the bytes `eval` would feed
// it for that file; `--raw` feeds the file's bytes as they are.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "byteformer/data/byte_pipeline.h"
#include "byteformer/data/loader.h"
#include "byteformer/io/display_name.h"
#include "byteformer/io/file.h"
#include "byteformer/model/inference.h"
#include "byteformer/transforms/rng.h"
#include "cli_common.h"
#include "commands.h"

namespace byteformer::cli {

namespace {

namespace fs = std::filesystem;

// A decoded input may be a large photo or recording; nothing the decoders accept is larger.
constexpr int64_t kMaxDecodedFileBytes = int64_t{256} << 20;

struct Args {
  ModelFlags model;
  int64_t top_k = 5;
  int64_t batch_size = 1;
  bool json = false;
  bool raw = false;
  bool recursive = false;
  std::string dump_inputs;
  std::vector<std::string> files;
};

// The paths to classify, in order: files as given, directories (with -r) walked in sorted
// order, "-" for stdin. A directory without -r is an error record of its own.
std::vector<ModelInput> collect(const std::vector<std::string>& args, bool recursive) {
  std::vector<ModelInput> out;
  for (const auto& a : args) {
    std::error_code ec;
    if (a != "-" && fs::is_directory(a, ec)) {
      if (!recursive) {
        ModelInput in;
        in.name = a;
        in.error = fmt::format("{}: is a directory (classify its files with -r/--recursive)", a);
        out.push_back(std::move(in));
        continue;
      }
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(a, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code e2;
        if (!it->is_directory(e2)) found.push_back(it->path().string());
      }
      if (ec) {
        ModelInput in;
        in.name = a;
        in.error = fmt::format("{}: cannot list: {}", a, ec.message());
        out.push_back(std::move(in));
      }
      std::sort(found.begin(), found.end());
      for (auto& f : found) out.push_back(ModelInput{std::move(f), {}, -1, ""});
      continue;
    }
    out.push_back(ModelInput{a, {}, -1, ""});
  }
  return out;
}

// Reads the input's file and, unless raw, runs the evaluation pipeline on it with the
// generator the eval loader would give sample `position` (seed 0, epoch 0).
void prepare(ModelInput& in, const BytePipeline* pipeline, int64_t position, int64_t raw_limit) {
  try {
    const std::string path = in.name == "-" ? "/dev/stdin" : in.name;
    std::vector<uint8_t> bytes;
    try {
      bytes = read_file(path, pipeline ? kMaxDecodedFileBytes : raw_limit);
    } catch (const std::runtime_error& e) {
      std::string why = e.what();
      if (in.name == "-") why = "-" + why.substr(path.size());
      throw std::runtime_error(why);
    }
    in.file_bytes = static_cast<int64_t>(bytes.size());
    if (!pipeline) {
      in.bytes.assign(bytes.begin(), bytes.end());
      return;
    }
    torch::Generator gen = make_generator(sample_seed(/*seed=*/0, /*epoch=*/0, position));
    in.bytes = pipeline->prepare(bytes, in.name, gen);
  } catch (const std::exception& e) {
    in.error = e.what();
  }
}

void print(const Prediction& p, const std::string& input, bool json) {
  const std::string name = display_name(p.file);
  if (json) {
    nlohmann::json j;
    j["file"] = name;
    if (!p.error.empty()) {
      j["error"] = display_name(p.error);
      std::cout << j.dump() << "\n" << std::flush;
      return;
    }
    j["file_bytes"] = p.file_bytes;
    j["num_bytes"] = p.num_bytes;
    j["input"] = input;
    j["logits"] = p.logits;
    j["top"] = nlohmann::json::array();
    for (const auto& t : p.top) j["top"].push_back({{"index", t.index}, {"label", t.label}, {"prob", t.prob}});
    std::cout << j.dump() << "\n" << std::flush;
    return;
  }
  if (!p.error.empty()) {
    std::cout << name << ": error\n" << std::flush;
    return;
  }
  if (input == "raw") {
    std::cout << name << " (" << p.num_bytes << " bytes):";
  } else {
    std::cout << name << " (" << p.file_bytes << " bytes, " << p.num_bytes << " fed):";
  }
  for (const auto& t : p.top) std::cout << fmt::format("  {} {:.4f}", t.label, t.prob);
  std::cout << "\n" << std::flush;
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "predict", "Classify files: each goes through the config's evaluation pipeline (decode, resize, crop, encode, "
                 "privacy transforms), as `eval` would feed it; --raw feeds the bytes as they are");
  add_model_flags(cmd, args->model, /*weights=*/true);
  cmd->add_option("--top-k", args->top_k, "Classes to print per file")->check(positive_int())->capture_default_str();
  cmd->add_option("--batch-size", args->batch_size, "Files per forward pass")
      ->check(positive_int())
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "One JSON object per line");
  cmd->add_flag("--raw", args->raw,
                "Feed each file's bytes as they are (no decoding, no pipeline; the default when the config has no "
                "decoding step)");
  cmd->add_flag("-r,--recursive", args->recursive, "Classify the files under directories given");
  cmd->add_option("--dump-inputs", args->dump_inputs,
                  "Also write the bytes fed to the model for input i as DIR/<i>.bin (to inspect or compare them)");
  cmd->add_option("files", args->files, "Files (or directories with -r; - for stdin) to classify")->required();
  cmd->callback([args] {
    apply_threads(args->model.threads);
    auto loaded = load_model(args->model.spec());
    if (!args->json || loaded.numerics_note.rfind("note:", 0) == 0) std::cerr << loaded.numerics_note << "\n";
    const Modality modality = is_audio_config(loaded.config) ? Modality::kAudio : Modality::kImage;
    auto index = std::make_shared<DatasetIndex>();
    index->modality = modality;
    index->classes = loaded.labels;
    index->description = "predict";
    const BytePipeline pipeline(BytePipelineOptions::from_config(loaded.config, modality, /*training=*/false), index);
    const BytePipeline* prep = args->raw || !pipeline.decodes() ? nullptr : &pipeline;
    const std::string input = prep ? pipeline.options().describe() : std::string("raw");
    if (!args->json) std::cerr << "predict: input: " << input << "\n";

    std::vector<ModelInput> inputs = collect(args->files, args->recursive);
    const int64_t raw_limit = std::max<int64_t>(loaded.model->options().max_input_bytes(), int64_t{1} << 20);
    int64_t failed = 0;
    const auto batch = static_cast<size_t>(args->batch_size);
    for (size_t start = 0; start < inputs.size(); start += batch) {  // streamed: one batch at a time
      const size_t end = std::min(inputs.size(), start + batch);
      std::vector<ModelInput> group(std::make_move_iterator(inputs.begin() + static_cast<std::ptrdiff_t>(start)),
                                    std::make_move_iterator(inputs.begin() + static_cast<std::ptrdiff_t>(end)));
      for (size_t i = 0; i < group.size(); ++i) {
        if (group[i].error.empty()) prepare(group[i], prep, static_cast<int64_t>(start + i), raw_limit);
        if (!args->dump_inputs.empty() && group[i].error.empty()) {
          fs::create_directories(args->dump_inputs);
          const std::vector<uint8_t> fed(group[i].bytes.begin(), group[i].bytes.end());
          write_file_replace((fs::path(args->dump_inputs) / fmt::format("{}.bin", start + i)).string(), fed);
        }
      }
      for (const auto& p : classify_inputs(loaded.model, group, args->batch_size, args->top_k, loaded.labels)) {
        if (!p.error.empty()) {
          ++failed;
          std::cerr << "error: " << display_name(p.error) << "\n";
        }
        print(p, input, args->json);
      }
    }
    if (failed > 0) {
      throw std::runtime_error(fmt::format("{} of {} inputs could not be classified", failed, inputs.size()));
    }
  });
}

}  // namespace byteformer::cli
