// Codec throughput at ByteFormer's input size (224x224 RGB; 1 s of 16 kHz mono sound):
// files encoded per second for each CoreNet file encoding, and files decoded per second.
//
//   ./build/bench/bench_codec --benchmark_filter=Encode
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>

#include "byteformer/codec/audio_decoder.h"
#include "byteformer/codec/audio_encoding.h"
#include "byteformer/codec/image_decoder.h"
#include "byteformer/codec/image_encoding.h"

namespace {

using byteformer::Audio;
using byteformer::AudioEncoding;
using byteformer::Image;
using byteformer::ImageEncoding;

// A natural-ish 224x224 picture: gradients plus deterministic texture (JPEG and PNG speed
// depend on content; flat images would flatter them).
const Image& test_image() {
  static const Image img = [] {
    Image im;
    im.width = im.height = 224;
    im.channels = 3;
    im.pixels.resize(im.size_bytes());
    uint32_t s = 7;
    for (int y = 0; y < 224; ++y) {
      for (int x = 0; x < 224; ++x) {
        for (int c = 0; c < 3; ++c) {
          s = s * 1664525u + 1013904223u;
          const double v = 128 + 60 * std::sin(x * 0.05 + c) * std::cos(y * 0.03) + (s >> 28);
          im.pixels[(y * 224 + x) * 3 + c] = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
        }
      }
    }
    return im;
  }();
  return img;
}

const Audio& test_audio() {
  static const Audio a = [] {
    Audio au;
    au.sample_rate = 16000;
    for (int i = 0; i < 16000; ++i) {
      au.samples.push_back(static_cast<float>(0.4 * std::sin(2 * M_PI * 440 * i / 16000.0)));
    }
    return au;
  }();
  return a;
}

const char* kImageEncodings[] = {"tiff", "png", "jpeg:60", "jpeg:100", "fchw", "fhwc"};
const char* kAudioEncodings[] = {"wav:float32", "wav:int32", "wav:int16", "wav:uint8", "mp3"};

void BM_EncodeImage(benchmark::State& state) {
  const ImageEncoding enc = ImageEncoding::parse(kImageEncodings[state.range(0)]);
  state.SetLabel(enc.to_string());
  size_t bytes = 0;
  for (auto _ : state) {
    auto out = byteformer::encode_image(test_image(), enc);
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["files/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
  state.counters["file_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_EncodeImage)->DenseRange(0, 5)->Unit(benchmark::kMicrosecond);

void BM_DecodeImage(benchmark::State& state) {
  const ImageEncoding enc = ImageEncoding::parse(kImageEncodings[state.range(0)]);
  state.SetLabel(enc.to_string());
  const auto file = byteformer::encode_image(test_image(), enc);
  for (auto _ : state) {
    Image img = byteformer::decode_image(file, "bench");
    benchmark::DoNotOptimize(img.pixels.data());
  }
  state.counters["files/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeImage)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond);

void BM_EncodeAudio(benchmark::State& state) {
  const AudioEncoding enc = AudioEncoding::parse(kAudioEncodings[state.range(0)]);
  state.SetLabel(enc.to_string() + " 1s@16kHz");
  for (auto _ : state) {
    auto out = byteformer::encode_audio(test_audio(), enc);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["files/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EncodeAudio)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);

void BM_DecodeAudio(benchmark::State& state) {
  const AudioEncoding enc = AudioEncoding::parse(kAudioEncodings[state.range(0)]);
  state.SetLabel(enc.to_string() + " 1s@16kHz");
  const auto file = byteformer::encode_audio(test_audio(), enc);
  for (auto _ : state) {
    Audio a = byteformer::decode_audio(file, "bench");
    benchmark::DoNotOptimize(a.samples.data());
  }
  state.counters["files/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeAudio)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
