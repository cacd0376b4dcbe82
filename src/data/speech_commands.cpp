#include "byteformer/data/speech_commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "byteformer/codec/audio_decoder.h"
#include "byteformer/io/file.h"
#include "byteformer/transforms/rng.h"

namespace byteformer {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBackgroundDir = "_background_noise_";
/// Longest background-noise file read (Speech Commands' are about 1 to 3 MB; 256 MiB, the decoders' bound).
constexpr int64_t kMaxNoiseFileBytes = int64_t{256} << 20;

std::vector<std::string> read_list(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("speech commands: cannot open {}", path.string()));
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::vector<std::string> list_noise_files(const fs::path& root) {
  std::vector<std::string> out;
  const fs::path dir = root / kBackgroundDir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".wav") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

int64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

DatasetIndex from_manifest(const fs::path& root, const fs::path& manifest, Split split) {
  std::ifstream in(manifest);
  if (!in) throw std::runtime_error(fmt::format("speech commands: cannot open {}", manifest.string()));
  struct Entry {
    std::string path, command;
  };
  std::vector<Entry> entries;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      entries.push_back({(root / j.at("audio_filepath").get<std::string>()).string(), j.at("command").get<std::string>()});
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("{}:{}: expected a JSON object with audio_filepath and command: {}",
                                           manifest.string(), line_no, e.what()));
    }
  }
  DatasetIndex index;
  index.modality = Modality::kAudio;
  std::set<std::string> names;
  for (const auto& e : entries) names.insert(e.command);
  index.classes.assign(names.begin(), names.end());
  for (const auto& e : entries) {
    SampleRef s;
    s.path = e.path;
    s.label = std::lower_bound(index.classes.begin(), index.classes.end(), e.command) - index.classes.begin();
    s.file_bytes = file_size_or_zero(s.path);
    index.samples.push_back(std::move(s));
  }
  index.noise_files = list_noise_files(root);
  index.description = fmt::format("speech_commands_v2 manifest {} ({} clips)", manifest.string(), index.size());
  (void)split;
  return index;
}

DatasetIndex from_raw_layout(const fs::path& root, Split split, uint64_t seed) {
  const auto validation = read_list(root / "validation_list.txt");
  const auto testing = read_list(root / "testing_list.txt");
  std::set<std::string> held_out(validation.begin(), validation.end());
  held_out.insert(testing.begin(), testing.end());

  std::vector<std::string> rel;  // clips of this split, relative "word/clip.wav"
  if (split == Split::kValidation) {
    rel = validation;
  } else if (split == Split::kTest) {
    rel = testing;
  } else {
    for (const auto& dir : fs::directory_iterator(root)) {
      if (!dir.is_directory() || dir.path().filename() == kBackgroundDir) continue;
      for (const auto& f : fs::directory_iterator(dir.path())) {
        if (!f.is_regular_file() || f.path().extension() != ".wav") continue;
        const std::string r = dir.path().filename().string() + "/" + f.path().filename().string();
        if (!held_out.count(r)) rel.push_back(r);
      }
    }
  }
  std::sort(rel.begin(), rel.end());

  DatasetIndex index;
  index.modality = Modality::kAudio;
  index.classes = speech_commands_classes();
  auto class_of = [&](const std::string& name) {
    return std::lower_bound(index.classes.begin(), index.classes.end(), name) - index.classes.begin();
  };
  const int64_t unknown = class_of("unknown"), silence = class_of("silence");

  std::vector<std::string> unknown_clips;
  for (const auto& r : rel) {
    const std::string word = r.substr(0, r.find('/'));
    const bool keyword = std::find(kSpeechCommandsKeywords.begin(), kSpeechCommandsKeywords.end(), word) !=
                         kSpeechCommandsKeywords.end();
    if (!keyword) {
      unknown_clips.push_back(r);
      continue;
    }
    SampleRef s;
    s.path = (root / r).string();
    s.label = class_of(word);
    s.file_bytes = file_size_or_zero(s.path);
    index.samples.push_back(std::move(s));
  }
  const int64_t keyword_count = static_cast<int64_t>(index.samples.size());
  const int64_t extra = static_cast<int64_t>(std::ceil(0.1 * static_cast<double>(keyword_count)));

  // Seeded per split so train, validation and test draw independently.
  torch::Generator gen = make_generator(seed * 1000003ULL + static_cast<uint64_t>(split) + 1);
  const int64_t n_unknown = std::min<int64_t>(extra, static_cast<int64_t>(unknown_clips.size()));
  if (n_unknown > 0) {
    const auto perm = rand_perm(gen, static_cast<int64_t>(unknown_clips.size()));
    const auto* p = perm.data_ptr<int64_t>();
    std::vector<int64_t> chosen(p, p + n_unknown);
    std::sort(chosen.begin(), chosen.end());
    for (int64_t i : chosen) {
      SampleRef s;
      s.path = (root / unknown_clips[i]).string();
      s.label = unknown;
      s.file_bytes = file_size_or_zero(s.path);
      index.samples.push_back(std::move(s));
    }
  }

  index.noise_files = list_noise_files(root);
  std::vector<std::pair<std::string, int64_t>> noise;  // files long enough for a 1 s slice
  for (const auto& f : index.noise_files) {
    try {
      const Audio a = decode_audio(read_file(f, kMaxNoiseFileBytes), f);
      if (static_cast<int64_t>(a.frames()) >= kSpeechCommandsClipFrames) noise.emplace_back(f, a.frames());
    } catch (const std::exception&) {
      // Reported when the loader reads it; a broken noise file just gives no silence slices.
    }
  }
  if (!noise.empty()) {
    for (int64_t i = 0; i < extra; ++i) {
      const auto& [path, frames] = noise[rand_int(gen, 0, static_cast<int64_t>(noise.size()))];
      SampleRef s;
      s.path = path;
      s.label = silence;
      s.offset = rand_int(gen, 0, frames - kSpeechCommandsClipFrames + 1);
      s.file_bytes = kSpeechCommandsClipFrames * 2;
      index.samples.push_back(std::move(s));
    }
  }
  index.description = fmt::format("speech_commands_v2 raw layout {} {} ({} keyword, {} unknown, {} silence)",
                                  root.string(), to_string(split), keyword_count, n_unknown,
                                  noise.empty() ? 0 : extra);
  return index;
}

}  // namespace

std::vector<std::string> speech_commands_classes() {
  std::vector<std::string> names(kSpeechCommandsKeywords.begin(), kSpeechCommandsKeywords.end());
  names.push_back("unknown");
  names.push_back("silence");
  std::sort(names.begin(), names.end());
  return names;
}

DatasetIndex load_speech_commands(const std::string& root_dir, Split split, uint64_t seed) {
  const fs::path root(root_dir);
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw std::runtime_error(fmt::format("speech commands {}: not a directory", root_dir));
  const fs::path manifest = root / (to_string(split) + "_manifest.json");
  if (fs::exists(manifest, ec)) return from_manifest(root, manifest, split);
  if (fs::exists(root / "validation_list.txt", ec) && fs::exists(root / "testing_list.txt", ec))
    return from_raw_layout(root, split, seed);
  throw std::runtime_error(fmt::format(
      "speech commands {}: expected {} (CoreNet's manifests) or validation_list.txt and testing_list.txt "
      "(Google's layout)",
      root_dir, manifest.string()));
}

}  // namespace byteformer
