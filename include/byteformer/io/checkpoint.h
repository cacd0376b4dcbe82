// CoreNet .pt checkpoints: torch.save zip archives of a state_dict (docs/MODEL.md, the model's weights).
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "byteformer/io/file.h"

namespace byteformer {

using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

/// Reads a torch.save'd state_dict (CoreNet's released weights, or ours). Also accepts a
/// CoreNet training checkpoint (a dict with `model_state_dict`) and strips DDP's "module."
/// prefix. Untrusted input: every failure is a std::runtime_error naming the path and the key,
/// record or byte offset; every record read is checked against the CRC-32 the zip stores for
/// it (a flipped byte inside a tensor is an error naming the record); nothing is executed.
StateDict load_state_dict(const std::string& path);

/// Same, from bytes in memory (`source` names them in errors).
StateDict load_state_dict_bytes(const std::vector<uint8_t>& bytes, const std::string& source);

/// Writes a state_dict in torch.save's format (records `archive/data.pkl`, `archive/data/<n>`
/// in torch.save's order, `archive/version`), readable by torch.load and CoreNet. Written to a
/// temporary file in the same folder, flushed and renamed: never half-written.
void save_state_dict(const std::string& path, const StateDict& state);

/// The archive bytes save_state_dict writes.
std::vector<uint8_t> serialize_state_dict(const StateDict& state);

}  // namespace byteformer
