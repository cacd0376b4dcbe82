#include "byteformer/io/pickle.h"

#include <fmt/format.h>

#include <unordered_map>
#include <unordered_set>

#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

namespace byteformer::pickle {

namespace {

const std::map<std::string, torch::ScalarType>& storage_types() {
  static const std::map<std::string, torch::ScalarType> types = {
      {"FloatStorage", torch::kFloat},   {"DoubleStorage", torch::kDouble}, {"HalfStorage", torch::kHalf},
      {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kLong}, {"IntStorage", torch::kInt},
      {"ShortStorage", torch::kShort},   {"CharStorage", torch::kChar},     {"ByteStorage", torch::kByte},
      {"BoolStorage", torch::kBool}};
  return types;
}

ValuePtr make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const StorageLoader& loader, const std::string& source)
      : data_(data), size_(size), loader_(loader), source_(source) {}
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  // Every container made is let go of without recursion: the links of those the result does not
  // hold are moved out first, so no value's destructor reaches a chain of others (a pickle may
  // nest a million tuples, or put a list inside itself).
  ~Unpickler() {
    std::vector<ValuePtr> links;
    for (const auto& c : containers_) {
      if (kept_.count(c.get())) continue;
      for (auto& item : c->items) links.push_back(std::move(item));
      for (auto& [key, value] : c->dict) links.push_back(std::move(key)), links.push_back(std::move(value));
      c->items.clear();
      c->dict.clear();
    }
    stack_.clear();
    memo_.clear();
    links.clear();
  }

  ValuePtr run() {
    while (true) {
      op_pos_ = pos_;
      const uint8_t op = u8();
      switch (op) {
        case 0x80: u8(); break;        // PROTO
        case 0x95: bytes(8); break;    // FRAME (length only)
        case '.':                      // STOP
          if (stack_.size() != 1) fail(fmt::format("STOP with {} values on the stack, expected 1", stack_.size()));
          keep(stack_.back());
          return stack_.back();
        case '(': marks_.push_back(stack_.size()); break;
        case ')': push(container(Value::Kind::kTuple)); break;
        case ']': push(container(Value::Kind::kList)); break;
        case '}': push(container(Value::Kind::kDict)); break;
        case 'N': push(make(Value::Kind::kNone)); break;
        case 0x88: case 0x89: {
          auto v = make(Value::Kind::kBool);
          v->b = op == 0x88;
          push(v);
          break;
        }
        case 'K': push_int(u8()); break;
        case 'M': push_int(le(2)); break;
        case 'J': push_int(static_cast<int32_t>(static_cast<uint32_t>(le(4)))); break;
        case 0x8a: push_int(long1()); break;
        case 'G': {
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | u8();  // big-endian
          auto v = make(Value::Kind::kFloat);
          std::memcpy(&v->f, &bits, sizeof(double));
          push(v);
          break;
        }
        case 'X': push_string(le(4)); break;
        case 0x8c: push_string(u8()); break;
        case 0x8d: push_string(le(8)); break;
        case 'U': push_string(u8()); break;
        case 'T': push_string(le(4)); break;
        case 'c': {
          std::string module = line(), name = line();
          push(global(module, name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop(), module = pop();
          if (module->kind != Value::Kind::kString || name->kind != Value::Kind::kString)
            fail("STACK_GLOBAL expects two strings");
          push(global(module->s, name->s));
          break;
        }
        case 'q': memo_[u8()] = top(); break;
        case 'r': memo_[le(4)] = top(); break;
        case 0x94: memo_[memo_.size()] = top(); break;
        case 'h': push(get_memo(u8())); break;
        case 'j': push(get_memo(le(4))); break;
        case 't': {
          auto v = container(Value::Kind::kTuple);
          v->items = pop_to_mark();
          push(v);
          break;
        }
        case 0x85: case 0x86: case 0x87: {
          const size_t n = op - 0x84;
          if (stack_.size() < n + floor()) fail("TUPLE with too few values on the stack");
          auto v = container(Value::Kind::kTuple);
          v->items.assign(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          push(v);
          break;
        }
        case 'a': {
          auto item = pop();
          auto list = top();
          if (list->kind != Value::Kind::kList) fail("APPEND to a " + list->kind_name());
          list->items.push_back(item);
          break;
        }
        case 'e': {
          auto items = pop_to_mark();
          auto list = top();
          if (list->kind != Value::Kind::kList) fail("APPENDS to a " + list->kind_name());
          list->items.insert(list->items.end(), items.begin(), items.end());
          break;
        }
        case 's': {
          auto value = pop(), key = pop();
          auto dict = top();
          if (dict->kind != Value::Kind::kDict) fail("SETITEM on a " + dict->kind_name());
          dict->dict.emplace_back(key, value);
          break;
        }
        case 'u': {
          auto items = pop_to_mark();
          if (items.size() % 2 != 0) fail("SETITEMS with an odd number of values");
          auto dict = top();
          if (dict->kind != Value::Kind::kDict) fail("SETITEMS on a " + dict->kind_name());
          for (size_t k = 0; k < items.size(); k += 2) dict->dict.emplace_back(items[k], items[k + 1]);
          break;
        }
        case 'R': {
          auto args = pop(), callable = pop();
          push(reduce(callable, args));
          break;
        }
        case 'b': {
          auto state = pop();
          auto obj = top();
          // Only OrderedDict's instance dict ({'_metadata': ...}) is expected; it is ignored.
          if (obj->kind != Value::Kind::kDict && obj->kind != Value::Kind::kTensor)
            fail("BUILD on a " + obj->kind_name());
          break;
        }
        case 'Q': push(persistent(pop())); break;
        default:
          fail(fmt::format("opcode 0x{:02x} is not allowed in a state_dict", op));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(fmt::format("{}: data.pkl byte offset {}: {}", source_, op_pos_, what));
  }
  void need(size_t n) const {
    if (n > size_ - pos_) fail(fmt::format("truncated pickle: need {} more bytes, {} left", n, size_ - pos_));
  }
  uint8_t u8() {
    need(1);
    return data_[pos_++];
  }
  uint64_t le(int n) {
    need(n);
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | data_[pos_ + k];
    pos_ += n;
    return v;
  }
  const uint8_t* bytes(uint64_t n) {
    need(n);
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  int64_t long1() {
    const uint8_t n = u8();
    if (n > 8) fail(fmt::format("LONG1 of {} bytes does not fit 64 bits", n));
    if (n == 0) return 0;
    const uint8_t* p = bytes(n);
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | p[k];
    if (n < 8 && (p[n - 1] & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }
  std::string line() {
    std::string s;
    while (true) {
      const char ch = static_cast<char>(u8());
      if (ch == '\n') return s;
      if (s.size() > 256) fail("GLOBAL name too long");
      s.push_back(ch);
    }
  }
  void push_int(int64_t i) {
    auto v = make(Value::Kind::kInt);
    v->i = i;
    push(v);
  }
  void push_string(uint64_t n) {
    auto v = make(Value::Kind::kString);
    const uint8_t* p = bytes(n);
    v->s.assign(reinterpret_cast<const char*>(p), n);
    push(v);
  }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  ValuePtr pop() {
    if (stack_.size() <= floor()) fail("pop from an empty stack");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  ValuePtr top() {
    if (stack_.size() <= floor()) fail("empty stack");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_to_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }
  ValuePtr get_memo(uint64_t k) {
    auto it = memo_.find(k);
    if (it == memo_.end()) fail(fmt::format("memo entry {} read before it was written", k));
    return it->second;
  }

  ValuePtr global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    static const std::set<std::string> allowed = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                                  "torch._utils._rebuild_parameter"};
    const bool storage = module == "torch" && storage_types().count(name);
    if (!allowed.count(full) && !storage)
      fail(fmt::format("refers to global '{}', which a state_dict never needs; refusing to load", full));
    auto v = make(Value::Kind::kGlobal);
    v->s = full;
    return v;
  }

  ValuePtr persistent(const ValuePtr& pid) {
    // ('storage', torch.<T>Storage, key, location, numel)
    if (pid->kind != Value::Kind::kTuple || pid->items.size() != 5 || pid->items[0]->kind != Value::Kind::kString ||
        pid->items[0]->s != "storage" || pid->items[1]->kind != Value::Kind::kGlobal ||
        pid->items[2]->kind != Value::Kind::kString || pid->items[4]->kind != Value::Kind::kInt)
      fail("persistent id is not ('storage', torch.<T>Storage, key, location, numel)");
    const std::string type = pid->items[1]->s;
    const auto dot = type.rfind('.');
    auto it = storage_types().find(type.substr(dot + 1));
    if (type.rfind("torch.", 0) != 0 || it == storage_types().end()) fail("unknown storage type " + type);
    const std::string& key = pid->items[2]->s;
    const int64_t numel = pid->items[4]->i;
    if (numel < 0) fail(fmt::format("storage '{}' has negative size {}", key, numel));
    auto cached = storages_.find(key);
    if (cached != storages_.end()) {
      if (cached->second->dtype != it->second) fail(fmt::format("storage '{}' used with two dtypes", key));
      return cached->second;
    }
    const size_t elem = c10::elementSize(it->second);
    if (static_cast<uint64_t>(numel) > std::numeric_limits<uint64_t>::max() / elem)
      fail(fmt::format("storage '{}' size {} overflows", key, numel));
    auto [record, record_size] = loader_(key, static_cast<uint64_t>(numel) * elem);
    if (record_size < static_cast<uint64_t>(numel) * elem)
      fail(fmt::format("storage record data/{} has {} bytes, the pickle expects {} x {} bytes", key, record_size,
                       numel, elem));
    auto v = make(Value::Kind::kStorage);
    v->s = key;
    v->dtype = it->second;
    v->numel = numel;
    v->tensor = torch::empty({numel}, torch::TensorOptions().dtype(it->second));
    if (numel > 0) std::memcpy(v->tensor.data_ptr(), record.get(), static_cast<size_t>(numel) * elem);
    storages_[key] = v;
    return v;
  }

  std::vector<int64_t> int_tuple(const ValuePtr& v, const char* what) {
    if (v->kind != Value::Kind::kTuple && v->kind != Value::Kind::kList) fail(std::string(what) + " is not a tuple");
    if (v->items.size() > 16) fail(fmt::format("{} has {} dimensions", what, v->items.size()));
    std::vector<int64_t> out;
    for (const auto& e : v->items) {
      if (e->kind != Value::Kind::kInt || e->i < 0) fail(std::string(what) + " holds a non-integer or negative value");
      out.push_back(e->i);
    }
    return out;
  }

  ValuePtr rebuild_tensor(const ValuePtr& args) {
    if (args->kind != Value::Kind::kTuple || args->items.size() < 4 || args->items.size() > 7)
      fail("_rebuild_tensor_v2 expects (storage, offset, size, stride, requires_grad, hooks[, metadata])");
    const auto& storage = args->items[0];
    if (storage->kind != Value::Kind::kStorage) fail("_rebuild_tensor_v2: first argument is not a storage");
    if (args->items[1]->kind != Value::Kind::kInt || args->items[1]->i < 0) fail("_rebuild_tensor_v2: bad offset");
    const int64_t offset = args->items[1]->i;
    const auto size = int_tuple(args->items[2], "size");
    const auto stride = int_tuple(args->items[3], "stride");
    if (size.size() != stride.size()) fail("_rebuild_tensor_v2: size and stride differ in length");
    // Highest element index touched, with overflow checks: must lie inside the storage.
    uint64_t extent = static_cast<uint64_t>(offset), numel = 1;
    bool empty = false;
    for (size_t d = 0; d < size.size(); ++d) {
      if (size[d] == 0) empty = true;
      if (size[d] > (int64_t{1} << 40) || stride[d] > (int64_t{1} << 40)) fail("tensor dimension too large");
      extent += static_cast<uint64_t>(size[d] > 0 ? size[d] - 1 : 0) * static_cast<uint64_t>(stride[d]);
      numel *= static_cast<uint64_t>(size[d]);
      if (numel > (uint64_t{1} << 40)) fail("tensor has too many elements");
    }
    if (!empty && extent >= static_cast<uint64_t>(storage->numel))
      fail(fmt::format("tensor of size [{}] at offset {} reads past storage '{}' of {} elements",
                       fmt::join(size, ", "), offset, storage->s, storage->numel));
    auto v = make(Value::Kind::kTensor);
    if (empty) {
      v->tensor = torch::empty(size, storage->tensor.options());
      return v;
    }
    auto view = storage->tensor.as_strided(size, stride, offset);
    // The usual case, a tensor that is its whole storage, contiguous: the storage's memory
    // becomes the tensor's (no second copy of the weights while a checkpoint loads). Every other
    // tensor (part of a storage, or a second tensor over one) gets its own copy, so that no two
    // tensors of the result share memory.
    if (!storage->lent && offset == 0 && static_cast<int64_t>(numel) == storage->numel && view.is_contiguous()) {
      storage->lent = true;
      v->tensor = view;
    } else {
      v->tensor = view.clone(at::MemoryFormat::Contiguous);
    }
    return v;
  }

  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
    if (callable->kind != Value::Kind::kGlobal) fail("REDUCE on a " + callable->kind_name());
    if (args->kind != Value::Kind::kTuple) fail("REDUCE arguments are not a tuple");
    if (callable->s == "collections.OrderedDict") {
      if (!args->items.empty()) fail("OrderedDict() with arguments");
      return container(Value::Kind::kDict);
    }
    if (callable->s == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(args);
    if (callable->s == "torch._utils._rebuild_parameter") {
      if (args->items.empty() || args->items[0]->kind != Value::Kind::kTensor)
        fail("_rebuild_parameter expects a tensor");
      return args->items[0];
    }
    fail("cannot call " + callable->s);
  }

  ValuePtr container(Value::Kind kind) {
    containers_.push_back(make(kind));
    return containers_.back();
  }

  // Accepts `root` as the result: it must nest at most kMaxDepth containers and hold no cycle.
  // Its containers are then kept whole by the destructor. Iterative: one visit per container.
  void keep(const ValuePtr& root) {
    std::unordered_map<const Value*, int> depth;  // containers done: their nesting below
    std::unordered_set<const Value*> open;        // on the current path
    std::vector<std::pair<const Value*, size_t>> path{{root.get(), 0}};
    open.insert(root.get());
    const auto child = [](const Value* v, size_t k) -> const Value* {
      if (k < v->items.size()) return v->items[k].get();
      k -= v->items.size();
      if (k / 2 < v->dict.size()) return (k % 2 == 0 ? v->dict[k / 2].first : v->dict[k / 2].second).get();
      return nullptr;
    };
    while (!path.empty()) {
      auto& [v, next] = path.back();
      const Value* c = child(v, next++);
      if (c == nullptr) {
        int d = 1;
        for (size_t k = 0; const Value* e = child(v, k); ++k)
          if (auto it = depth.find(e); it != depth.end()) d = std::max(d, it->second + 1);
        if (d > static_cast<int>(kMaxDepth)) fail(fmt::format("values nested deeper than {} levels", kMaxDepth));
        depth[v] = d;
        open.erase(v);
        path.pop_back();
        continue;
      }
      if (c->kind != Value::Kind::kTuple && c->kind != Value::Kind::kList && c->kind != Value::Kind::kDict) continue;
      if (open.count(c)) fail("the value contains itself (a cycle)");
      if (depth.count(c)) continue;
      if (path.size() >= kMaxDepth) fail(fmt::format("values nested deeper than {} levels", kMaxDepth));
      open.insert(c);
      path.emplace_back(c, 0);
    }
    for (const auto& [v, d] : depth) kept_.insert(v);
  }

  // A state_dict nests 4 or 5 levels (dict, tensor arguments, their tuples).
  static constexpr size_t kMaxDepth = 64;

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  const StorageLoader& loader_;
  std::string source_;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, ValuePtr> memo_;
  std::map<std::string, ValuePtr> storages_;
  std::vector<ValuePtr> containers_;               // every tuple, list and dict made
  std::unordered_set<const Value*> kept_;          // those the result holds (keep)
};

// ---------------------------------------------------------------------------------------------
// Pickler

class Writer {
 public:
  std::vector<uint8_t> out;
  void op(uint8_t c) { out.push_back(c); }
  void raw(const std::string& s) { out.insert(out.end(), s.begin(), s.end()); }
  void le(uint64_t v, int n) {
    for (int k = 0; k < n; ++k) out.push_back(static_cast<uint8_t>(v >> (8 * k)));
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      op('K'), le(v, 1);
    } else if (v >= 0 && v < 65536) {
      op('M'), le(v, 2);
    } else if (v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max()) {
      op('J'), le(static_cast<uint32_t>(static_cast<int32_t>(v)), 4);
    } else {
      op(0x8a), le(8, 1), le(static_cast<uint64_t>(v), 8);
    }
  }
  void string(const std::string& s) {
    op('X'), le(s.size(), 4), raw(s);
  }
  // GLOBAL, memoised so that repeats are a BINGET.
  void global(const std::string& module, const std::string& name) {
    const std::string key = module + "\n" + name + "\n";
    auto it = memo_.find(key);
    if (it != memo_.end()) {
      get(it->second);
      return;
    }
    op('c'), raw(key);
    put(key);
  }
  void tuple_of_ints(const std::vector<int64_t>& v) {
    if (v.empty()) return op(')');
    if (v.size() > 3) op('(');
    for (auto x : v) integer(x);
    static const uint8_t small[] = {0, 0x85, 0x86, 0x87};
    op(v.size() > 3 ? 't' : small[v.size()]);
  }

 private:
  void put(const std::string& key) {
    const uint32_t idx = static_cast<uint32_t>(memo_.size());
    memo_[key] = idx;
    if (idx < 256) op('q'), le(idx, 1);
    else op('r'), le(idx, 4);
  }
  void get(uint32_t idx) {
    if (idx < 256) op('h'), le(idx, 1);
    else op('j'), le(idx, 4);
  }
  std::map<std::string, uint32_t> memo_;
};

}  // namespace

std::string Value::kind_name() const {
  static const char* names[] = {"None", "bool", "int", "float", "str", "tuple", "list", "dict", "global", "storage", "tensor"};
  return names[static_cast<int>(kind)];
}

ValuePtr unpickle(const uint8_t* data, size_t size, const StorageLoader& load_storage, const std::string& source) {
  Unpickler u(data, size, load_storage, source);
  return u.run();
}

std::string storage_name(torch::ScalarType dtype) {
  for (const auto& [name, t] : storage_types())
    if (t == dtype) return name;
  throw std::invalid_argument(fmt::format("no torch storage type for dtype {}", c10::toString(dtype)));
}

std::vector<uint8_t> pickle_state_dict(const std::vector<TensorRecord>& tensors) {
  Writer w;
  w.op(0x80), w.le(2, 1);  // PROTO 2
  w.global("collections", "OrderedDict");
  w.op(')'), w.op('R');
  // Items in batches of 1000, as pickle does.
  for (size_t start = 0; start < tensors.size(); start += 1000) {
    w.op('(');
    for (size_t k = start; k < std::min(tensors.size(), start + 1000); ++k) {
      const auto& t = tensors[k];
      w.string(t.name);
      w.global("torch._utils", "_rebuild_tensor_v2");
      w.op('(');
      w.op('('), w.string("storage"), w.global("torch", storage_name(t.tensor.scalar_type())), w.string(t.key),
          w.string("cpu"), w.integer(t.tensor.numel()), w.op('t');
      w.op('Q');  // BINPERSID
      w.integer(0);
      w.tuple_of_ints(t.tensor.sizes().vec());
      w.tuple_of_ints(t.tensor.strides().vec());
      w.op(0x89);  // requires_grad False
      w.global("collections", "OrderedDict"), w.op(')'), w.op('R');  // backward hooks
      w.op('t'), w.op('R');
    }
    w.op('u');
  }
  // State: {'_metadata': OrderedDict(prefix -> {'version': 1})}, as nn.Module.state_dict() leaves.
  std::vector<std::string> prefixes{""};
  std::set<std::string> seen{""};
  for (const auto& t : tensors) {
    size_t dot = 0;
    while ((dot = t.name.find('.', dot)) != std::string::npos) {
      const std::string p = t.name.substr(0, dot++);
      if (seen.insert(p).second) prefixes.push_back(p);
    }
  }
  w.op('}'), w.string("_metadata");
  w.global("collections", "OrderedDict"), w.op(')'), w.op('R');
  w.op('(');
  for (const auto& p : prefixes) {
    w.string(p), w.op('}'), w.string("version"), w.integer(1), w.op('s');
  }
  w.op('u');
  w.op('s'), w.op('b'), w.op('.');
  return std::move(w.out);
}

}  // namespace byteformer::pickle
