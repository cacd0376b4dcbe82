#include "byteformer/io/checkpoint.h"

#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <signal.h>
#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <stdexcept>

#include "byteformer/io/file.h"
#include "byteformer/io/pickle.h"

namespace byteformer {

namespace {

class MemoryReadAdapter final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit MemoryReadAdapter(const std::vector<uint8_t>& bytes) : bytes_(bytes) {}
  size_t size() const override { return bytes_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= bytes_.size()) return 0;
    n = std::min<size_t>(n, bytes_.size() - pos);
    std::memcpy(buf, bytes_.data() + pos, n);
    return n;
  }

 private:
  const std::vector<uint8_t>& bytes_;
};

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

uint64_t read_le(const std::vector<uint8_t>& z, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | z[pos + static_cast<size_t>(i)];
  return v;
}

// What the zip's central directory records for every entry, keyed by the record name without
// the archive's top folder ("data.pkl", "data/0"): its CRC-32 and its sizes. LibTorch's reader
// checks neither (its miniz is built with MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS), so a file with
// flipped bytes inside a tensor would load silently, and a record that inflates to gigabytes
// would be inflated. Called after PyTorchStreamReader accepted the archive, so the directory is
// known to be where the end record says; every read is still bounds-checked (untrusted input).
// Zip64 directories and sizes (archives over 4 GiB) are followed.
struct RecordEntry {
  uint32_t crc = 0;
  uint64_t compressed = 0;
  uint64_t size = 0;  // inflated
};

std::map<std::string, RecordEntry> record_entries(const std::vector<uint8_t>& z, const std::string& source) {
  auto fail = [&](const std::string& why) -> std::runtime_error {
    return std::runtime_error(fmt::format("{}: corrupt zip central directory: {}", source, why));
  };
  constexpr size_t kEndSize = 22;
  if (z.size() < kEndSize) throw fail("file too short");
  size_t end = z.size() - kEndSize;
  const size_t stop = end > 65535 ? end - 65535 : 0;
  while (read_le(z, end, 4) != 0x06054b50) {
    if (end == stop) throw fail("no end-of-central-directory record");
    --end;
  }
  uint64_t entries = read_le(z, end + 10, 2);
  uint64_t dir = read_le(z, end + 16, 4);
  if ((dir == 0xFFFFFFFFu || entries == 0xFFFF) && end >= 20 && read_le(z, end - 20, 4) == 0x07064b50) {
    const uint64_t rec = read_le(z, end - 20 + 8, 8);
    if (z.size() < 56 || rec > z.size() - 56 || read_le(z, rec, 4) != 0x06064b50) throw fail("bad zip64 end record");
    entries = read_le(z, rec + 32, 8);
    dir = read_le(z, rec + 48, 8);
  }
  std::map<std::string, RecordEntry> entries_by_name;
  size_t pos = dir;
  for (uint64_t i = 0; i < entries; ++i) {
    if (pos > z.size() || z.size() - pos < 46 || read_le(z, pos, 4) != 0x02014b50)
      throw fail(fmt::format("entry {} at byte offset {} is not a central directory header", i, pos));
    RecordEntry e;
    e.crc = static_cast<uint32_t>(read_le(z, pos + 16, 4));
    e.compressed = read_le(z, pos + 20, 4);
    e.size = read_le(z, pos + 24, 4);
    const size_t name_len = read_le(z, pos + 28, 2), extra_len = read_le(z, pos + 30, 2),
                 comment_len = read_le(z, pos + 32, 2);
    if (z.size() - pos - 46 < name_len + extra_len + comment_len)
      throw fail(fmt::format("entry {} at byte offset {} runs past the end of the file", i, pos));
    // Zip64: the sizes that read 0xFFFFFFFF follow in the extra field 0x0001, inflated first.
    for (size_t x = pos + 46 + name_len, x_end = x + extra_len; x + 4 <= x_end;) {
      const uint64_t id = read_le(z, x, 2), len = read_le(z, x + 2, 2);
      if (len > x_end - x - 4) throw fail(fmt::format("entry {}: extra field runs past its end", i));
      size_t at = x + 4;
      if (id == 0x0001) {
        if (e.size == 0xFFFFFFFFu && at + 8 <= x + 4 + len) e.size = read_le(z, at, 8), at += 8;
        if (e.compressed == 0xFFFFFFFFu && at + 8 <= x + 4 + len) e.compressed = read_le(z, at, 8);
      }
      x += 4 + len;
    }
    std::string name(reinterpret_cast<const char*>(z.data() + pos + 46), name_len);
    const auto slash = name.find('/');
    entries_by_name[slash == std::string::npos ? name : name.substr(slash + 1)] = e;
    pos += 46 + name_len + extra_len + comment_len;
  }
  return entries_by_name;
}

uint32_t crc32_of(const void* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (size > 0) {  // zlib takes at most 4 GiB a call
    const auto n = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, p, n);
    p += n, size -= n;
  }
  return static_cast<uint32_t>(crc);
}

// torch.save stores its records without compression; a compressed record may inflate to at most
// this many times its stored size (a zip bomb inflates a thousandfold).
constexpr uint64_t kMaxInflation = 64;

/// A record's bytes, after checking its inflated size (not above `expected_size` when given, and
/// against kMaxInflation) before it is inflated, and its bytes against the CRC-32 the archive
/// stores for them.
std::tuple<at::DataPtr, size_t> checked_record(caffe2::serialize::PyTorchStreamReader& reader,
                                               const std::map<std::string, RecordEntry>& entries,
                                               const std::string& name, const std::string& source,
                                               std::optional<uint64_t> expected_size = std::nullopt) {
  const auto it = entries.find(name);
  if (it == entries.end())
    throw std::runtime_error(fmt::format("{}: record '{}' is not in the zip central directory", source, name));
  const RecordEntry& e = it->second;
  // Larger than its storage: refused before it is inflated. A shorter one is read (it is small)
  // and the unpickler names its byte offset.
  if (expected_size && e.size > *expected_size)
    throw std::runtime_error(fmt::format("{}: record '{}' holds {} bytes, its storage is {} bytes", source, name,
                                         e.size, *expected_size));
  if (e.size > std::max<uint64_t>(e.compressed, 1) * kMaxInflation && e.size > (uint64_t{1} << 20))
    throw std::runtime_error(fmt::format("{}: record '{}' inflates {} bytes to {}: more than {} times (a zip bomb?)",
                                         source, name, e.compressed, e.size, kMaxInflation));
  auto record = reader.getRecord(name);
  const uint32_t got = crc32_of(std::get<0>(record).get(), std::get<1>(record));
  if (got != e.crc)
    throw std::runtime_error(fmt::format("{}: record '{}' fails its CRC-32 check (stored {:08x}, computed {:08x}): "
                                         "the file is corrupt",
                                         source, name, e.crc, got));
  return record;
}

StateDict to_state_dict(const pickle::ValuePtr& root, const std::string& source) {
  using Kind = pickle::Value::Kind;
  if (root->kind != Kind::kDict) throw std::runtime_error(fmt::format("{}: expected a state_dict (a dict), got a {}", source, root->kind_name()));
  pickle::ValuePtr dict = root;
  // A CoreNet training checkpoint nests the weights.
  for (const auto& [k, v] : root->dict) {
    if (k->kind == Kind::kString && (k->s == "model_state_dict" || k->s == "state_dict") && v->kind == Kind::kDict) {
      dict = v;
      break;
    }
  }
  StateDict out;
  std::set<std::string> names;
  for (const auto& [k, v] : dict->dict) {
    if (k->kind != Kind::kString) throw std::runtime_error(fmt::format("{}: state_dict key is a {}, expected str", source, k->kind_name()));
    std::string name = k->s;
    if (name.rfind("module.", 0) == 0) name = name.substr(7);  // saved from DistributedDataParallel
    if (v->kind != Kind::kTensor)
      throw std::runtime_error(fmt::format("{}: key '{}' holds a {}, expected a tensor", source, k->s, v->kind_name()));
    if (!names.insert(name).second) throw std::runtime_error(fmt::format("{}: key '{}' appears twice", source, name));
    out.emplace_back(name, v->tensor);
  }
  return out;
}

StateDict read_archive(caffe2::serialize::PyTorchStreamReader& reader, const std::vector<uint8_t>& bytes,
                       const std::string& source) {
  if (!reader.hasRecord("data.pkl")) throw std::runtime_error(fmt::format("{}: archive has no data.pkl record: not a torch.save file", source));
  const auto entries = record_entries(bytes, source);
  auto [pkl, pkl_size] = checked_record(reader, entries, "data.pkl", source);
  std::vector<uint8_t> pickle_bytes(static_cast<const uint8_t*>(pkl.get()), static_cast<const uint8_t*>(pkl.get()) + pkl_size);
  pickle::StorageLoader loader = [&](const std::string& key, uint64_t expected_bytes) {
    if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos)
      throw std::runtime_error(fmt::format("{}: invalid storage key '{}'", source, key));
    const std::string record = "data/" + key;
    if (!reader.hasRecord(record)) throw std::runtime_error(fmt::format("{}: missing storage record '{}'", source, record));
    auto [ptr, size] = checked_record(reader, entries, record, source, expected_bytes);
    auto owner = std::make_shared<at::DataPtr>(std::move(ptr));  // the record's bytes, not copied again
    return std::make_pair(std::shared_ptr<const void>(owner, owner->get()), size);
  };
  auto root = pickle::unpickle(pickle_bytes.data(), pickle_bytes.size(), loader, source);
  return to_state_dict(root, source);
}

}  // namespace

StateDict load_state_dict_bytes(const std::vector<uint8_t>& bytes, const std::string& source) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(std::make_shared<MemoryReadAdapter>(bytes));
    return read_archive(reader, bytes, source);
  } catch (const c10::Error& e) {
    throw std::runtime_error(fmt::format("{}: not a valid torch.save archive (zip): {}", source, first_line(e.what_without_backtrace())));
  } catch (const std::bad_alloc&) {
    throw std::runtime_error(fmt::format("{}: a record claims more memory than is available (corrupt archive?)", source));
  }
}

StateDict load_state_dict(const std::string& path) {
  if (std::filesystem::is_directory(path))
    throw std::runtime_error(fmt::format("{}: is a directory, expected a checkpoint file (.pt)", path));
  const std::vector<uint8_t> bytes = read_file(path);
  if (bytes.size() < 22) throw std::runtime_error(fmt::format("{}: {} bytes is too short for a torch.save archive", path, bytes.size()));
  return load_state_dict_bytes(bytes, path);
}

std::vector<uint8_t> serialize_state_dict(const StateDict& state) {
  std::vector<pickle::TensorRecord> records;
  for (size_t i = 0; i < state.size(); ++i) {
    auto t = state[i].second.detach().to(torch::kCPU).contiguous();
    records.push_back({state[i].first, t, std::to_string(i)});
  }
  const auto pkl = pickle::pickle_state_dict(records);
  std::vector<uint8_t> out;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t n) {
    out.insert(out.end(), static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + n);
    return n;
  });
  writer.writeRecord("data.pkl", pkl.data(), pkl.size());
  // torch.save writes the storages sorted by key as strings ("0", "1", "10", ...).
  std::vector<const pickle::TensorRecord*> order;
  for (const auto& r : records) order.push_back(&r);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->key < b->key; });
  for (const auto* r : order) writer.writeRecord("data/" + r->key, r->tensor.data_ptr(), r->tensor.nbytes());
  writer.writeEndOfFile();  // the `version` record
  return out;
}

void save_state_dict(const std::string& path, const StateDict& state) {
  const auto bytes = serialize_state_dict(state);
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace byteformer
