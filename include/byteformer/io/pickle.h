// A restricted unpickler for torch.save state_dicts, and the matching pickler.
//
// Hand-written on purpose (STYLE.md rule 10): LibTorch 1.13's torch::pickle_load rejects
// CoreNet's files (the OrderedDict `_metadata`), and a checkpoint is untrusted input, so only
// the few globals a state_dict needs are accepted and nothing is ever executed.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace byteformer::pickle {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

/// A value of the restricted pickle language.
struct Value {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kStorage, kTensor };
  Kind kind = Kind::kNone;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;                                    // string; global "module.name"; storage key
  std::vector<ValuePtr> items;                      // tuple, list
  std::vector<std::pair<ValuePtr, ValuePtr>> dict;  // dict / OrderedDict, in insertion order
  torch::ScalarType dtype = torch::kFloat;          // storage
  int64_t numel = 0;                                // storage
  torch::Tensor tensor;                             // tensor; storage: its elements
  bool lent = false;                                // storage: `tensor` is already some tensor's data

  std::string kind_name() const;
};

/// Returns the bytes of storage record `key` (archive/data/<key>) and their count, or throws;
/// `expected_bytes` is what the pickle says the storage holds (numel x element size), known
/// before the record is read. The bytes are copied into the storage's tensor; the pointer is
/// released after.
using StorageLoader =
    std::function<std::pair<std::shared_ptr<const void>, size_t>(const std::string& key, uint64_t expected_bytes)>;

/// Unpickles `data` (protocol 2 to 5 opcodes that a state_dict uses). Globals allowed:
/// collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter,
/// torch.<Type>Storage. Anything else throws naming the global and the byte offset.
ValuePtr unpickle(const uint8_t* data, size_t size, const StorageLoader& load_storage, const std::string& source);

/// A tensor to be written: its storage is written as archive record data/<key>.
struct TensorRecord {
  std::string name;
  torch::Tensor tensor;  // contiguous CPU tensor
  std::string key;
};

/// Pickles an OrderedDict name -> tensor the way torch.save does (protocol 2, persistent ids
/// ('storage', torch.<T>Storage, key, 'cpu', numel), _rebuild_tensor_v2, `_metadata`).
std::vector<uint8_t> pickle_state_dict(const std::vector<TensorRecord>& tensors);

/// torch.<Name>Storage for a dtype, and back.
std::string storage_name(torch::ScalarType dtype);

}  // namespace byteformer::pickle
