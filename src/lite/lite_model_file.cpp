// The `.bfm` model file (docs/LITE.md): written by hand, as it is our own format, a JSON header
// (nlohmann) and raw little-endian float32 tensors that a reader takes without any parsing.
#include "lite/lite_model_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "byteformer/io/file.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the model file is little-endian; so must the host be");

namespace byteformer {

namespace {

constexpr char kMagic[8] = {'B', 'F', 'M', 'O', 'D', 'E', 'L', '1'};
constexpr uint64_t kAlign = 64;
constexpr int kMaxJsonDepth = 16;
constexpr int64_t kFormatVersion = 1;
constexpr const char* kFormatName = "byteformer-lite";

// Bounds a model file may declare (generous: the shipped model is far inside them).
constexpr int64_t kMaxEmbedDim = 4096;
constexpr int64_t kMaxFfnDim = 65536;
constexpr int64_t kMaxLayers = 64;
constexpr int64_t kMaxKernel = 1024;
constexpr int64_t kMaxTokens = int64_t{1} << 20;
constexpr int64_t kMaxVocab = 65536;
constexpr int64_t kMaxClasses = 100000;
constexpr double kMaxElements = double(int64_t{1} << 28);  // 1 GiB of float32

uint64_t align_up(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw std::runtime_error(fmt::format("{}: {}", name, what));
}

double element_count(const LiteArchitecture& a) {
  const double C = double(a.embed_dim), F = double(a.ffn_dim);
  double n = double(a.vocab_size) * C + C * C * double(a.conv_kernel_size) + double(a.max_num_tokens) * C;
  n += double(a.num_layers) * (4 * C + 3 * C * C + 3 * C + C * C + C + C * F + F + F * C + C);
  for (bool d : a.downsample) n += d ? 2 * C * C + 2 * C : 0;
  return n + 2 * C + double(a.n_classes) * (C + 1);
}

}  // namespace

int64_t LiteArchitecture::tokens_after_conv(int64_t num_bytes) const {
  if (num_bytes <= 0) throw std::invalid_argument("input has no bytes");
  if (num_bytes < conv_kernel_size) return 1;
  return (num_bytes - conv_kernel_size) / conv_stride + 1;
}

int64_t LiteArchitecture::max_input_bytes() const { return conv_kernel_size + max_num_tokens * conv_stride - 1; }

void LiteArchitecture::validate(const std::string& where) const {
  auto check = [&](const char* key, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) fail(where, fmt::format("architecture.{} = {}: expected {} to {}", key, v, lo, hi));
  };
  check("vocab_size", vocab_size, 257, kMaxVocab);
  check("embed_dim", embed_dim, 1, kMaxEmbedDim);
  check("num_heads", num_heads, 1, embed_dim);
  if (embed_dim % num_heads != 0)
    fail(where, fmt::format("architecture.num_heads = {}: expected a divisor of embed_dim {}", num_heads, embed_dim));
  check("ffn_dim", ffn_dim, 1, kMaxFfnDim);
  check("num_layers", num_layers, 1, kMaxLayers);
  check("conv_kernel_size", conv_kernel_size, 1, kMaxKernel);
  check("conv_stride", conv_stride, 1, conv_kernel_size);
  check("max_num_tokens", max_num_tokens, 1, kMaxTokens);
  check("n_classes", n_classes, 1, kMaxClasses);
  const auto layers = static_cast<size_t>(num_layers);
  if (window_sizes.size() != layers || window_shifts.size() != layers || downsample.size() != layers)
    fail(where, fmt::format("architecture: window_sizes, window_shifts and downsample have {}, {} and {} values: "
                            "expected one per layer ({})",
                            window_sizes.size(), window_shifts.size(), downsample.size(), num_layers));
  for (size_t i = 0; i < layers; ++i) {
    if (window_sizes[i] < 1 || window_sizes[i] > kMaxTokens)
      fail(where, fmt::format("architecture.window_sizes[{}] = {}: expected 1 to {}", i, window_sizes[i], kMaxTokens));
    if (window_shifts[i] < 0 || window_shifts[i] > kMaxTokens)
      fail(where, fmt::format("architecture.window_shifts[{}] = {}: expected 0 to {}", i, window_shifts[i], kMaxTokens));
  }
  if (!(layer_norm_eps > 0.0 && layer_norm_eps <= 1.0))
    fail(where, fmt::format("architecture.layer_norm_eps = {}: expected a number in (0, 1]", layer_norm_eps));
  if (const double n = element_count(*this); n > kMaxElements)
    fail(where, fmt::format("architecture: the model would hold {:.3g} weights, more than the {:.3g} a model file may",
                            n, kMaxElements));
}

std::vector<LiteTensorShape> lite_tensor_shapes(const LiteArchitecture& a) {
  const int64_t C = a.embed_dim, F = a.ffn_dim;
  std::vector<LiteTensorShape> s;
  s.push_back({"embeddings.weight", {a.vocab_size, C}});
  s.push_back({"token_reduction_net.weight", {C, C, a.conv_kernel_size}});
  s.push_back({"pos_embed.pos_embed.pos_embed", {1, 1, a.max_num_tokens, C}});
  for (int64_t i = 0; i < a.num_layers; ++i) {
    const std::string p = fmt::format("transformer.{}.", i);
    s.push_back({p + "pre_norm_mha.0.weight", {C}});
    s.push_back({p + "pre_norm_mha.0.bias", {C}});
    s.push_back({p + "pre_norm_mha.1.qkv_proj.weight", {3 * C, C}});
    s.push_back({p + "pre_norm_mha.1.qkv_proj.bias", {3 * C}});
    s.push_back({p + "pre_norm_mha.1.out_proj.weight", {C, C}});
    s.push_back({p + "pre_norm_mha.1.out_proj.bias", {C}});
    s.push_back({p + "pre_norm_ffn.0.weight", {C}});
    s.push_back({p + "pre_norm_ffn.0.bias", {C}});
    s.push_back({p + "pre_norm_ffn.1.weight", {F, C}});
    s.push_back({p + "pre_norm_ffn.1.bias", {F}});
    s.push_back({p + "pre_norm_ffn.4.weight", {C, F}});
    s.push_back({p + "pre_norm_ffn.4.bias", {C}});
  }
  for (int64_t i = 0; i < a.num_layers; ++i) {
    if (!a.downsample[static_cast<size_t>(i)]) continue;
    const std::string p = fmt::format("downsamplers.downsample_{}.", i);
    s.push_back({p + "reduction.weight", {C, 2 * C}});
    s.push_back({p + "norm.weight", {C}});
    s.push_back({p + "norm.bias", {C}});
  }
  s.push_back({"post_transformer_norm.weight", {C}});
  s.push_back({"post_transformer_norm.bias", {C}});
  s.push_back({"classifier.weight", {a.n_classes, C}});
  s.push_back({"classifier.bias", {a.n_classes}});
  return s;
}

std::vector<uint8_t> encode_lite_model(const LiteModelSpec& spec, const std::vector<LiteTensor>& tensors) {
  const LiteArchitecture& a = spec.architecture;
  a.validate("encode_lite_model");
  if (spec.labels.size() != static_cast<size_t>(a.n_classes))
    throw std::invalid_argument(
        fmt::format("encode_lite_model: {} labels for {} classes", spec.labels.size(), a.n_classes));
  if (!spec.thresholds.empty() && spec.thresholds.size() != static_cast<size_t>(a.n_classes))
    throw std::invalid_argument(
        fmt::format("encode_lite_model: {} thresholds for {} classes", spec.thresholds.size(), a.n_classes));
  std::map<std::string, const LiteTensor*> given;
  for (const auto& t : tensors)
    if (!given.emplace(t.name, &t).second)
      throw std::invalid_argument(fmt::format("encode_lite_model: tensor '{}' given twice", t.name));
  const std::vector<LiteTensorShape> shapes = lite_tensor_shapes(a);
  std::set<std::string> expected;
  for (const auto& s : shapes) expected.insert(s.name);
  for (const auto& t : tensors)
    if (!expected.count(t.name))
      throw std::invalid_argument(fmt::format("encode_lite_model: unexpected tensor '{}'", t.name));

  nlohmann::ordered_json tensor_list = nlohmann::ordered_json::array();
  std::vector<const LiteTensor*> order;
  std::vector<uint64_t> offsets;
  uint64_t offset = 0, end = 0;  // the file ends with the last tensor, unpadded
  for (const auto& s : shapes) {
    const auto it = given.find(s.name);
    if (it == given.end()) throw std::invalid_argument(fmt::format("encode_lite_model: missing tensor '{}'", s.name));
    const LiteTensor& t = *it->second;
    if (t.shape != s.shape)
      throw std::invalid_argument(fmt::format("encode_lite_model: tensor '{}' has shape [{}], expected [{}]", s.name,
                                              fmt::join(t.shape, ", "), fmt::join(s.shape, ", ")));
    int64_t numel = 1;
    for (int64_t d : s.shape) numel *= d;
    if (t.data.size() != static_cast<size_t>(numel))
      throw std::invalid_argument(fmt::format("encode_lite_model: tensor '{}' has {} values, its shape [{}] needs {}",
                                              s.name, t.data.size(), fmt::join(s.shape, ", "), numel));
    tensor_list.push_back({{"name", s.name}, {"shape", s.shape}, {"offset", offset}});
    order.push_back(&t);
    offsets.push_back(offset);
    end = offset + t.data.size() * sizeof(float);
    offset = align_up(end);
  }

  nlohmann::ordered_json arch;
  arch["vocab_size"] = a.vocab_size;
  arch["embed_dim"] = a.embed_dim;
  arch["num_heads"] = a.num_heads;
  arch["ffn_dim"] = a.ffn_dim;
  arch["num_layers"] = a.num_layers;
  arch["conv_kernel_size"] = a.conv_kernel_size;
  arch["conv_stride"] = a.conv_stride;
  arch["max_num_tokens"] = a.max_num_tokens;
  arch["window_sizes"] = a.window_sizes;
  arch["window_shifts"] = a.window_shifts;
  arch["downsample"] = a.downsample;
  arch["layer_norm_eps"] = a.layer_norm_eps;
  arch["n_classes"] = a.n_classes;
  nlohmann::ordered_json header;
  header["format"] = kFormatName;
  header["version"] = kFormatVersion;
  header["architecture"] = std::move(arch);
  header["byte_window"] = {{"head", spec.byte_window.head},
                           {"tail", spec.byte_window.tail},
                           {"strip_whitespace", spec.byte_window.strip_whitespace}};
  header["labels"] = spec.labels;
  header["thresholds"] = spec.thresholds.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(spec.thresholds);
  header["source"] = spec.source;
  header["tensors"] = std::move(tensor_list);
  const std::string text = header.dump();
  if (text.size() > lite_detail::kMaxHeaderBytes)
    throw std::invalid_argument(fmt::format("encode_lite_model: a header of {} bytes, more than the {} a model file may hold",
                                            text.size(), lite_detail::kMaxHeaderBytes));

  const uint64_t data_start = align_up(lite_detail::kPreambleBytes + text.size());
  std::vector<uint8_t> out(data_start + end, 0);
  std::memcpy(out.data(), kMagic, sizeof(kMagic));
  const uint64_t length = text.size();
  std::memcpy(out.data() + 8, &length, sizeof(length));
  std::memcpy(out.data() + lite_detail::kPreambleBytes, text.data(), text.size());
  for (size_t i = 0; i < order.size(); ++i) {
    std::memcpy(out.data() + data_start + offsets[i], order[i]->data.data(), order[i]->data.size() * sizeof(float));
  }
  return out;
}

void write_lite_model(const std::string& path, const LiteModelSpec& spec, const std::vector<LiteTensor>& tensors) {
  write_file_atomic(path, encode_lite_model(spec, tensors));
}

namespace lite_detail {

namespace {

using nlohmann::json;

// The deepest nesting of [ and { outside strings, so that nlohmann (which recurses) never sees a
// deeply nested document; stops counting once past `limit`.
int json_depth(const char* text, size_t size, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < size; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// Typed access to the header's keys; every error names the key's path.
class Reader {
 public:
  explicit Reader(std::string name) : name_(std::move(name)) {}

  const json& at(const json& obj, const std::string& key, const std::string& path) const {
    if (!obj.is_object()) fail(name_, fmt::format("header: {} is not an object", path));
    const auto it = obj.find(key);
    if (it == obj.end()) fail(name_, fmt::format("header: missing key {}", join(path, key)));
    return *it;
  }
  int64_t integer(const json& obj, const std::string& key, const std::string& path, int64_t lo, int64_t hi) const {
    return integer_value(at(obj, key, path), join(path, key), lo, hi);
  }
  int64_t integer_value(const json& v, const std::string& path, int64_t lo, int64_t hi) const {
    if (!v.is_number_integer()) fail(name_, fmt::format("header: {} = {}: expected an integer", path, v.dump()));
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi))
      fail(name_, fmt::format("header: {} = {}: expected {} to {}", path, v.dump(), lo, hi));
    const int64_t x = v.get<int64_t>();
    if (x < lo || x > hi) fail(name_, fmt::format("header: {} = {}: expected {} to {}", path, x, lo, hi));
    return x;
  }
  std::vector<int64_t> integers(const json& obj, const std::string& key, const std::string& path, int64_t lo,
                                int64_t hi, size_t count) const {
    const json& v = array(obj, key, path, count);
    std::vector<int64_t> out;
    for (size_t i = 0; i < v.size(); ++i) out.push_back(integer_value(v[i], fmt::format("{}[{}]", join(path, key), i), lo, hi));
    return out;
  }
  const json& array(const json& obj, const std::string& key, const std::string& path, size_t count) const {
    const json& v = at(obj, key, path);
    if (!v.is_array()) fail(name_, fmt::format("header: {}: expected an array", join(path, key)));
    if (v.size() != count)
      fail(name_, fmt::format("header: {} has {} values: expected {}", join(path, key), v.size(), count));
    return v;
  }
  bool boolean_value(const json& v, const std::string& path) const {
    if (!v.is_boolean()) fail(name_, fmt::format("header: {} = {}: expected true or false", path, v.dump()));
    return v.get<bool>();
  }
  std::string string_value(const json& v, const std::string& path) const {
    if (!v.is_string()) fail(name_, fmt::format("header: {}: expected a string", path));
    return v.get<std::string>();
  }
  double number(const json& obj, const std::string& key, const std::string& path) const {
    const json& v = at(obj, key, path);
    if (!v.is_number()) fail(name_, fmt::format("header: {} = {}: expected a number", join(path, key), v.dump()));
    return v.get<double>();
  }

 private:
  static std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }
  std::string name_;
};

}  // namespace

uint64_t read_header_length(const uint8_t* preamble, uint64_t file_size, const std::string& name) {
  if (file_size < kPreambleBytes)
    fail(name, fmt::format("{} bytes: too short for a byteformer model file (the magic BFMODEL1 and a header length "
                           "take {} bytes)", file_size, kPreambleBytes));
  if (std::memcmp(preamble, kMagic, sizeof(kMagic)) != 0)
    fail(name, "byte 0: not a byteformer model file (expected the magic BFMODEL1; `byteformer export RUN_DIR` writes one)");
  uint64_t length = 0;
  std::memcpy(&length, preamble + 8, sizeof(length));
  if (length == 0 || length > kMaxHeaderBytes)
    fail(name, fmt::format("byte 8: header length {}: expected 1 to {} bytes", length, kMaxHeaderBytes));
  if (kPreambleBytes + length > file_size)
    fail(name, fmt::format("byte 8: header length {} runs past the end of the file ({} bytes): the file is cut short",
                           length, file_size));
  return length;
}

LiteHeader parse_lite_header(const uint8_t* header, uint64_t header_length, uint64_t file_size, const std::string& name) {
  const char* text = reinterpret_cast<const char*>(header);
  if (const int depth = json_depth(text, header_length, kMaxJsonDepth); depth > kMaxJsonDepth)
    fail(name, fmt::format("byte {}: header JSON nested deeper than {} levels", kPreambleBytes, kMaxJsonDepth));
  json h;
  try {
    h = json::parse(text, text + header_length);
  } catch (const json::exception& e) {
    fail(name, fmt::format("byte {}: header is not JSON ({})", kPreambleBytes, e.what()));
  }
  const Reader r(name);
  if (!h.is_object()) fail(name, "header: expected a JSON object");
  if (const json& f = r.at(h, "format", ""); !f.is_string() || f.get<std::string>() != kFormatName)
    fail(name, fmt::format("header: format = {}: expected \"{}\"", f.dump(), kFormatName));
  if (const int64_t v = r.integer(h, "version", "", 0, 1 << 30); v != kFormatVersion)
    fail(name, fmt::format("header: version = {}: this program reads version {}", v, kFormatVersion));

  LiteHeader out;
  LiteModelSpec& spec = out.spec;
  LiteArchitecture& a = spec.architecture;
  const json& ja = r.at(h, "architecture", "");
  const std::string ap = "architecture";
  a.vocab_size = r.integer(ja, "vocab_size", ap, 257, kMaxVocab);
  a.embed_dim = r.integer(ja, "embed_dim", ap, 1, kMaxEmbedDim);
  a.num_heads = r.integer(ja, "num_heads", ap, 1, kMaxEmbedDim);
  a.ffn_dim = r.integer(ja, "ffn_dim", ap, 1, kMaxFfnDim);
  a.num_layers = r.integer(ja, "num_layers", ap, 1, kMaxLayers);
  a.conv_kernel_size = r.integer(ja, "conv_kernel_size", ap, 1, kMaxKernel);
  a.conv_stride = r.integer(ja, "conv_stride", ap, 1, kMaxKernel);
  a.max_num_tokens = r.integer(ja, "max_num_tokens", ap, 1, kMaxTokens);
  const auto layers = static_cast<size_t>(a.num_layers);
  a.window_sizes = r.integers(ja, "window_sizes", ap, 1, kMaxTokens, layers);
  a.window_shifts = r.integers(ja, "window_shifts", ap, 0, kMaxTokens, layers);
  const json& jd = r.array(ja, "downsample", ap, layers);
  for (size_t i = 0; i < layers; ++i) a.downsample.push_back(r.boolean_value(jd[i], fmt::format("architecture.downsample[{}]", i)));
  a.layer_norm_eps = r.number(ja, "layer_norm_eps", ap);
  a.n_classes = r.integer(ja, "n_classes", ap, 1, kMaxClasses);
  a.validate(name);

  const json& jw = r.at(h, "byte_window", "");
  spec.byte_window.head = r.integer(jw, "head", "byte_window", 0, ByteWindow::kMaxWindow);
  spec.byte_window.tail = r.integer(jw, "tail", "byte_window", 0, ByteWindow::kMaxWindow);
  spec.byte_window.strip_whitespace = r.boolean_value(r.at(jw, "strip_whitespace", "byte_window"), "byte_window.strip_whitespace");
  if (spec.byte_window.head + spec.byte_window.tail == 0) fail(name, "header: byte_window.head and byte_window.tail are both 0");

  const json& jl = r.at(h, "labels", "");
  if (!jl.is_array()) fail(name, "header: labels: expected an array of class names");
  if (jl.size() != static_cast<size_t>(a.n_classes))
    fail(name, fmt::format("header: labels has {} names: expected one per class, {} (architecture.n_classes and "
                           "classifier.weight's rows)", jl.size(), a.n_classes));
  for (size_t i = 0; i < jl.size(); ++i) spec.labels.push_back(r.string_value(jl[i], fmt::format("labels[{}]", i)));

  const json& jt = r.at(h, "thresholds", "");
  if (!jt.is_null()) {
    if (!jt.is_array() || jt.size() != spec.labels.size())
      fail(name, fmt::format("header: thresholds: expected null or an array of {} numbers, one per class", a.n_classes));
    for (size_t i = 0; i < jt.size(); ++i) {
      if (!jt[i].is_number() || !(jt[i].get<double>() >= 0.0 && jt[i].get<double>() <= 1.0))
        fail(name, fmt::format("header: thresholds[{}] = {}: expected a number in [0, 1]", i, jt[i].dump()));
      spec.thresholds.push_back(jt[i].get<double>());
    }
  }
  spec.source = r.string_value(r.at(h, "source", ""), "source");

  out.data_start = align_up(kPreambleBytes + header_length);
  if (out.data_start > file_size)
    fail(name, fmt::format("byte {}: the file ends in the header's padding (expected tensor data from byte {})",
                           file_size, out.data_start));
  const uint64_t data_size = file_size - out.data_start;
  const std::vector<LiteTensorShape> shapes = lite_tensor_shapes(a);
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < shapes.size(); ++i) index[shapes[i].name] = i;
  out.tensors.resize(shapes.size());
  std::vector<bool> seen(shapes.size(), false);
  const json& jts = r.at(h, "tensors", "");
  if (!jts.is_array()) fail(name, "header: tensors: expected an array");
  for (size_t n = 0; n < jts.size(); ++n) {
    const std::string p = fmt::format("tensors[{}]", n);
    const std::string tname = r.string_value(r.at(jts[n], "name", p), p + ".name");
    const auto it = index.find(tname);
    if (it == index.end())
      fail(name, fmt::format("header: {}: unexpected tensor '{}' (not a weight of this architecture)", p, tname));
    const size_t i = it->second;
    if (seen[i]) fail(name, fmt::format("header: {}: tensor '{}' listed twice", p, tname));
    seen[i] = true;
    const LiteTensorShape& want = shapes[i];
    const json& js = r.at(jts[n], "shape", p);
    std::vector<int64_t> shape;
    if (js.is_array() && js.size() <= 8)
      for (size_t d = 0; d < js.size(); ++d) shape.push_back(r.integer_value(js[d], fmt::format("{}.shape[{}]", p, d), 0, kMaxTokens * kMaxEmbedDim));
    if (shape != want.shape)
      fail(name, fmt::format("header: {}: tensor '{}' has shape {}, expected [{}]", p, tname, js.dump(),
                             fmt::join(want.shape, ", ")));
    const int64_t off = r.integer(jts[n], "offset", p, 0, std::numeric_limits<int64_t>::max());
    uint64_t numel = 1;
    for (int64_t d : want.shape) numel *= static_cast<uint64_t>(d);  // bounded by validate's element count
    const uint64_t bytes = numel * sizeof(float);
    const auto offset = static_cast<uint64_t>(off);
    if (offset % kAlign != 0)
      fail(name, fmt::format("header: {}.offset = {} (tensor '{}'): expected a multiple of {}", p, offset, tname, kAlign));
    if (offset > data_size || bytes > data_size - offset)
      fail(name, fmt::format("header: {}.offset = {} (tensor '{}', {} bytes): runs past the end of the file (byte {}, "
                             "{} bytes of tensor data from byte {})",
                             p, offset, tname, bytes, out.data_start + offset + bytes, data_size, out.data_start));
    out.tensors[i] = TensorPlace{want, offset, bytes};
  }
  for (size_t i = 0; i < shapes.size(); ++i)
    if (!seen[i]) fail(name, fmt::format("header: tensors: missing tensor '{}' (shape [{}])", shapes[i].name, fmt::join(shapes[i].shape, ", ")));
  return out;
}

}  // namespace lite_detail

}  // namespace byteformer
