#include "byteformer/data/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "byteformer/codec/image_decoder.h"
#include "byteformer/data/class_folders.h"
#include "byteformer/data/sampler.h"
#include "byteformer/io/config.h"
#include "train/tiny_data.h"

namespace byteformer {
namespace {

Config tiny_config(const std::string& extra = "") {
  return Config::load_string(test::read_text(test::source_dir() + "/configs/test/tiny_image.yaml") + extra,
                             "tiny_image.yaml");
}

std::vector<Batch> drain(DataLoader& loader, std::vector<std::vector<int64_t>> batches, int64_t epoch) {
  loader.start(std::move(batches), epoch);
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

TEST(BytePipeline, EvalImageIsFchwPixelBytes) {
  const std::string root = test::make_temp_dir("pipe");
  test::make_tiny_images(root, 1, 1, false);
  auto index = std::make_shared<DatasetIndex>(scan_image_folder(root + "/val"));
  BytePipeline pipe(BytePipelineOptions::from_config(tiny_config(), Modality::kImage, false), index);
  torch::Generator gen = make_generator(0);
  const auto s = pipe(0, gen);
  ASSERT_EQ(s.bytes.size(), 3u * 16 * 16);
  const Image img = pipe.image_pixels(0, gen);
  EXPECT_EQ(s.bytes[0], img.pixels[0]);           // channel 0, pixel 0
  EXPECT_EQ(s.bytes[256], img.pixels[1]);         // channel 1, pixel 0
  EXPECT_EQ(s.label, 0);
  std::filesystem::remove_all(root);
}

// The pipeline's augmentation is the transforms' train_augment / eval_augment (the code their
// own tests check), with the options from_config read: same pixels from the same generator.
TEST(BytePipeline, AugmentsWithTheTransformsTrainAndEvalAugment) {
  const std::string root = test::make_temp_dir("pipeaug");
  test::make_tiny_images(root, 2, 1, false);
  auto index = std::make_shared<DatasetIndex>(scan_image_folder(root + "/train"));
  Config c = tiny_config();
  c.apply_override("image_augmentation.random_horizontal_flip.enable=true");
  c.apply_override("image_augmentation.random_erase.enable=true");
  c.apply_override("image_augmentation.random_erase.p=1.0");
  for (const bool training : {true, false}) {
    const BytePipeline pipe(BytePipelineOptions::from_config(c, Modality::kImage, training), index);
    EXPECT_TRUE(pipe.options().image.random_erase);
    const Image decoded = to_rgb(decode_image(read_file(index->samples[1].path), "x"));
    for (uint64_t seed : {1u, 2u, 3u}) {
      torch::Generator g1 = make_generator(seed), g2 = make_generator(seed);
      const Image want = training ? train_augment(decoded, pipe.options().image, g2)
                                  : eval_augment(decoded, pipe.options().image);
      EXPECT_EQ(pipe.image_pixels(1, g1), want) << "training " << training << " seed " << seed;
    }
  }
  std::filesystem::remove_all(root);
}

TEST(BytePipeline, BadValuesNameKeyAndFile) {
  Config c = tiny_config();
  c.apply_override("image_augmentation.pil_save.file_encoding=GIF");
  try {
    BytePipelineOptions::from_config(c, Modality::kImage, true);
    FAIL();
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("image_augmentation.pil_save.file_encoding"), std::string::npos) << m;
    EXPECT_NE(m.find("GIF"), std::string::npos) << m;
  }
}

TEST(Loader, PadsSkipsBrokenFilesAndIgnoresThreadCount) {
  const std::string root = test::make_temp_dir("loader");
  test::make_tiny_images(root, 4, 1, /*broken=*/true);
  auto index = std::make_shared<DatasetIndex>(scan_image_folder(root + "/train"));
  ASSERT_EQ(index->size(), 9u);
  Config c = tiny_config();
  c.apply_override("image_augmentation.pil_save.file_encoding=PNG");  // variable lengths
  auto pipe = std::make_shared<BytePipeline>(BytePipelineOptions::from_config(c, Modality::kImage, true), index);
  SamplerOptions so;
  so.batch_size = 3;
  so.seed = 11;
  DataLoader serial(pipe, {0, 2, 5});
  DataLoader threaded(pipe, {3, 1, 5});
  const auto a = drain(serial, make_epoch_batches(9, so, 2), 2);
  const auto b = drain(threaded, make_epoch_batches(9, so, 2), 2);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  int64_t errors = 0, samples = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i].bytes, b[i].bytes));
    EXPECT_TRUE(torch::equal(a[i].labels, b[i].labels));
    errors += static_cast<int64_t>(a[i].errors.size());
    samples += a[i].size();
    for (const auto& e : a[i].errors) EXPECT_NE(e.find("zz_broken.png"), std::string::npos) << e;
    // Each row: bytes then -1 padding only.
    for (int64_t r = 0; r < a[i].bytes.size(0); ++r) {
      const auto row = a[i].bytes[r];
      const auto pad = row.eq(-1);
      const int64_t n_real = row.ge(0).sum().item<int64_t>();
      EXPECT_TRUE(pad.slice(0, n_real).all().item<bool>());
    }
  }
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(samples, 8);
  // A resumed epoch starting at batch 1 gives the same batches as the full one.
  serial.start(make_epoch_batches(9, so, 2), 2, /*first_batch=*/1);
  auto resumed = serial.next();
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->position, 1);
  EXPECT_TRUE(torch::equal(resumed->bytes, a[1].bytes));
  std::filesystem::remove_all(root);
}

// With no worker threads a batch's samples are made on the intra-op pool (pieces of 8): the
// batches, the skipped file's error and their order are those of one worker thread.
TEST(Loader, NoWorkersSpreadsABatchOverTheIntraOpThreads) {
  const std::string root = test::make_temp_dir("loaderpool");
  test::make_tiny_images(root, 6, 1, /*broken=*/true);
  auto index = std::make_shared<DatasetIndex>(scan_image_folder(root + "/train"));
  ASSERT_EQ(index->size(), 13u);
  Config c = tiny_config();
  c.apply_override("image_augmentation.pil_save.file_encoding=PNG");
  auto pipe = std::make_shared<BytePipeline>(BytePipelineOptions::from_config(c, Modality::kImage, true), index);
  SamplerOptions so;
  so.batch_size = 13;
  so.seed = 3;
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  DataLoader pooled(pipe, {0, 2, 7});
  const auto a = drain(pooled, make_epoch_batches(13, so, 1), 1);
  at::set_num_threads(threads);
  DataLoader worker(pipe, {1, 2, 7});
  const auto b = drain(worker, make_epoch_batches(13, so, 1), 1);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].size(), 12);
  EXPECT_EQ(a[0].indices, b[0].indices);
  EXPECT_TRUE(torch::equal(a[0].bytes, b[0].bytes));
  EXPECT_TRUE(torch::equal(a[0].labels, b[0].labels));
  ASSERT_EQ(a[0].errors.size(), 1u);
  EXPECT_EQ(a[0].errors, b[0].errors);
  EXPECT_NE(a[0].errors[0].find("zz_broken.png"), std::string::npos) << a[0].errors[0];
  std::filesystem::remove_all(root);
}

TEST(Loader, AudioMixupGivesSoftTargets) {
  const std::string root = test::make_temp_dir("audioload");
  test::make_tiny_speech_commands(root, 6);
  Config c = Config::load_string(test::read_text(test::source_dir() + "/configs/test/tiny_audio.yaml"), "tiny_audio");
  c.apply_override("dataset.root_train=" + root);
  auto index = std::make_shared<DatasetIndex>(load_dataset(c, Split::kTrain, 0));
  auto pipe = std::make_shared<BytePipeline>(BytePipelineOptions::from_config(c, Modality::kAudio, true), index);
  DataLoader loader(pipe, {2, 2, 0});
  SamplerOptions so;
  so.batch_size = 4;
  const auto batches = drain(loader, make_epoch_batches(static_cast<int64_t>(index->size()), so, 0), 0);
  ASSERT_FALSE(batches.empty());
  const auto& b = batches[0];
  ASSERT_TRUE(b.soft_targets.defined());
  EXPECT_EQ(b.soft_targets.size(1), 12);
  EXPECT_TRUE(torch::allclose(b.soft_targets.sum(1), torch::ones({b.size()})));
  // uint8 WAV of 2000 frames: 44-byte header + 2000 bytes.
  EXPECT_EQ(b.bytes.size(1), 2044);
  std::filesystem::remove_all(root);
}

TEST(BytePipeline, UnreadableNoiseFilesAreWarningsAndNoneReadableIsAnError) {
  const std::string root = test::make_temp_dir("noise");
  test::make_tiny_speech_commands(root, 3);
  test::write_bytes(root + "/_background_noise_/broken.wav", std::vector<uint8_t>{'R', 'I', 'F', 'F', 1, 2});
  Config c = Config::load_string(test::read_text(test::source_dir() + "/configs/test/tiny_audio.yaml"), "tiny_audio");
  c.apply_override("dataset.root_train=" + root);
  auto index = std::make_shared<DatasetIndex>(load_dataset(c, Split::kTrain, 0));
  ASSERT_EQ(index->noise_files.size(), 2u);
  const auto options = BytePipelineOptions::from_config(c, Modality::kAudio, /*training=*/true);
  const BytePipeline pipe(options, index);
  ASSERT_EQ(pipe.warnings().size(), 1u);
  EXPECT_NE(pipe.warnings()[0].find("background noise " + root + "/_background_noise_/broken.wav skipped: "),
            std::string::npos)
      << pipe.warnings()[0];
  // The evaluation pipeline reads no noise: no warning.
  EXPECT_TRUE(BytePipeline(BytePipelineOptions::from_config(c, Modality::kAudio, false), index).warnings().empty());

  std::filesystem::remove(root + "/_background_noise_/white.wav");
  auto only_broken = std::make_shared<DatasetIndex>(load_dataset(c, Split::kTrain, 0));
  try {
    BytePipeline failing(options, only_broken);
    FAIL() << "no readable noise file must be an error";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("audio_augmentation.noise: no readable _background_noise_/*.wav"), std::string::npos) << msg;
    EXPECT_NE(msg.find("broken.wav skipped"), std::string::npos) << msg;
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace byteformer

namespace byteformer {
namespace {

// BytePipeline::prepare (predict's path: one file's bytes, no dataset) gives exactly the bytes
// the loader feeds the model for that file: eval images resized and cropped, encoded, the
// privacy transforms with the loader's per-sample generator; audio clipped and encoded.
void expect_prepare_equals_loader(const Config& config, const std::string& root, Modality modality) {
  auto index = std::make_shared<DatasetIndex>(load_dataset(config, Split::kValidation, 0));
  ASSERT_GT(index->size(), 1u);
  BytePipeline pipe(BytePipelineOptions::from_config(config, modality, /*training=*/false), index);
  ASSERT_TRUE(pipe.decodes());
  DataLoader loader(std::make_shared<BytePipeline>(pipe.options(), index), LoaderOptions{0, 2, 0});
  std::vector<std::vector<int64_t>> batches;
  for (int64_t i = 0; i < static_cast<int64_t>(index->size()); ++i) batches.push_back({i});
  const auto out = drain(loader, batches, /*epoch=*/0);
  ASSERT_EQ(out.size(), index->size());
  for (size_t i = 0; i < index->size(); ++i) {
    const std::string& path = index->samples[i].path;
    torch::Generator gen = make_generator(sample_seed(0, 0, static_cast<int64_t>(i)));
    const ByteSeq got = pipe.prepare(read_file(path), path, gen);
    const auto row = out[i].bytes[0];
    const int64_t n = (row >= 0).sum().item<int64_t>();
    ASSERT_EQ(static_cast<int64_t>(got.size()), n) << path;
    EXPECT_TRUE(torch::equal(row.slice(0, 0, n), torch::tensor(got, torch::kLong))) << path;
  }
  std::filesystem::remove_all(root);
}

TEST(BytePipeline, PrepareOnFileBytesEqualsTheLoadersBytesForImages) {
  const std::string root = test::make_temp_dir("prep_img");
  test::make_tiny_images(root, 1, 3, false);
  Config c = tiny_config();
  c.apply_override("dataset.root_val=" + root + "/val");
  c.apply_override("image_augmentation.pil_save.file_encoding=JPEG");
  c.apply_override("image_augmentation.pil_save.quality=60");
  c.apply_override("image_augmentation.resize.size=20");
  c.apply_override("image_augmentation.center_crop.size=12");
  // Random per sample: the bytes differ between samples and must still agree with the loader.
  c.apply_override("image_augmentation.random_uniform.enable=true");
  c.apply_override("image_augmentation.random_uniform.width_range=[-5,5]");
  c.apply_override("image_augmentation.byte_permutation.enable=true");
  expect_prepare_equals_loader(c, root, Modality::kImage);
}

TEST(BytePipeline, PrepareOnFileBytesEqualsTheLoadersBytesForAudio) {
  const std::string root = test::make_temp_dir("prep_audio");
  test::make_tiny_speech_commands(root, 6);
  Config c = Config::load_string(test::read_text(test::source_dir() + "/configs/test/tiny_audio.yaml"), "tiny_audio.yaml");
  c.apply_override("dataset.root_val=" + root);
  c.apply_override("audio_augmentation.torchaudio_save.encoding_dtype=int16");
  // Keyword clips only: silence slices are cut from noise files by the dataset, not from a file.
  auto index = load_dataset(c, Split::kValidation, 0);
  index.samples.erase(std::remove_if(index.samples.begin(), index.samples.end(),
                                     [](const SampleRef& s) { return s.offset >= 0; }),
                      index.samples.end());
  ASSERT_GT(index.size(), 1u);
  auto shared = std::make_shared<DatasetIndex>(index);
  BytePipeline pipe(BytePipelineOptions::from_config(c, Modality::kAudio, false), shared);
  for (size_t i = 0; i < index.size(); ++i) {
    torch::Generator g1 = make_generator(sample_seed(0, 0, static_cast<int64_t>(i)));
    torch::Generator g2 = make_generator(sample_seed(0, 0, static_cast<int64_t>(i)));
    const ByteSeq via_index = pipe(static_cast<int64_t>(i), g1).bytes;
    const ByteSeq via_bytes = pipe.prepare(read_file(index.samples[i].path), index.samples[i].path, g2);
    EXPECT_EQ(via_index, via_bytes) << index.samples[i].path;
    EXPECT_GT(via_bytes.size(), 2u * 2000u);  // 16-bit WAV of the fixed length (2000 frames)
  }
  std::filesystem::remove_all(root);
}

TEST(BytePipeline, PrepareWithoutDecodingRunsOnlyThePrivacyTransforms) {
  Config c = tiny_config();
  c.apply_override("image_augmentation.pil_save.enable=false");
  c.apply_override("image_augmentation.byte_permutation.enable=true");
  auto index = std::make_shared<DatasetIndex>();
  BytePipeline pipe(BytePipelineOptions::from_config(c, Modality::kImage, false), index);
  EXPECT_FALSE(pipe.decodes());
  torch::Generator gen = make_generator(1);
  const std::vector<uint8_t> bytes = {0, 1, 2, 255, 0};
  const ByteSeq out = pipe.prepare(bytes, "x.bin", gen);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0], out[4]);  // a permutation of byte values: equal in, equal out
  EXPECT_NE(out[1], out[2]);
  // Undecodable bytes with a decoding pipeline: an error naming the input.
  BytePipeline decoding(BytePipelineOptions::from_config(tiny_config(), Modality::kImage, false), index);
  try {
    decoding.prepare(bytes, "x.bin", gen);
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("x.bin"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace byteformer
