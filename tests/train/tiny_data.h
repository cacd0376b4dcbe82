// Tiny generated datasets for the training tests: an ImageNet-style folder of 16x16 PNGs (two
// colour classes, easy to learn) and a Speech Commands v2 raw layout of short tones.
#pragma once
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "byteformer/codec/audio_encoding.h"
#include "byteformer/codec/image_encoding.h"
#include "test_util.h"

namespace byteformer::test {

/// root/{train,val}/{blue,red}/NN.png; `train_per_class` + `val_per_class` images per class.
/// With `broken`, train/red/zz_broken.png holds bytes no decoder accepts.
inline void make_tiny_images(const std::string& root, int train_per_class, int val_per_class, bool broken) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> jitter(-30, 30);
  for (const std::string split : {"train", "val"}) {
    const int n = split == "train" ? train_per_class : val_per_class;
    for (int c = 0; c < 2; ++c) {
      const std::string dir = root + "/" + split + "/" + (c == 0 ? "blue" : "red");
      std::filesystem::create_directories(dir);
      for (int i = 0; i < n; ++i) {
        Image img;
        img.width = img.height = 16;
        img.channels = 3;
        for (int p = 0; p < 16 * 16; ++p) {
          const int main = 200 + jitter(rng) / 2, other = 40 + jitter(rng);
          img.pixels.push_back(static_cast<uint8_t>(c == 1 ? main : other));
          img.pixels.push_back(static_cast<uint8_t>(60 + jitter(rng)));
          img.pixels.push_back(static_cast<uint8_t>(c == 0 ? main : other));
        }
        char name[32];
        std::snprintf(name, sizeof(name), "/%02d.png", i);
        write_bytes(dir + name, encode_image(img, ImageEncoding::parse("png")));
      }
    }
  }
  if (broken) write_bytes(root + "/train/red/zz_broken.png", {0x89, 'P', 'N', 'G', 1, 2, 3});
}

inline std::vector<uint8_t> tone_wav(double freq, int frames, int seed) {
  Audio a;
  a.sample_rate = 16000;
  a.channels = 1;
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.02f);
  for (int i = 0; i < frames; ++i)
    a.samples.push_back(0.5f * static_cast<float>(std::sin(2 * M_PI * freq * i / 16000.0)) + noise(rng));
  return encode_audio(a, AudioEncoding::parse("wav:int16"));
}

/// Google's layout: yes/, no/, cat/ (unknown), _background_noise_/, validation_list.txt,
/// testing_list.txt; `per_word` clips of 2000 frames per word, the last one of each word in
/// validation and the one before in testing.
inline void make_tiny_speech_commands(const std::string& root, int per_word) {
  const std::vector<std::pair<std::string, double>> words = {{"yes", 440}, {"no", 1200}, {"cat", 3000}};
  std::ofstream val(root + "/validation_list.txt", std::ios::app), test(root + "/testing_list.txt", std::ios::app);
  std::filesystem::create_directories(root + "/_background_noise_");
  write_bytes(root + "/_background_noise_/white.wav", tone_wav(50, 40000, 99));
  int seed = 0;
  for (const auto& [word, freq] : words) {
    std::filesystem::create_directories(root + "/" + word);
    for (int i = 0; i < per_word; ++i) {
      const std::string rel = word + "/clip" + std::to_string(i) + "_nohash_0.wav";
      write_bytes(root + "/" + rel, tone_wav(freq, 2000, ++seed));
      if (i == per_word - 1) val << rel << "\n";
      if (i == per_word - 2) test << rel << "\n";
    }
  }
}

}  // namespace byteformer::test
