// The model file's reader, private to bf_lite: the header parsed and checked, the tensors'
// places in the data that follows it (docs/LITE.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "byteformer/lite/lite_model.h"

namespace byteformer::lite_detail {

/// A tensor of the file: its expected shape and where its float32 values lie.
struct TensorPlace {
  LiteTensorShape shape;
  uint64_t offset = 0;  // from the data's start
  uint64_t bytes = 0;
};

struct LiteHeader {
  LiteModelSpec spec;
  std::vector<TensorPlace> tensors;  // in lite_tensor_shapes' order
  uint64_t data_start = 0;           // from the file's start
};

/// Bytes before the header: the magic and the header length.
constexpr size_t kPreambleBytes = 16;
/// The most a header may hold.
constexpr uint64_t kMaxHeaderBytes = uint64_t{1} << 20;

/// The header's length from the first kPreambleBytes bytes of a file of `file_size` bytes;
/// checks the magic and that the header fits in the file.
uint64_t read_header_length(const uint8_t* preamble, uint64_t file_size, const std::string& name);

/// Parses and checks the header (`header` holds `header_length` bytes from offset
/// kPreambleBytes) of a file of `file_size` bytes. Throws std::runtime_error naming `name`.
LiteHeader parse_lite_header(const uint8_t* header, uint64_t header_length, uint64_t file_size,
                             const std::string& name);

}  // namespace byteformer::lite_detail
