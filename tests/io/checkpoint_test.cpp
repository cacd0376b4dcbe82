// CoreNet .pt reader/writer: exact round trips, torch.save's record layout, untrusted input.
#include <gtest/gtest.h>
#include <torch/version.h>

#include <caffe2/serialize/inline_container.h>

#include <unistd.h>

#include <filesystem>
#include <random>

#include "byteformer/io/checkpoint.h"
#include "byteformer/io/pickle.h"
#include "test_util.h"

namespace byteformer {
namespace {

using namespace std::string_literals;  // pickles below contain NUL bytes

const std::string kFixtureModel = test::fixtures_dir() + "/corenet-tiny-k8-w32/model.pt";

StateDict sample_state() {
  torch::manual_seed(0);
  StateDict s;
  s.emplace_back("a.weight", torch::randn({3, 4}));
  s.emplace_back("b.double", torch::randn({2}, torch::kDouble));
  s.emplace_back("c.half", torch::randn({5}).to(torch::kHalf));
  s.emplace_back("d.bf16", torch::randn({2, 2}).to(torch::kBFloat16));
  s.emplace_back("e.long", torch::randint(-1000000000000LL, 1000000000000LL, {3}, torch::kLong));
  s.emplace_back("f.bool", torch::tensor({true, false, true}));
  s.emplace_back("g.scalar", torch::tensor(3.5f));
  s.emplace_back("h.empty", torch::zeros({0, 3}));
  s.emplace_back("i.transposed", torch::randn({4, 3}).t());  // non-contiguous in memory
  for (int i = 0; i < 12; ++i) s.emplace_back("j." + std::to_string(i), torch::randn({i + 1}));
  return s;
}

TEST(Checkpoint, RoundTripIsExact) {
  const auto state = sample_state();
  const auto bytes = serialize_state_dict(state);
  const auto back = load_state_dict_bytes(bytes, "<memory>");
  ASSERT_EQ(back.size(), state.size());
  for (size_t i = 0; i < state.size(); ++i) {
    EXPECT_EQ(back[i].first, state[i].first);
    EXPECT_EQ(back[i].second.scalar_type(), state[i].second.scalar_type()) << state[i].first;
    EXPECT_EQ(back[i].second.sizes(), state[i].second.sizes()) << state[i].first;
    EXPECT_TRUE(torch::equal(back[i].second, state[i].second)) << state[i].first;
  }
}

TEST(Checkpoint, ReadsCoreNetsFileAndWritesItBackIdentically) {
  const auto state = load_state_dict(kFixtureModel);
  EXPECT_EQ(state.size(), 169u);  // 171 records: data.pkl, 169 storages, version
  EXPECT_EQ(state.front().first, "embeddings.weight");
  EXPECT_EQ(state.front().second.sizes(), torch::IntArrayRef({257, 192}));
  const auto again = load_state_dict_bytes(serialize_state_dict(state), "<memory>");
  ASSERT_EQ(again.size(), state.size());
  for (size_t i = 0; i < state.size(); ++i) EXPECT_TRUE(torch::equal(again[i].second, state[i].second));
}

TEST(Checkpoint, ArchiveHasTorchSavesRecordLayout) {
  const auto bytes = serialize_state_dict(sample_state());
  // Local file headers in file order: archive/data.pkl, archive/data/<keys sorted as strings>,
  // archive/version (torch.save's order; records 64-byte aligned by PyTorchStreamWriter).
  auto u16 = [&](size_t p) { return static_cast<uint32_t>(bytes[p] | (bytes[p + 1] << 8)); };
  auto u32 = [&](size_t p) { return u16(p) | (u16(p + 2) << 16); };
  // Central directory (from the end-of-central-directory record): names in file order.
  size_t eocd = bytes.size() - 22;
  while (eocd > 0 && !(bytes[eocd] == 'P' && bytes[eocd + 1] == 'K' && bytes[eocd + 2] == 5 && bytes[eocd + 3] == 6)) --eocd;
  ASSERT_GT(eocd, 0u);
  std::vector<std::pair<uint32_t, std::string>> entries;
  size_t cd = u32(eocd + 16);
  for (uint32_t i = 0; i < u16(eocd + 10); ++i) {
    EXPECT_EQ(u16(cd + 10), 0u) << "records are stored, not compressed";
    const uint32_t n = u16(cd + 28), extra = u16(cd + 30), comment = u16(cd + 32), local = u32(cd + 42);
    entries.emplace_back(local, std::string(reinterpret_cast<const char*>(&bytes[cd + 46]), n));
    cd += 46 + n + extra + comment;
  }
  std::sort(entries.begin(), entries.end());
  std::vector<std::string> names;
  for (const auto& [local, name] : entries) {
    const size_t data = local + 30 + u16(local + 26) + u16(local + 28);
    EXPECT_EQ(data % 64, 0u) << name << " data is not 64-byte aligned";
    names.push_back(name);
  }
  std::vector<std::string> keys;
  for (int i = 0; i < 21; ++i) keys.push_back(std::to_string(i));
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> want{"archive/data.pkl"};
  for (const auto& k : keys) want.push_back("archive/data/" + k);
  want.push_back("archive/version");
#if TORCH_VERSION_MAJOR >= 2
  // LibTorch 2.x's PyTorchStreamWriter adds these two records, as torch 2.x's torch.save does.
  want.push_back("archive/byteorder");
  want.push_back("archive/.data/serialization_id");
#endif
  EXPECT_EQ(names, want);
  caffe2::serialize::PyTorchStreamReader reader(std::make_unique<std::istringstream>(std::string(bytes.begin(), bytes.end())).release());
  auto [ver, ver_size] = reader.getRecord("version");
  EXPECT_EQ(std::string(static_cast<const char*>(ver.get()), ver_size), "3\n");
}

TEST(Checkpoint, SaveIsAtomicAndLeavesNoTemporaryFiles) {
  const auto dir = test::make_temp_dir("ckpt");
  const auto path = dir + "/w.pt";
  save_state_dict(path, sample_state());
  save_state_dict(path, sample_state());  // overwrite
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  EXPECT_EQ(load_state_dict(path).size(), sample_state().size());
  std::filesystem::remove_all(dir);
}

TEST(Checkpoint, StaleTempFilesOfDeadWritersAreRemoved) {
  const std::string dir = test::make_temp_dir("stale");
  const std::vector<uint8_t> junk{1, 2, 3};
  test::write_bytes(dir + "/.checkpoint_last.pt.tmp-2147483646-3fa2", junk);  // no such pid
  test::write_bytes(dir + "/.training_state_last.pt.tmp-" + std::to_string(::getpid()) + "-b1", junk);  // ours
  test::write_bytes(dir + "/.checkpoint_best.pt.tmp-1-77", junk);  // pid 1 is alive: may be mid-write
  test::write_bytes(dir + "/checkpoint_last.pt", junk);
  test::write_bytes(dir + "/.other.tmp", junk);
  const auto removed = remove_stale_temp_files(dir);
  EXPECT_EQ(removed, (std::vector<std::string>{".checkpoint_last.pt.tmp-2147483646-3fa2",
                                               ".training_state_last.pt.tmp-" + std::to_string(::getpid()) + "-b1"}));
  for (const char* kept : {".checkpoint_best.pt.tmp-1-77", "checkpoint_last.pt", ".other.tmp"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + kept)) << kept;
  EXPECT_TRUE(remove_stale_temp_files(dir + "/nope").empty());
  std::filesystem::remove_all(dir);
}

#ifndef BYTEFORMER_TEST_PYTHON
#define BYTEFORMER_TEST_PYTHON "/usr/bin/python3"
#endif

// The Python with torch the interop tests use: Debian's python3-torch (1.13.1) for the Debian
// build, the PyPI torch's virtual environment (2.x) for `scripts/build.sh --torch pip`.
std::string torch_python() {
  const std::string py = BYTEFORMER_TEST_PYTHON;
  if (test::run_command(py + " -c 'import torch'").exit_code != 0)
    ADD_FAILURE() << py << " cannot import torch: run scripts/setup.sh (Debian's python3-torch) "
                  << "or scripts/setup.sh --torch pip";
  return py;
}

TEST(Checkpoint, PyTorchLoadsOurFile) {
  // torch.load with weights_only=True (torch 2.6's default; its restricted unpickler refuses
  // anything but tensors, dicts and a few types) + the shapes and values of every tensor, of
  // every dtype the writer handles (a non-contiguous one and an empty one among them).
  const std::string py = torch_python();
  const auto dir = test::make_temp_dir("pyload");
  const StateDict state = sample_state();
  save_state_dict(dir + "/w.pt", state);
  double ours = 0;
  for (const auto& kv : state) ours += kv.second.to(torch::kDouble).sum().item<double>();
  const std::string script =
      "import torch,sys\n"
      "sd = torch.load(sys.argv[1], weights_only=True)\n"
      "assert isinstance(sd, dict)\n"
      "print(len(sd), repr(sum(float(v.double().sum()) for v in sd.values())))\n"
      "print(list(sd.keys())[0], tuple(sd['i.transposed'].shape), sd['d.bf16'].dtype)\n";
  test::write_bytes(dir + "/check.py", std::vector<uint8_t>(script.begin(), script.end()));
  auto r = test::run_command(py + " " + dir + "/check.py " + dir + "/w.pt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream out(r.out);
  size_t n = 0;
  double sum = 0;
  std::string first, rest;
  out >> n >> sum >> first;
  std::getline(out, rest);
  EXPECT_EQ(n, state.size());
  EXPECT_NEAR(sum, ours, 1e-6 * std::abs(ours) + 1e-6);
  EXPECT_EQ(first, "a.weight");
  EXPECT_EQ(rest, " (3, 4) torch.bfloat16");
  std::filesystem::remove_all(dir);
}

TEST(Checkpoint, WeReadWhatPyTorchSaves) {
  // torch.save of a module's state_dict (an OrderedDict with _metadata) plus views that share
  // one storage at an offset or with transposed strides, an int64 and a 0-d float64 tensor.
  const std::string py = torch_python();
  const auto dir = test::make_temp_dir("pysave");
  const std::string script =
      "import torch,sys\n"
      "torch.manual_seed(0)\n"
      "sd = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2)).state_dict()\n"
      "base = torch.arange(24, dtype=torch.float32).reshape(4, 6)\n"
      "sd['base'] = base\n"
      "sd['slice'] = base[:, 2:4]\n"
      "sd['t'] = base.t()\n"
      "sd['ints'] = torch.arange(5, dtype=torch.int64) * 3\n"
      "sd['scalar'] = torch.tensor(2.5, dtype=torch.float64)\n"
      "torch.save(sd, sys.argv[1])\n"
      "for k, v in sd.items(): print(k, tuple(v.shape), repr(float(v.double().sum())))\n";
  test::write_bytes(dir + "/save.py", std::vector<uint8_t>(script.begin(), script.end()));
  auto r = test::run_command(py + " " + dir + "/save.py " + dir + "/theirs.pt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const StateDict sd = load_state_dict(dir + "/theirs.pt");
  std::istringstream out(r.out);
  std::string line;
  size_t i = 0;
  while (std::getline(out, line)) {
    ASSERT_LT(i, sd.size()) << line;
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    EXPECT_EQ(sd[i].first, key);
    const std::string rest = line.substr(key.size() + 1);
    const double sum = std::stod(rest.substr(rest.rfind(' ') + 1));
    EXPECT_NEAR(sd[i].second.to(torch::kDouble).sum().item<double>(), sum, 1e-6 * std::abs(sum) + 1e-6) << key;
    ++i;
  }
  EXPECT_EQ(i, sd.size());
  auto find = [&](const std::string& k) {
    for (const auto& kv : sd)
      if (kv.first == k) return kv.second;
    ADD_FAILURE() << "no key " << k;
    return torch::Tensor();
  };
  const auto base = torch::arange(24, torch::kFloat32).reshape({4, 6});
  EXPECT_TRUE(torch::equal(find("base"), base));
  EXPECT_TRUE(torch::equal(find("slice"), base.slice(1, 2, 4)));
  EXPECT_TRUE(torch::equal(find("t"), base.t()));
  EXPECT_TRUE(torch::equal(find("ints"), torch::arange(5, torch::kInt64) * 3));
  EXPECT_EQ(find("scalar").dim(), 0);
  EXPECT_EQ(find("scalar").scalar_type(), torch::kFloat64);
  EXPECT_EQ(find("scalar").item<double>(), 2.5);
  // The three share one storage in the file; loaded, none shares memory with another (the whole
  // storage's tensor takes the storage's memory, the views get copies).
  find("base").fill_(-1.f);
  EXPECT_TRUE(torch::equal(find("slice"), base.slice(1, 2, 4)));
  EXPECT_TRUE(torch::equal(find("t"), base.t()));
  std::filesystem::remove_all(dir);
}

// --- untrusted input --------------------------------------------------------------------------

std::string error_of(const std::vector<uint8_t>& bytes) {
  try {
    load_state_dict_bytes(bytes, "bad.pt");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

std::vector<uint8_t> archive_with_pickle(const std::vector<uint8_t>& pkl) {
  std::vector<uint8_t> out;
  caffe2::serialize::PyTorchStreamWriter w([&](const void* d, size_t n) {
    out.insert(out.end(), static_cast<const uint8_t*>(d), static_cast<const uint8_t*>(d) + n);
    return n;
  });
  w.writeRecord("data.pkl", pkl.data(), pkl.size());
  w.writeEndOfFile();
  return out;
}

TEST(CheckpointErrors, TruncatedArchivesAreClearErrors) {
  const auto good = test::read_bytes(kFixtureModel);
  for (size_t cut : {size_t{0}, size_t{10}, size_t{100}, good.size() / 3, good.size() / 2, good.size() - 100,
                     good.size() - 1}) {
    std::vector<uint8_t> bad(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
    const auto msg = error_of(bad);
    EXPECT_NE(msg.find("bad.pt"), std::string::npos) << "cut at " << cut << ": " << msg;
  }
}

TEST(CheckpointErrors, ForeignGlobalIsRefusedNotExecuted) {
  // pickle of os.system('touch x'): GLOBAL 'os system', a string, TUPLE1, REDUCE, STOP.
  const std::string p = "\x80\x02" "cos\nsystem\n" "X\x07\x00\x00\x00touch x" "\x85" "R."s;
  const auto msg = error_of(archive_with_pickle(std::vector<uint8_t>(p.begin(), p.end())));
  EXPECT_NE(msg.find("global 'os.system'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("byte offset 2"), std::string::npos) << msg;
  const std::string q = "\x80\x02" "cbuiltins\neval\n" "."s;
  EXPECT_NE(error_of(archive_with_pickle(std::vector<uint8_t>(q.begin(), q.end()))).find("builtins.eval"),
            std::string::npos);
}

TEST(CheckpointErrors, TruncatedPickleAndBadStoragesNameTheOffset) {
  const std::string p = "\x80\x02" "X\xff\x00\x00\x00" "abc"s;  // a string longer than the data
  EXPECT_NE(error_of(archive_with_pickle(std::vector<uint8_t>(p.begin(), p.end()))).find("truncated pickle"),
            std::string::npos);
  // A tensor that claims more elements than its storage record holds.
  const std::string q = "\x80\x02}(X\x01\x00\x00\x00w"s + "ctorch._utils\n_rebuild_tensor_v2\n"s +
                        "((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00"s + "0"s +
                        "X\x03\x00\x00\x00" "cpuKdtQK\x00Kd\x85K\x01\x85\x89}tRu."s;
  std::vector<uint8_t> out;
  {
    caffe2::serialize::PyTorchStreamWriter w([&](const void* d, size_t n) {
      out.insert(out.end(), static_cast<const uint8_t*>(d), static_cast<const uint8_t*>(d) + n);
      return n;
    });
    w.writeRecord("data.pkl", q.data(), q.size());
    std::vector<float> four(4, 1.f);
    w.writeRecord("data/0", four.data(), 16);
    w.writeEndOfFile();
  }
  const auto msg = error_of(out);
  EXPECT_NE(msg.find("storage record data/0 has 16 bytes, the pickle expects 100 x 4 bytes"), std::string::npos) << msg;
}

TEST(CheckpointErrors, RandomCorruptionNeverCrashes) {
  // Flip random bytes of CoreNet's file 300 times: every outcome is a load or a runtime_error.
  const auto good = test::read_bytes(kFixtureModel);
  std::mt19937 rng(7);
  int errors = 0;
  for (int round = 0; round < 300; ++round) {
    auto bad = good;
    // Half the rounds hit the pickle (the first 32 kB), the rest anywhere.
    const size_t span = round % 2 ? bad.size() : 32096;
    for (int k = 0; k < 1 + round % 5; ++k) bad[rng() % span] = static_cast<uint8_t>(rng());
    try {
      load_state_dict_bytes(bad, "bad.pt");
    } catch (const std::runtime_error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);
}

TEST(CheckpointErrors, FlippedBytesInATensorRecordFailItsCrc) {
  // LibTorch's zip reader does not check CRCs: without our check this file loaded silently and
  // gave other logits. Flip 50 bytes in the middle of a tensor record of a copy of CoreNet's file.
  auto bytes = test::read_bytes(kFixtureModel);
  std::string record;
  size_t offset = 0, size = 0;
  {
    caffe2::serialize::PyTorchStreamReader reader(kFixtureModel);
    for (const auto& name : reader.getAllRecords()) {  // the largest storage record
      if (name.rfind("data/", 0) != 0) continue;
      const size_t n = std::get<1>(reader.getRecord(name));
      if (n > size) record = name, size = n, offset = reader.getRecordOffset(name);
    }
  }
  ASSERT_GT(size, 1000u);
  for (size_t i = 0; i < 50; ++i) bytes[offset + size / 2 + 7 * i] ^= 0x5a;
  const std::string dir = test::make_temp_dir("crc");
  const std::string path = dir + "/flipped.pt";
  test::write_bytes(path, bytes);
  try {
    load_state_dict(path);
    FAIL() << "a corrupt tensor record loaded";
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path + ": record '" + record + "' fails its CRC-32 check"), std::string::npos) << msg;
  }
  // The pickle record is checked as well.
  bytes = test::read_bytes(kFixtureModel);
  size_t pkl_offset = 0;
  {
    caffe2::serialize::PyTorchStreamReader reader(kFixtureModel);
    pkl_offset = reader.getRecordOffset("data.pkl");
  }
  bytes[pkl_offset + 40] ^= 0x01;
  EXPECT_NE(error_of(bytes).find("record 'data.pkl' fails its CRC-32 check"), std::string::npos) << error_of(bytes);
  // Our own files carry correct CRCs and load.
  EXPECT_NO_THROW(load_state_dict_bytes(serialize_state_dict(sample_state()), "ours.pt"));
  std::filesystem::remove_all(dir);
}

// A record's inflated size is checked before it is inflated: against the storage the pickle
// says it backs, and against a bound on how much a record may inflate (a zip bomb).
TEST(CheckpointErrors, RecordSizesAreCheckedBeforeInflating) {
  const std::string dir = test::make_temp_dir("bomb");
  StateDict state;
  state.emplace_back("zeros", torch::zeros({4 << 20}));  // 16 MiB of zeros: deflates a thousandfold
  save_state_dict(dir + "/stored.pt", state);
  EXPECT_NO_THROW(load_state_dict(dir + "/stored.pt"));
  // The same archive with every record deflated (Python's zipfile keeps names and order).
  const std::string rezip = "import sys, zipfile\n"
                            "src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
                            "with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, 'w', zipfile.ZIP_DEFLATED) as b:\n"
                            "    for i in a.infolist():\n"
                            "        data = a.read(i.filename)\n"
                            "        if i.filename.endswith('/data/0') and n > 0: data = data[:n]\n"
                            "        if i.filename.endswith('/data/0') and n < 0: data = data + bytes(-n)\n"
                            "        b.writestr(i.filename, data)\n";
  test::write_bytes(dir + "/rezip.py", std::vector<uint8_t>(rezip.begin(), rezip.end()));
  auto r = test::run_command("python3 " + dir + "/rezip.py " + dir + "/stored.pt " + dir + "/bomb.pt 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(error_of(test::read_bytes(dir + "/bomb.pt")).find("record 'data/0' inflates"), std::string::npos)
      << error_of(test::read_bytes(dir + "/bomb.pt"));
  EXPECT_NE(error_of(test::read_bytes(dir + "/bomb.pt")).find("more than 64 times (a zip bomb?)"), std::string::npos);
  // A record longer than its storage: refused before it is inflated.
  r = test::run_command("python3 " + dir + "/rezip.py " + dir + "/stored.pt " + dir + "/long.pt -1000");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(error_of(test::read_bytes(dir + "/long.pt")).find("record 'data/0' holds 16778216 bytes, its storage is 16777216 bytes"),
            std::string::npos)
      << error_of(test::read_bytes(dir + "/long.pt"));
  // A shorter one: the unpickler names it and the offset.
  r = test::run_command("python3 " + dir + "/rezip.py " + dir + "/stored.pt " + dir + "/short.pt 1000");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(error_of(test::read_bytes(dir + "/short.pt")).find("storage record data/0 has 1000 bytes, the pickle expects 4194304 x 4 bytes"),
            std::string::npos)
      << error_of(test::read_bytes(dir + "/short.pt"));
  std::filesystem::remove_all(dir);
}

TEST(CheckpointErrors, MissingFileAndNonZip) {
  EXPECT_THROW(load_state_dict("/nonexistent/w.pt"), std::runtime_error);
  std::vector<uint8_t> junk(1000, 'x');
  EXPECT_NE(error_of(junk).find("not a valid torch.save archive"), std::string::npos) << error_of(junk);
}

}  // namespace
}  // namespace byteformer
