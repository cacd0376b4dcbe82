// `byteformer data file-types` (src/prepare/prepare_file_types.cpp, file_type_rules.cpp) on a
// hand-made fake root and fake dpkg `*.list` files: labels from extension or path confirmed by
// content, deduplication by SHA-256, the per-type cap, the split by package, determinism, the
// reuse of a complete corpus, the skipped kinds of file, and the real CLI.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "byteformer/prepare/file_type_conversions.h"
#include "byteformer/prepare/file_type_rules.h"
#include "byteformer/prepare/prepare_file_types.h"
#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

const std::string kPng("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
const std::string kElf("\x7f" "ELF\2\1\1\0\0\0\0\0\0\0\0\0", 16);

// A fake machine: ROOT/<path> files and INFO/<package>.list files naming them.
class FakeDebian {
 public:
  explicit FakeDebian(const std::string& tag) : dir_(test::make_temp_dir(tag)) {
    fs::create_directories(root());
    fs::create_directories(info());
  }
  std::string root() const { return dir_ + "/root"; }
  std::string info() const { return dir_ + "/info"; }
  std::string dir() const { return dir_; }

  // Writes ROOT/<path> and lists it (and its folder, as dpkg does) under `package`.
  void add(const std::string& package, const std::string& path, const std::string& bytes) {
    const fs::path full = fs::path(root()) / path.substr(1);
    fs::create_directories(full.parent_path());
    test::write_bytes(full.string(), std::vector<uint8_t>(bytes.begin(), bytes.end()));
    list(package, path);
  }
  void list(const std::string& package, const std::string& path) {
    lists_[package] += fs::path(path).parent_path().string() + "\n" + path + "\n";
    const std::string& text = lists_[package];
    test::write_bytes(info() + "/" + package + ".list", std::vector<uint8_t>(text.begin(), text.end()));
  }

 private:
  std::string dir_;
  std::map<std::string, std::string> lists_;
};

FileTypesOptions options_for(const FakeDebian& fake, const std::string& out) {
  FileTypesOptions o;
  o.out_dir = out;
  o.root = fake.root();
  o.dpkg_info_dir = fake.info();
  o.converted_up_to = 0;  // real files only, unless a test asks
  o.min_per_type = 0;     // every label, unless a test asks
  return o;
}

std::vector<nlohmann::json> read_manifest(const std::string& out) {
  std::vector<nlohmann::json> rows;
  const std::string text = test::read_text(out + "/manifest.jsonl");
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    rows.push_back(nlohmann::json::parse(text.substr(start, end - start)));
    start = end + 1;
  }
  return rows;
}

int64_t count(const FileTypesResult& r, const std::string& label) {
  auto it = r.counts.find(label);
  return it == r.counts.end() ? 0 : it->second[0] + it->second[1] + it->second[2];
}

TEST(FileTypeRules, LabelsFromNameExtensionShebangAndElfPath) {
  EXPECT_EQ(rule_for_path("/usr/share/x/logo.PNG")->label, "png");
  EXPECT_EQ(rule_for_path("/usr/lib/python3/a.py")->label, "python");
  EXPECT_EQ(rule_for_path("/usr/src/x/Makefile")->label, "makefile");
  EXPECT_EQ(rule_for_path("/usr/src/x/CMakeLists.txt")->label, "cmake");  // the name before ".txt"
  EXPECT_EQ(rule_for_path("/usr/share/doc/x/changelog.Debian.gz")->label, "gzip");
  EXPECT_EQ(rule_for_path("/usr/include/x.h"), nullptr);  // C or C++: left out
  EXPECT_EQ(rule_for_path("/usr/bin/tool"), nullptr);
  EXPECT_EQ(rule_for_head("/usr/bin/tool", "#!/usr/bin/env python3\nprint(1)\n")->label, "python");
  EXPECT_EQ(rule_for_head("/usr/sbin/tool", "#! /bin/sh -e\n")->label, "shell");
  EXPECT_EQ(rule_for_head("/usr/share/x/tool", "#!/bin/sh\n"), nullptr);  // not under bin/
  EXPECT_EQ(rule_for_head("/usr/lib/x86_64-linux-gnu/libz.so.1", kElf)->label, "elf");
  EXPECT_EQ(rule_for_head("/usr/share/x/blob", kElf), nullptr);
  EXPECT_EQ(rule_for_head("/usr/lib/x/data", "plain"), nullptr);

  EXPECT_TRUE(rule_for_path("a.png")->accepts(kPng));
  EXPECT_FALSE(rule_for_path("a.png")->accepts("GIF89a....."));
  EXPECT_TRUE(rule_for_path("a.json")->accepts(" {\"a\": 1}"));
  EXPECT_FALSE(rule_for_path("a.json")->accepts("a: 1"));
  EXPECT_TRUE(rule_for_path("a.svg")->accepts("<?xml version='1.0'?>\n<svg/>"));
  EXPECT_FALSE(rule_for_path("a.svg")->accepts("<?xml version='1.0'?>\n<html/>"));
}

TEST(FileTypeRules, EveryLabelIsAMagikaStandardV33Label) {
  // The target labels of Magika's standard_v3_3 model (assets/models/standard_v3_3/config.min.json
  // in github.com/google/magika), 214 names.
  const std::string magika =
    "3gp ace ai aidl apk applebplist appleplist asm asp autohotkey autoit awk batch bazel bib bmp "
    "bzip c cab cat chm clojure cmake cobol coff coffeescript cpp crt crx cs csproj css csv dart deb "
    "dex dicom diff dm dmg doc dockerfile docx dsstore dwg dxf elf elixir emf eml epub erb erlang "
    "flac flv fortran gemfile gemspec gif gitattributes gitmodules go gradle groovy gzip h5 "
    "handlebars haskell hcl hlp htaccess html icns ico ics ignorefile ini internetshortcut ipynb iso "
    "jar java javabytecode javascript jinja jp2 jpeg json jsonl julia kotlin latex lha lisp lnk lua "
    "m3u m4 macho makefile markdown matlab mht midi mkv mp3 mp4 mscompress msi mum npy npz nupkg "
    "objectivec ocaml odp ods odt ogg one onnx otf outlook parquet pascal pcap pdb pdf pebin pem perl "
    "php pickle png po postscript powershell ppt pptx prolog proteindb proto psd python "
    "pythonbytecode pytorch qt r randombytes randomtxt rar rdf rpm rst rtf ruby rust scala scss "
    "sevenzip sgml shell smali snap solidity sql sqlite squashfs srt stlbinary stltext sum svg swf "
    "swift tar tcl textproto tga thumbsdb tiff toml torrent tsv ttf twig txt typescript vba vcxproj "
    "verilog vhdl vtt vue wasm wav webm webp winregistry wmf woff woff2 xar xls xlsb xlsx xml xpi xz "
    "yaml yara zig zip zlibstream ";
  std::set<std::string> known;
  for (size_t start = 0; start < magika.size();) {
    const size_t end = magika.find(' ', start);
    known.insert(magika.substr(start, end - start));
    start = end + 1;
  }
  ASSERT_EQ(known.size(), 214u);
  std::set<std::string> ours;
  for (const FileTypeRule& r : file_type_rules()) {
    EXPECT_TRUE(known.count(r.label)) << r.label << " is not a Magika standard_v3_3 label";
    EXPECT_TRUE(ours.insert(r.label).second) << r.label << " has two rows";
    EXPECT_NE(r.accepts, nullptr) << r.label;
  }
  for (const FileTypeConversion& c : file_type_conversions()) EXPECT_TRUE(ours.count(c.label)) << c.label;
}

TEST(FileTypeRules, Utf8CheckRejectsMalformedSequencesAndNul) {
  EXPECT_TRUE(is_utf8_text("plain ascii\n"));
  EXPECT_TRUE(is_utf8_text("\xEF\xBB\xBF" "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_utf8_text(std::string("a\0b", 3)));
  EXPECT_FALSE(is_utf8_text("\xFF\xFE"));
  EXPECT_FALSE(is_utf8_text("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_utf8_text("\xE0\x80\xAF"));      // overlong, three bytes
  EXPECT_FALSE(is_utf8_text("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(is_utf8_text("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_utf8_text("caf\xC3"));           // cut short
}

TEST(FileTypes, LabelsAreConfirmedByContentAndOddFilesAreSkipped) {
  FakeDebian fake("ft_labels");
  fake.add("alpha", "/usr/share/alpha/logo.png", kPng + "one");
  fake.add("alpha", "/usr/share/alpha/fake.png", "this is not a PNG");
  fake.add("alpha", "/usr/lib/python3/alpha/good.py", "print('ok')\n");
  fake.add("alpha", "/usr/lib/python3/alpha/bad.py", "print('\xff\xfe')\n");
  fake.add("alpha", "/usr/include/alpha.h", "int f(void);\n");
  fake.add("alpha", "/usr/bin/alpha", kElf + "code");
  fake.add("alpha", "/usr/bin/alpha-run", "#!/usr/bin/python3\nimport alpha\n");
  fake.add("alpha", "/usr/share/alpha/empty.txt", "");
  fake.add("alpha", "/usr/share/alpha/huge.txt", std::string(4096, 'x'));
  // A symbolic link loop, a fifo and a listed file that is not there.
  const std::string share = fake.root() + "/usr/share/alpha";
  fs::create_symlink("loop_b.txt", share + "/loop_a.txt");
  fs::create_symlink("loop_a.txt", share + "/loop_b.txt");
  fake.list("alpha", "/usr/share/alpha/loop_a.txt");
  ASSERT_EQ(::mkfifo((share + "/pipe.txt").c_str(), 0600), 0);
  fake.list("alpha", "/usr/share/alpha/pipe.txt");
  fake.list("alpha", "/usr/share/alpha/gone.txt");

  FileTypesOptions o = options_for(fake, fake.dir() + "/out");
  o.max_file_bytes = 1024;
  const FileTypesResult r = prepare_file_types(o);
  EXPECT_EQ(count(r, "png"), 1);     // fake.png left out
  EXPECT_EQ(count(r, "python"), 2);  // good.py and the python3 script; bad.py left out
  EXPECT_EQ(count(r, "elf"), 1);
  EXPECT_EQ(count(r, "txt"), 0);
  EXPECT_EQ(r.counts.size(), 3u);
  EXPECT_EQ(r.skipped.at("content check failed"), 2);  // fake.png, bad.py
  EXPECT_EQ(r.skipped.at("no rule for its name or path"), 1);  // alpha.h
  EXPECT_EQ(r.skipped.at("empty file"), 1);
  EXPECT_EQ(r.skipped.at("over the size cap"), 1);
  EXPECT_EQ(r.skipped.at("symbolic link"), 1);
  EXPECT_EQ(r.skipped.at("not a regular file (fifo, device or socket)"), 1);
  EXPECT_EQ(r.skipped.at("listed but missing"), 1);

  std::set<std::string> sources;
  for (const auto& row : read_manifest(o.out_dir)) {
    sources.insert(row.at("source").get<std::string>());
    const std::string file = o.out_dir + "/" + row.at("file").get<std::string>();
    const auto bytes = test::read_bytes(file);
    EXPECT_EQ(sha256_hex(bytes.data(), bytes.size()), row.at("sha256").get<std::string>()) << file;
    EXPECT_EQ(static_cast<int64_t>(bytes.size()), row.at("size").get<int64_t>());
    EXPECT_EQ(row.at("package"), "alpha");
    EXPECT_EQ(row.at("converted"), false);
    EXPECT_EQ(fs::path(file).parent_path().filename().string(), row.at("label").get<std::string>());
  }
  EXPECT_EQ(sources, (std::set<std::string>{"/usr/share/alpha/logo.png", "/usr/lib/python3/alpha/good.py",
                                            "/usr/bin/alpha", "/usr/bin/alpha-run"}));
  // The original extension is kept.
  for (const auto& row : read_manifest(o.out_dir))
    if (row.at("label") == "png") EXPECT_EQ(fs::path(row.at("file").get<std::string>()).extension(), ".png");
}

TEST(FileTypes, DuplicatesKeepTheFirstSortedPathAndTheCapHolds) {
  FakeDebian fake("ft_dedupe");
  fake.add("zeta", "/usr/share/zeta/same.py", "x = 1\n");
  fake.add("beta", "/usr/share/beta/same.py", "x = 1\n");  // same bytes, sorts first
  for (int i = 0; i < 12; ++i)
    fake.add("pkg" + std::to_string(i), "/usr/share/doc/pkg" + std::to_string(i) + "/notes.txt",
             "notes " + std::to_string(i) + "\n");
  FileTypesOptions o = options_for(fake, fake.dir() + "/out");
  o.max_per_type = 5;
  const FileTypesResult r = prepare_file_types(o);
  EXPECT_EQ(count(r, "python"), 1);
  EXPECT_EQ(count(r, "txt"), 5);
  EXPECT_EQ(r.skipped.at("duplicate (same SHA-256 as an earlier path)"), 1);
  EXPECT_EQ(r.skipped.at("over the per-type cap"), 7);
  for (const auto& row : read_manifest(o.out_dir))
    if (row.at("label") == "python") {
      EXPECT_EQ(row.at("source"), "/usr/share/beta/same.py");
      EXPECT_EQ(row.at("package"), "beta");
    }
}

TEST(FileTypes, TheCapTakesFilesFromEveryPackageInTurn) {
  FakeDebian fake("ft_spread");
  for (int i = 0; i < 20; ++i) fake.add("big", "/usr/share/big/f" + std::to_string(i) + ".txt", "big " + std::to_string(i));
  for (int p = 0; p < 4; ++p)
    fake.add("small" + std::to_string(p), "/usr/share/small" + std::to_string(p) + "/a.txt", "small " + std::to_string(p));
  FileTypesOptions o = options_for(fake, fake.dir() + "/out");
  o.max_per_type = 8;
  prepare_file_types(o);
  std::map<std::string, int> per_package;
  for (const auto& row : read_manifest(o.out_dir)) ++per_package[row.at("package").get<std::string>()];
  // Round one takes a file of each of the 5 packages, rounds two to four the big one's.
  EXPECT_EQ(per_package, (std::map<std::string, int>{{"big", 4}, {"small0", 1}, {"small1", 1}, {"small2", 1},
                                                     {"small3", 1}}));
}

TEST(FileTypes, ScarceTypesAreMadeFromRealFilesOfTheSamePackage) {
  FakeDebian fake("ft_convert");
  for (int p = 0; p < 6; ++p)
    fake.add("doc" + std::to_string(p), "/usr/share/doc/doc" + std::to_string(p) + "/README.txt",
             "Read me " + std::to_string(p) + "\n" + std::string(200, 'a' + p));
  fake.add("doc0", "/usr/share/doc/doc0/table.csv", "name,size\nalpha,1\nbeta,22\n");
  FileTypesOptions o = options_for(fake, fake.dir() + "/out");
  o.converted_up_to = 4;
  const FileTypesResult r = prepare_file_types(o);
  std::map<std::string, std::string> split_of_package;
  for (const auto& row : read_manifest(o.out_dir))
    if (row.at("converted") == false) split_of_package[row.at("package")] = row.at("split");
  EXPECT_EQ(split_of_package.size(), 6u);
  std::map<std::string, int> made;
  for (const auto& row : read_manifest(o.out_dir)) {
    if (row.at("converted") == false) continue;
    const std::string label = row.at("label");
    ++made[label];
    EXPECT_FALSE(row.at("via").get<std::string>().empty());
    EXPECT_EQ(row.at("split"), split_of_package.at(row.at("package"))) << "a converted file left its package's split";
    const std::string file = o.out_dir + "/" + row.at("file").get<std::string>();
    const auto bytes = test::read_bytes(file);
    EXPECT_TRUE(rule_for_path(file)->accepts(std::string(bytes.begin(), bytes.end()))) << file;
    EXPECT_EQ(rule_for_path(file)->label, label) << file;
    // The made file holds its source's bytes.
    const std::string source = test::read_text(fake.root() + row.at("source").get<std::string>());
    if (label == "xz" || label == "bzip") {
      const auto plain = test::run_command((label == "xz" ? "xz -dc " : "bzip2 -dc ") + file);
      EXPECT_EQ(plain.out, source) << file;
    }
    if (label == "tar") {
      const auto plain = test::run_command("tar -xOf " + file);
      EXPECT_EQ(plain.out, source) << file;
    }
    if (label == "zip") {
      const auto plain = test::run_command("python3 -c \"import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); "
                                           "sys.stdout.write(z.read(z.namelist()[0]).decode())\" " + file);
      EXPECT_EQ(plain.out, source) << file;
    }
    if (label == "sqlite") {
      const auto rows = test::run_command("sqlite3 " + file + " 'SELECT name, size FROM t'");
      EXPECT_EQ(rows.out, "alpha|1\nbeta|22\n") << file;
    }
  }
  std::map<std::string, int> expected = {{"xz", 4}, {"bzip", 4}, {"tar", 4}, {"zip", 4}, {"sqlite", 1}};
  for (const auto& [label, n] : expected) {
    std::string program;
    for (const auto& c : file_type_conversions())
      if (c.label == label) program = c.program;
    if (r.missing_tools.count(program)) continue;  // not installed here: nothing to check
    EXPECT_EQ(made[label], n) << label;
    EXPECT_EQ(r.converted.at(label), n) << label;
  }
  EXPECT_EQ(made["txt"], 0);
  EXPECT_FALSE(fs::exists(o.out_dir + "/.convert-tmp"));

  // Made again: the same bytes.
  FileTypesOptions again = o;
  again.out_dir = fake.dir() + "/again";
  prepare_file_types(again);
  EXPECT_EQ(test::read_text(o.out_dir + "/manifest.jsonl"), test::read_text(again.out_dir + "/manifest.jsonl"));
}

TEST(FileTypes, HardLinksAreTheInstalledFiles) {
  FakeDebian fake("ft_link");
  fake.add("alpha", "/usr/share/alpha/logo.png", kPng + "one");
  fake.add("alpha", "/usr/share/alpha/notes.txt", "notes\n");
  FileTypesOptions o = options_for(fake, fake.dir() + "/out");
  o.hard_link = true;
  const FileTypesResult r = prepare_file_types(o);
  EXPECT_EQ(r.hard_links, 2);
  for (const auto& row : read_manifest(o.out_dir)) {
    struct stat a {}, b {};
    ASSERT_EQ(::stat((o.out_dir + "/" + row.at("file").get<std::string>()).c_str(), &a), 0);
    ASSERT_EQ(::stat((fake.root() + row.at("source").get<std::string>()).c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino) << row.at("file");
  }
  // Copies by default: other inodes, and a reuse check that counts either.
  EXPECT_TRUE(prepare_file_types(o).reused);
  o.hard_link = false;
  const FileTypesResult copied = prepare_file_types(o);
  EXPECT_FALSE(copied.reused);
  EXPECT_EQ(copied.hard_links, 0);
  for (const auto& row : read_manifest(o.out_dir)) {
    struct stat a {}, b {};
    ASSERT_EQ(::stat((o.out_dir + "/" + row.at("file").get<std::string>()).c_str(), &a), 0);
    ASSERT_EQ(::stat((fake.root() + row.at("source").get<std::string>()).c_str(), &b), 0);
    EXPECT_NE(a.st_ino, b.st_ino) << row.at("file");
  }
}

// 60 packages of a few files each, some contents shared between packages.
void add_many_packages(FakeDebian& fake) {
  for (int p = 0; p < 60; ++p) {
    const std::string pkg = "lib" + std::to_string(p) + "-perl";
    const std::string dir = "/usr/share/perl5/P" + std::to_string(p);
    fake.add(pkg, dir + "/Mod.pm", "package P" + std::to_string(p) + ";\n1;\n");
    fake.add(pkg, dir + "/icon.png", kPng + std::to_string(p % 45));  // 15 shared with another package
    fake.add(pkg, "/usr/share/doc/" + pkg + "/changelog.gz", "\x1f\x8b\x08" + std::to_string(p));
  }
}

TEST(FileTypes, SplitByPackageNoShaInTwoSplitsAndDeterministic) {
  FakeDebian fake("ft_split");
  add_many_packages(fake);
  FileTypesOptions a = options_for(fake, fake.dir() + "/a");
  FileTypesOptions b = options_for(fake, fake.dir() + "/b");
  const FileTypesResult ra = prepare_file_types(a);
  const FileTypesResult rb = prepare_file_types(b);
  EXPECT_EQ(test::read_text(a.out_dir + "/manifest.jsonl"), test::read_text(b.out_dir + "/manifest.jsonl"));
  EXPECT_EQ(ra.counts, rb.counts);
  EXPECT_EQ(count(ra, "png"), 45);
  EXPECT_EQ(count(ra, "perl"), 60);
  EXPECT_EQ(count(ra, "gzip"), 60);

  std::map<std::string, std::string> split_of_package, split_of_sha;
  std::map<std::string, int> per_split;
  for (const auto& row : read_manifest(a.out_dir)) {
    const std::string split = row.at("split");
    EXPECT_EQ(row.at("file").get<std::string>().rfind(split + "/", 0), 0u);
    auto [pit, pnew] = split_of_package.emplace(row.at("package"), split);
    EXPECT_EQ(pit->second, split) << "package " << row.at("package") << " in two splits";
    auto [sit, snew] = split_of_sha.emplace(row.at("sha256"), split);
    EXPECT_TRUE(snew) << "sha256 " << row.at("sha256") << " twice";
    ++per_split[split];
  }
  EXPECT_EQ(split_of_package.size(), 60u);
  EXPECT_GT(per_split["train"], per_split["test"]);
  EXPECT_GT(per_split["test"], 0);

  // Another seed, another split of the same packages.
  FileTypesOptions c = options_for(fake, fake.dir() + "/c");
  c.seed = 7;
  prepare_file_types(c);
  EXPECT_NE(test::read_text(a.out_dir + "/manifest.jsonl"), test::read_text(c.out_dir + "/manifest.jsonl"));
}

TEST(FileTypes, SplitGivesEachTypeItsSharesByPackage) {
  // 400 packages: "big" types in many packages of 1 to 9 files, each package also carrying one
  // "mixed" file; "solo" in one package only; "pair" in two.
  std::vector<std::pair<std::string, std::string>> rows;
  for (int p = 0; p < 400; ++p) {
    const std::string pkg = "package" + std::to_string(p);
    for (int k = 0; k < 1 + p % 9; ++k) rows.emplace_back(pkg, p % 2 ? "big_odd" : "big_even");
    rows.emplace_back(pkg, "mixed");
  }
  for (int k = 0; k < 50; ++k) rows.emplace_back("solo_package", "solo");
  for (int k = 0; k < 30; ++k) rows.emplace_back(k % 2 ? "pair_a" : "pair_b", "pair");
  const auto split = file_types_package_splits(rows, kFileTypesSplitSeed, 0.05, 0.15);
  EXPECT_EQ(split.size(), 403u);
  std::map<std::string, std::array<int, 3>> n;
  for (const auto& [pkg, label] : rows) ++n[label][static_cast<size_t>(split.at(pkg))];
  for (const char* label : {"big_odd", "big_even", "mixed"}) {
    const auto& c = n[label];
    const double total = c[0] + c[1] + c[2];
    // Within a share point of 80/5/15 (a greedy placement of packages of up to 10 files).
    EXPECT_NEAR(c[0] / total, 0.80, 0.01) << label;
    EXPECT_NEAR(c[1] / total, 0.05, 0.01) << label;
    EXPECT_NEAR(c[2] / total, 0.15, 0.01) << label;
  }
  EXPECT_EQ(n["solo"][0], 50) << "a type in one package stays whole, in train";
  // Two packages of 15: both in train (all of it is 20 points off 80%, half of it 30 points).
  EXPECT_EQ(n["pair"][0], 30);

  // The same pairs in another order: the same split; another seed may differ only in ties.
  std::vector<std::pair<std::string, std::string>> reversed(rows.rbegin(), rows.rend());
  EXPECT_EQ(file_types_package_splits(reversed, kFileTypesSplitSeed, 0.05, 0.15), split);
  // No val wanted: no package in val.
  for (const auto& [pkg, s] : file_types_package_splits(rows, kFileTypesSplitSeed, 0.0, 0.2)) EXPECT_NE(s, 1) << pkg;
}

TEST(FileTypes, TypesWithTooFewFilesAreLeftOutAndNamed) {
  FakeDebian fake("ft_few");
  add_many_packages(fake);
  FileTypesOptions o = options_for(fake, fake.dir() + "/out");
  o.min_per_type = 50;  // png has 45 files, perl and gzip 60
  const FileTypesResult r = prepare_file_types(o);
  EXPECT_EQ(r.counts.count("png"), 0u);
  EXPECT_EQ(count(r, "perl"), 60);
  EXPECT_EQ(r.too_few, (std::map<std::string, int64_t>{{"png", 45}}));
  for (const auto& row : read_manifest(o.out_dir)) EXPECT_NE(row.at("label"), "png");
  EXPECT_EQ(prepare_file_types(o).too_few, r.too_few) << "a reused corpus names them too";
}

TEST(FileTypes, CompleteCorpusIsReusedAndAnIncompleteOneRewritten) {
  FakeDebian fake("ft_reuse");
  add_many_packages(fake);
  FileTypesOptions o = options_for(fake, fake.dir() + "/out");
  const FileTypesResult first = prepare_file_types(o);
  EXPECT_FALSE(first.reused);
  const std::string manifest = test::read_text(o.out_dir + "/manifest.jsonl");

  const FileTypesResult again = prepare_file_types(o);
  EXPECT_TRUE(again.reused);
  EXPECT_EQ(again.counts, first.counts);
  EXPECT_EQ(again.skipped, first.skipped);

  // A file removed: rewritten, the same corpus again.
  const auto rows = read_manifest(o.out_dir);
  fs::remove(o.out_dir + "/" + rows.front().at("file").get<std::string>());
  const FileTypesResult rewritten = prepare_file_types(o);
  EXPECT_FALSE(rewritten.reused);
  EXPECT_EQ(test::read_text(o.out_dir + "/manifest.jsonl"), manifest);
  EXPECT_TRUE(fs::exists(o.out_dir + "/" + rows.front().at("file").get<std::string>()));

  // Other options, or another installed package: rewritten.
  o.max_per_type = 10;
  EXPECT_FALSE(prepare_file_types(o).reused);
  EXPECT_TRUE(prepare_file_types(o).reused);
  fake.add("newcomer", "/usr/share/newcomer/a.py", "y = 2\n");
  const FileTypesResult more = prepare_file_types(o);
  EXPECT_FALSE(more.reused);
  EXPECT_EQ(count(more, "python"), 1);
}

TEST(FileTypes, BadInputIsAnErrorNamingIt) {
  FakeDebian fake("ft_errors");
  FileTypesOptions o = options_for(fake, fake.dir() + "/out");
  try {
    prepare_file_types(o);  // no .list files
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(fake.info()), std::string::npos) << e.what();
  }
  o.dpkg_info_dir = fake.dir() + "/nowhere";
  try {
    prepare_file_types(o);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("nowhere"), std::string::npos) << e.what();
  }
  o = options_for(fake, fake.dir() + "/out");
  o.max_per_type = 0;
  EXPECT_THROW(prepare_file_types(o), std::invalid_argument);
}

TEST(FileTypesCli, WritesTheCorpusAndPrintsTheTable) {
  FakeDebian fake("ft_cli");
  add_many_packages(fake);
  const std::string out = fake.dir() + "/out";
  const std::string cmd = test::cli_path() + " data file-types --out " + out + " --root " + fake.root() +
                          " --dpkg-info " + fake.info() + " --max-per-type 40 --converted-up-to 0 --min-per-type 0";
  const auto r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("label"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 types"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("skipped 45: over the per-type cap"), std::string::npos) << r.out;  // 60 + 45 + 60 - 3 * 40
  EXPECT_EQ(read_manifest(out).size(), 40u + 40u + 40u);
  // The cap's choice of packages is independent of the split: capped types reach every split.
  std::map<std::string, std::set<std::string>> splits_of_label;
  for (const auto& row : read_manifest(out)) splits_of_label[row.at("label")].insert(row.at("split"));
  for (const auto& [label, splits] : splits_of_label) EXPECT_EQ(splits.size(), 3u) << label;
  const auto again = test::run_command(cmd);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("reusing"), std::string::npos) << again.out;
  const auto bad = test::run_command(test::cli_path() + " data file-types --out " + out + " --max-per-type 0");
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
}

}  // namespace
}  // namespace byteformer
