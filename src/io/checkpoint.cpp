#include "byteformer/io/checkpoint.h"

#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <stdexcept>

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

StateDict read_archive(caffe2::serialize::PyTorchStreamReader& reader, const std::string& source) {
  if (!reader.hasRecord("data.pkl")) throw std::runtime_error(fmt::format("{}: archive has no data.pkl record: not a torch.save file", source));
  auto [pkl, pkl_size] = reader.getRecord("data.pkl");
  std::vector<uint8_t> pickle_bytes(static_cast<const uint8_t*>(pkl.get()), static_cast<const uint8_t*>(pkl.get()) + pkl_size);
  pickle::StorageLoader loader = [&](const std::string& key) {
    if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos)
      throw std::runtime_error(fmt::format("{}: invalid storage key '{}'", source, key));
    const std::string record = "data/" + key;
    if (!reader.hasRecord(record)) throw std::runtime_error(fmt::format("{}: missing storage record '{}'", source, record));
    auto [ptr, size] = reader.getRecord(record);
    auto bytes = std::make_shared<std::vector<uint8_t>>(static_cast<const uint8_t*>(ptr.get()),
                                                        static_cast<const uint8_t*>(ptr.get()) + size);
    return std::make_pair(std::shared_ptr<const std::vector<uint8_t>>(bytes), size);
  };
  auto root = pickle::unpickle(pickle_bytes.data(), pickle_bytes.size(), loader, source);
  return to_state_dict(root, source);
}

}  // namespace

StateDict load_state_dict_bytes(const std::vector<uint8_t>& bytes, const std::string& source) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(std::make_shared<MemoryReadAdapter>(bytes));
    return read_archive(reader, source);
  } catch (const c10::Error& e) {
    throw std::runtime_error(fmt::format("{}: not a valid torch.save archive (zip): {}", source, first_line(e.what_without_backtrace())));
  } catch (const std::bad_alloc&) {
    throw std::runtime_error(fmt::format("{}: a record claims more memory than is available (corrupt archive?)", source));
  }
}

StateDict load_state_dict(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open checkpoint: {}", path, std::strerror(errno)));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
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

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::random_device rd;
  const fs::path tmp = dir / fmt::format(".{}.tmp-{}-{:x}", target.filename().string(), ::getpid(), rd());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot create {}: {}", path, tmp.string(), std::strerror(errno)));
  const auto* p = static_cast<const uint8_t*>(data);
  size_t left = size;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error(fmt::format("{}: write failed: {}", path, std::strerror(err)));
    }
    p += n, left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: fsync/close failed: {}", path, std::strerror(err)));
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: rename failed: {}", path, std::strerror(err)));
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void save_state_dict(const std::string& path, const StateDict& state) {
  const auto bytes = serialize_state_dict(state);
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace byteformer
