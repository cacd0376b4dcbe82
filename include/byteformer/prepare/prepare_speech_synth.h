// `byteformer data speech-synth`: a Speech-Commands-v2-style data set spoken by the espeak-ng
// formant synthesizer, for trying the audio recipes without downloading Google's 2.3 GB.
//
// Layout (Google's raw layout, read by load_speech_commands):
//   <out>/<word>/<speaker>_nohash_<k>.wav   16 kHz mono 16-bit PCM, exactly 1 s (16000 frames)
//   <out>/_background_noise_/*.wav          60 s noises we generate (white, pink, brown, blue,
//                                           mains hum, babble of espeak-ng words); `silence`
//                                           slices and noise augmentation come from these
//   <out>/validation_list.txt, testing_list.txt   "word/file.wav" lines
//   <out>/speakers.tsv                      speaker id, split, espeak-ng voice, pitch, speed
//   <out>/.byteformer_speech_synth.json     marker: options + counts (reruns reuse the data)
//
// Words: the ten keywords (yes no up down left right on off stop go) and Google's 25 auxiliary
// words (bed bird cat ... zero, backward forward follow learn visual) as `unknown`.
// Speakers: every installed espeak-ng voice variant (`espeak-ng --voices=variant`: f1..f5,
// m1..m8, klatt, Annie, ...; about 100) combined with `accents_per_variant` of the seven English
// accents (en-gb, en-us, en-gb-scotland, ...), each with its own base pitch and speed; every utterance further varies pitch, speed,
// amplitude, onset time, and gets faint noise. A speaker's id is a hash of its accent+variant.
// Split by voice: the variants (the timbre) are shuffled with the seed and 10% go to
// validation, 10% to test, the rest to train, with all their accents; so no variant, and no
// speaker, is in two splits.
// Deterministic for a seed: each clip's random draws come from its own generator (seed, clip),
// so the thread count does not change a byte (given the same espeak-ng build).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace byteformer {

constexpr int kSpeechSynthLayoutVersion = 1;
constexpr int kSpeechSynthRate = 16000;

struct SpeechSynthOptions {
  std::string out_dir;
  uint64_t seed = 0;
  int threads = 2;
  /// Keep at most this many speakers (0 = all), spread over the splits 80/10/10 with at least one
  /// speaker in each (small sets for tests).
  int64_t limit_speakers = 0;
  /// Times each speaker says each keyword, and how many distinct unknown words it says.
  int keyword_repeats = 1;
  int unknown_words_per_speaker = 2;
  /// Each variant speaks with this many of the English accents (chosen with the seed; 0 = all).
  int accents_per_variant = 4;
  double noise_seconds = 60.0;
  std::string espeak = "espeak-ng";
  std::function<void(const std::string&)> progress;
};

/// One synthetic speaker: an espeak-ng voice ("en-us+f3") and its base prosody.
struct SynthSpeaker {
  std::string id;       // 8 hex digits, FNV-1a of the voice name
  std::string accent;   // espeak-ng language voice, e.g. "en-us"
  std::string variant;  // espeak-ng variant, e.g. "f3"
  std::string split;    // "train", "validation" or "test"
  int pitch = 50;       // espeak-ng -p base (0..99)
  int speed = 165;      // espeak-ng -s base (words per minute)
  std::string voice() const { return accent + "+" + variant; }
};

/// The speakers and their splits for these options (needs espeak-ng to list the variants).
std::vector<SynthSpeaker> plan_speech_synth_speakers(const SpeechSynthOptions& options);

struct SpeechSynthResult {
  int64_t clips = 0;
  int64_t train = 0, validation = 0, test = 0;
  int64_t speakers = 0;
  bool reused = false;
};

/// Writes the data set (above) unless `out_dir` already holds one made with the same options
/// (marker present, every clip there). Throws std::runtime_error when espeak-ng is missing
/// (naming the Debian package) or fails.
SpeechSynthResult prepare_speech_synth(const SpeechSynthOptions& options);

/// Exactly `frames` samples: `clip` placed at `offset` (negative: cut from the start), zero
/// elsewhere.
std::vector<float> place_clip(const std::vector<float>& clip, int64_t frames, int64_t offset);

}  // namespace byteformer
