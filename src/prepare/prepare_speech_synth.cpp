#include "byteformer/prepare/prepare_speech_synth.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "byteformer/codec/audio_decoder.h"
#include "byteformer/codec/wav_encoder.h"
#include "byteformer/data/speech_commands.h"
#include "byteformer/io/file.h"
#include "prepare/subprocess.h"

namespace byteformer {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMarker = ".byteformer_speech_synth.json";
constexpr const char* kNoiseDir = "_background_noise_";
constexpr double kPi = 3.14159265358979323846;

// Google's auxiliary words (Speech Commands v2), spoken as `unknown`.
const std::vector<std::string> kUnknownWords = {
    "backward", "bed",  "bird", "cat",   "dog", "eight", "five",  "follow", "forward",
    "four",     "happy", "house", "learn", "marvin", "nine", "one",   "seven",
    "sheila",   "six",  "three", "tree",  "two",  "visual", "wow",  "zero"};
// The English accents of espeak-ng 1.51 (language voices; mbrola ones need extra packages).
const std::vector<std::string> kAccents = {"en-029",        "en-gb",         "en-gb-scotland", "en-gb-x-gbclan",
                                           "en-gb-x-gbcwmd", "en-gb-x-rp",    "en-us"};
// The generated background noises (60 s each by default).
const std::vector<std::string> kNoises = {"white_noise", "pink_noise", "brown_noise",
                                          "blue_noise",  "mains_hum",  "babble"};

void say(const SpeechSynthOptions& o, const std::string& line) {
  if (o.progress) o.progress(line);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A generator of its own for each named thing (clip, noise, speaker), so the output does not
// depend on the order or thread in which things are made. Draws are written out (not
// std::uniform_*_distribution, whose results differ between standard libraries).
struct Rng {
  Rng(uint64_t seed, const std::string& what) : gen(splitmix(seed ^ fnv1a(what))) {}
  double uniform() { return static_cast<double>(gen() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int64_t integer(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(gen() % static_cast<uint64_t>(hi - lo + 1)); }
  double normal() {  // Box-Muller
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
  }
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[gen() % i]);
  }
  std::mt19937_64 gen;
};

// The variant names `espeak-ng --voices=variant` lists (the part after "!v/"), sorted; names
// with spaces are skipped (they cannot be passed as +name).
std::vector<std::string> list_variants(const std::string& espeak) {
  const auto out = capture_shell(shell_quote(espeak) + " --voices=variant");
  std::istringstream in(std::string(out.begin(), out.end()));
  std::string line;
  std::set<std::string> names;
  while (std::getline(in, line)) {
    const auto pos = line.find("!v/");
    if (pos == std::string::npos) continue;
    const std::string rest = line.substr(pos + 3);
    const auto end = rest.find_first_of(" \t\r");
    const std::string name = rest.substr(0, end);
    const auto next = end == std::string::npos ? std::string::npos : rest.find_first_not_of(" \t\r", end);
    if (next != std::string::npos && rest[next] != '(') continue;  // "Mr serious"
    if (!name.empty()) names.insert(name);
  }
  return {names.begin(), names.end()};
}

std::string espeak_version(const std::string& espeak) {
  try {
    const auto out = capture_shell(shell_quote(espeak) + " --version");
    std::string s(out.begin(), out.end());
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  } catch (const std::exception&) {
    return "unknown";
  }
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) { write_file_atomic(path.string(), bytes, Durability::kRenameOnly); }

void write_text(const fs::path& path, const std::string& text) { write_bytes(path, {text.begin(), text.end()}); }

std::vector<uint8_t> read_bytes(const fs::path& path) { return read_file(path.string()); }

// espeak-ng -> 16 kHz mono samples with the leading/trailing silence trimmed.
std::vector<float> speak(const SpeechSynthOptions& o, const std::string& voice, int pitch, int speed, int amplitude,
                         const std::string& text, const fs::path& tmp_wav) {
  const std::string command =
      fmt::format("{} -v {} -p {} -s {} -a {} -w {} {}", shell_quote(o.espeak), shell_quote(voice), pitch, speed,
                  amplitude, shell_quote(tmp_wav.string()), shell_quote(text));
  const int rc = run_shell(command + " >/dev/null");
  if (rc != 0) throw std::runtime_error(fmt::format("data speech-synth: `{}` failed (exit {})", command, rc));
  const auto bytes = read_bytes(tmp_wav);
  const Audio audio = to_mono(decode_audio(bytes, tmp_wav.string(), kSpeechSynthRate));
  const auto& s = audio.samples;
  constexpr float kQuiet = 2e-3f;
  size_t first = 0, last = s.size();
  while (first < last && std::fabs(s[first]) < kQuiet) ++first;
  while (last > first && std::fabs(s[last - 1]) < kQuiet) --last;
  return {s.begin() + static_cast<std::ptrdiff_t>(first), s.begin() + static_cast<std::ptrdiff_t>(last)};
}

std::vector<float> make_noise(const std::string& kind, int64_t frames, Rng& rng) {
  std::vector<float> x(static_cast<size_t>(frames), 0.f);
  if (kind == "white_noise") {
    for (auto& v : x) v = static_cast<float>(rng.normal());
  } else if (kind == "pink_noise") {  // Paul Kellett's refined filter of white noise
    double b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
    for (auto& v : x) {
      const double w = rng.normal();
      b0 = 0.99886 * b0 + w * 0.0555179;
      b1 = 0.99332 * b1 + w * 0.0750759;
      b2 = 0.96900 * b2 + w * 0.1538520;
      b3 = 0.86650 * b3 + w * 0.3104856;
      b4 = 0.55000 * b4 + w * 0.5329522;
      b5 = -0.7616 * b5 - w * 0.0168980;
      v = static_cast<float>(b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362);
      b6 = w * 0.115926;
    }
  } else if (kind == "brown_noise") {  // leaky integral of white noise
    double y = 0;
    for (auto& v : x) {
      y = 0.998 * y + 0.05 * rng.normal();
      v = static_cast<float>(y);
    }
  } else if (kind == "blue_noise") {  // first difference of white noise
    double prev = 0;
    for (auto& v : x) {
      const double w = rng.normal();
      v = static_cast<float>(w - prev);
      prev = w;
    }
  } else if (kind == "mains_hum") {  // 50 Hz and harmonics, slowly wobbling, over faint noise
    const double f0 = rng.uniform(49.5, 50.5);
    for (int64_t i = 0; i < frames; ++i) {
      const double t = static_cast<double>(i) / kSpeechSynthRate;
      double v = 0;
      for (int h = 1; h <= 6; ++h) v += std::sin(2 * kPi * f0 * h * t + h) / h;
      v *= 1.0 + 0.2 * std::sin(2 * kPi * 0.3 * t);
      x[static_cast<size_t>(i)] = static_cast<float>(v + 0.05 * rng.normal());
    }
  }
  return x;
}

void normalise_peak(std::vector<float>& x, double peak) {
  float m = 0;
  for (float v : x) m = std::max(m, std::fabs(v));
  if (m <= 0) return;
  const float g = static_cast<float>(peak / m);
  for (auto& v : x) v *= g;
}

std::vector<uint8_t> to_wav16(const std::vector<float>& samples) {
  Audio a;
  a.sample_rate = kSpeechSynthRate;
  a.channels = 1;
  a.samples = samples;
  for (auto& v : a.samples) v = std::clamp(v, -1.0f, 1.0f);
  return encode_wav(a, WavSampleType::kInt16);
}

struct ClipJob {
  const SynthSpeaker* speaker = nullptr;
  std::string word;
  int repeat = 0;
  std::string rel;  // word/<speaker>_nohash_<k>.wav
};

// Runs `fn(i, worker)` for i in [0, n) on `threads` threads, calling `tick(done)` about twice a
// second from this thread. The first exception stops the work and is rethrown.
template <typename Fn, typename Tick>
void parallel_for(size_t n, int threads, Fn fn, Tick tick) {
  std::atomic<size_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  std::vector<std::thread> pool;
  const int t = std::max(1, threads);
  for (int w = 0; w < t; ++w) {
    pool.emplace_back([&, w] {
      for (size_t i; !failed && (i = next++) < n;) {
        try {
          fn(i, w);
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (!error) error = std::current_exception();
          failed = true;
        }
        ++done;
      }
    });
  }
  size_t reported = 0;
  while (done < n && !failed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (done != reported) tick(reported = done);
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
  if (reported != n) tick(n);
}

nlohmann::json options_json(const SpeechSynthOptions& o, const std::string& version) {
  nlohmann::json j;
  j["layout_version"] = kSpeechSynthLayoutVersion;
  j["seed"] = o.seed;
  j["limit_speakers"] = o.limit_speakers;
  j["keyword_repeats"] = o.keyword_repeats;
  j["unknown_words_per_speaker"] = o.unknown_words_per_speaker;
  j["accents_per_variant"] = o.accents_per_variant;
  j["noise_seconds"] = o.noise_seconds;
  j["espeak_ng"] = version;
  return j;
}

}  // namespace

std::vector<float> place_clip(const std::vector<float>& clip, int64_t frames, int64_t offset) {
  std::vector<float> out(static_cast<size_t>(std::max<int64_t>(frames, 0)), 0.f);
  for (int64_t i = 0; i < static_cast<int64_t>(clip.size()); ++i) {
    const int64_t j = i + offset;
    if (j >= 0 && j < frames) out[static_cast<size_t>(j)] = clip[static_cast<size_t>(i)];
  }
  return out;
}

std::vector<SynthSpeaker> plan_speech_synth_speakers(const SpeechSynthOptions& o) {
  if (!program_on_path(o.espeak))
    throw std::runtime_error(fmt::format("data speech-synth: '{}' not found; install the Debian package "
                                         "espeak-ng (apt-get install espeak-ng)", o.espeak));
  std::vector<std::string> variants = list_variants(o.espeak);
  if (variants.size() < 3)
    throw std::runtime_error(fmt::format("data speech-synth: `{} --voices=variant` lists {} variants; need at "
                                         "least 3 (one per split)", o.espeak, variants.size()));
  Rng rng(o.seed, "variants");
  rng.shuffle(variants);
  const size_t n = variants.size();
  const size_t n_held = std::max<size_t>(1, static_cast<size_t>(std::lround(0.1 * static_cast<double>(n))));
  std::map<std::string, std::vector<SynthSpeaker>> by_split;
  for (size_t v = 0; v < n; ++v) {
    const std::string split = v < n_held ? "validation" : v < 2 * n_held ? "test" : "train";
    std::vector<std::string> accents = kAccents;
    Rng arng(o.seed, "accents/" + variants[v]);
    arng.shuffle(accents);
    if (o.accents_per_variant > 0 && static_cast<size_t>(o.accents_per_variant) < accents.size())
      accents.resize(static_cast<size_t>(o.accents_per_variant));
    for (const auto& accent : accents) {
      SynthSpeaker s;
      s.accent = accent;
      s.variant = variants[v];
      s.split = split;
      s.id = fmt::format("{:08x}", static_cast<uint32_t>(fnv1a(s.voice())));
      Rng srng(o.seed, "speaker/" + s.voice());
      s.pitch = static_cast<int>(srng.integer(25, 75));
      s.speed = static_cast<int>(srng.integer(130, 200));
      by_split[split].push_back(s);
    }
  }
  std::vector<SynthSpeaker> out;
  for (const char* split : {"train", "validation", "test"}) {
    auto& v = by_split[split];
    std::sort(v.begin(), v.end(), [](const SynthSpeaker& a, const SynthSpeaker& b) { return a.id < b.id; });
    if (o.limit_speakers > 0) {
      const double share = std::string(split) == "train" ? 0.8 : 0.1;
      const auto keep = std::max<int64_t>(1, std::llround(share * static_cast<double>(o.limit_speakers)));
      if (static_cast<int64_t>(v.size()) > keep) v.resize(static_cast<size_t>(keep));
    }
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

SpeechSynthResult prepare_speech_synth(const SpeechSynthOptions& o) {
  if (o.out_dir.empty()) throw std::invalid_argument("data speech-synth: --out is empty");
  if (o.keyword_repeats < 1 || o.unknown_words_per_speaker < 0 || o.noise_seconds < 1.0)
    throw std::invalid_argument("data speech-synth: keyword_repeats >= 1, unknown words >= 0, noise >= 1 s");
  const fs::path out(o.out_dir);
  const fs::path marker = out / kMarker;
  const std::vector<SynthSpeaker> speakers = plan_speech_synth_speakers(o);
  const std::string version = espeak_version(o.espeak);
  const nlohmann::json want = options_json(o, version);

  // The clips to make.
  std::vector<ClipJob> jobs;
  for (const auto& s : speakers) {
    for (const char* kw : kSpeechCommandsKeywords)
      for (int k = 0; k < o.keyword_repeats; ++k) jobs.push_back({&s, kw, k, ""});
    std::vector<std::string> words = kUnknownWords;
    Rng wrng(o.seed, "unknown/" + s.voice());
    wrng.shuffle(words);
    for (int k = 0; k < o.unknown_words_per_speaker && k < static_cast<int>(words.size()); ++k)
      jobs.push_back({&s, words[static_cast<size_t>(k)], 0, ""});
  }
  for (auto& j : jobs) j.rel = fmt::format("{}/{}_nohash_{}.wav", j.word, j.speaker->id, j.repeat);

  SpeechSynthResult result;
  result.clips = static_cast<int64_t>(jobs.size());
  result.speakers = static_cast<int64_t>(speakers.size());
  for (const auto& j : jobs) {
    if (j.speaker->split == "train") ++result.train;
    else if (j.speaker->split == "validation") ++result.validation;
    else ++result.test;
  }

  if (fs::exists(marker)) {
    try {
      nlohmann::json m;
      std::ifstream(marker) >> m;
      bool complete = m.at("options") == want && m.at("clips").get<int64_t>() == result.clips;
      for (size_t i = 0; complete && i < jobs.size(); ++i) complete = fs::exists(out / jobs[i].rel);
      for (size_t i = 0; complete && i < kNoises.size(); ++i)
        complete = fs::exists(out / kNoiseDir / (kNoises[i] + ".wav"));
      if (complete) {
        result.reused = true;
        say(o, fmt::format("speech-synth: reusing {} ({} clips, {} speakers)", out.string(), result.clips,
                           result.speakers));
        return result;
      }
    } catch (const std::exception&) {
    }
    say(o, fmt::format("speech-synth: {} is incomplete or made with other options; rewriting it", out.string()));
    fs::remove(marker);
  }

  say(o, fmt::format("speech-synth: {} ({}); {} speakers, {} clips ({} train / {} validation / {} test), "
                     "{} threads, seed {}",
                     out.string(), version, result.speakers, result.clips, result.train, result.validation,
                     result.test, o.threads, o.seed));
  fs::create_directories(out / kNoiseDir);
  const fs::path tmp = out / ".tmp_synth";
  fs::create_directories(tmp);
  std::set<std::string> words;
  for (const auto& j : jobs) words.insert(j.word);
  for (const auto& w : words) fs::create_directories(out / w);

  // Background noises (also mixed faintly under every clip).
  const int64_t noise_frames = static_cast<int64_t>(o.noise_seconds * kSpeechSynthRate);
  std::vector<std::vector<float>> noises(kNoises.size());
  parallel_for(
      kNoises.size(), o.threads,
      [&](size_t i, int worker) {
        Rng rng(o.seed, "noise/" + kNoises[i]);
        std::vector<float> x;
        if (kNoises[i] == "babble") {  // overlapping words of many voices, far away
          x.assign(static_cast<size_t>(noise_frames), 0.f);
          const fs::path wav = tmp / fmt::format("noise{}.wav", worker);
          for (int64_t t = 0; t < noise_frames; t += kSpeechSynthRate / 6) {
            const auto& s = speakers[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(speakers.size()) - 1))];
            const auto& w = kUnknownWords[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(kUnknownWords.size()) - 1))];
            auto clip = speak(o, s.voice(), s.pitch, s.speed, 100, w, wav);
            normalise_peak(clip, rng.uniform(0.2, 1.0));
            for (size_t k = 0; k < clip.size(); ++k) x[static_cast<size_t>(t + static_cast<int64_t>(k)) % x.size()] += clip[k];
          }
        } else {
          x = make_noise(kNoises[i], noise_frames, rng);
        }
        normalise_peak(x, kNoises[i] == "babble" ? 0.5 : 0.7);
        noises[i] = x;
        write_bytes(out / kNoiseDir / (kNoises[i] + ".wav"), to_wav16(x));
      },
      [&](size_t done) { say(o, fmt::format("speech-synth: background noise {}/{}", done, kNoises.size())); });

  // The clips.
  const auto start = std::chrono::steady_clock::now();
  parallel_for(
      jobs.size(), o.threads,
      [&](size_t i, int worker) {
        const ClipJob& j = jobs[i];
        const SynthSpeaker& s = *j.speaker;
        Rng rng(o.seed, "clip/" + j.rel);
        const int pitch = static_cast<int>(std::clamp<int64_t>(s.pitch + rng.integer(-12, 12), 0, 99));
        const int speed = static_cast<int>(std::clamp<int64_t>(s.speed + rng.integer(-25, 25), 100, 240));
        const int amplitude = static_cast<int>(rng.integer(60, 180));
        auto word = speak(o, s.voice(), pitch, speed, amplitude, j.word, tmp / fmt::format("w{}.wav", worker));
        normalise_peak(word, rng.uniform(0.15, 0.95));
        // Somewhere in the second, as people start speaking at different times.
        const int64_t len = static_cast<int64_t>(word.size());
        const int64_t offset = len >= kSpeechSynthRate ? -(len - kSpeechSynthRate) / 2
                                                       : rng.integer(0, kSpeechSynthRate - len);
        std::vector<float> x = place_clip(word, kSpeechSynthRate, offset);
        // Faint room noise, -60..-35 dB of a random background clip slice.
        const auto& noise = noises[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(noises.size()) - 1))];
        const double gain = std::pow(10.0, rng.uniform(-60.0, -35.0) / 20.0) / 0.7;
        const int64_t at = rng.integer(0, static_cast<int64_t>(noise.size()) - kSpeechSynthRate);
        for (int64_t k = 0; k < kSpeechSynthRate; ++k)
          x[static_cast<size_t>(k)] += static_cast<float>(gain * noise[static_cast<size_t>(at + k)]);
        write_bytes(out / j.rel, to_wav16(x));
      },
      [&](size_t done) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double eta = done ? secs / static_cast<double>(done) * static_cast<double>(jobs.size() - done) : 0;
        say(o, fmt::format("speech-synth: spoke {}/{} clips ({:.0f} s, ETA {:.0f} s)", done, jobs.size(), secs, eta));
      });
  fs::remove_all(tmp);

  // Lists (Google's format: word/file.wav, sorted) and the speaker table.
  std::vector<std::string> validation, testing;
  for (const auto& j : jobs) {
    if (j.speaker->split == "validation") validation.push_back(j.rel);
    if (j.speaker->split == "test") testing.push_back(j.rel);
  }
  std::sort(validation.begin(), validation.end());
  std::sort(testing.begin(), testing.end());
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += x + "\n";
    return s;
  };
  write_text(out / "validation_list.txt", join(validation));
  write_text(out / "testing_list.txt", join(testing));
  std::string table = "speaker\tsplit\tvoice\tpitch\tspeed\n";
  for (const auto& s : speakers) table += fmt::format("{}\t{}\t{}\t{}\t{}\n", s.id, s.split, s.voice(), s.pitch, s.speed);
  write_text(out / "speakers.tsv", table);

  nlohmann::json m;
  m["options"] = want;
  m["clips"] = result.clips;
  m["speakers"] = result.speakers;
  m["train"] = result.train;
  m["validation"] = result.validation;
  m["test"] = result.test;
  m["format"] = "16 kHz mono 16-bit PCM WAV, 16000 frames";
  m["split"] = "by espeak-ng variant (timbre): 10% validation, 10% test, rest train, shuffled with the seed";
  write_text(marker, m.dump(2) + "\n");
  say(o, fmt::format("speech-synth: done: {} ({} clips: {} train / {} validation / {} test)", out.string(),
                     result.clips, result.train, result.validation, result.test));
  return result;
}

}  // namespace byteformer
