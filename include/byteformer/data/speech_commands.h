// Google Speech Commands v2, 12-way (Warden 2018; CoreNet
// corenet/data/datasets/audio_classification/speech_commands_v2.py; docs/MODEL.md, audio).
//
// Classes, sorted: down go left no off on right silence stop unknown up yes.
// Two layouts are read:
//  - CoreNet's prepared manifests: root/{train,validation,test}_manifest.json, one JSON object a
//    line with audio_filepath (relative to root), duration and command; the classes are the
//    sorted set of commands, as CoreNet does.
//  - Google's raw layout: root/<word>/<clip>.wav, validation_list.txt and testing_list.txt
//    (speaker-disjoint), train = every other clip; words outside the 10 keywords are `unknown`,
//    `silence` are 1 s slices of root/_background_noise_/*.wav. In every split unknown and
//    silence each get ceil(10% of the split's keyword clips) samples (unknown: a seeded random
//    subset; silence: seeded random file and offset), as TensorFlow's reference input_data.py.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "byteformer/data/dataset.h"

namespace byteformer {

inline constexpr std::array<const char*, 10> kSpeechCommandsKeywords = {
    "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"};
inline constexpr int64_t kSpeechCommandsClipFrames = 16000;  // 1 s at 16 kHz

/// The 12 class names in sorted order.
std::vector<std::string> speech_commands_classes();

/// Manifest layout when root/<split>_manifest.json exists, else the raw layout. Deterministic
/// for a seed. Throws std::runtime_error naming the path when neither layout is there.
DatasetIndex load_speech_commands(const std::string& root, Split split, uint64_t seed);

}  // namespace byteformer
