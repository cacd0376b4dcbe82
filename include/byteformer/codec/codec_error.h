// The one exception type every decoder and encoder throws.
#pragma once
#include <stdexcept>
#include <string>

namespace byteformer {

/// A file that cannot be decoded (or pixels/samples that cannot be encoded). The message names
/// the file, the byte offset where known, and what was expected there.
class CodecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace byteformer
