#include "byteformer/transforms/byte_seq.h"

namespace byteformer {

ByteSeq to_byte_seq(const std::vector<uint8_t>& bytes) {
  return ByteSeq(bytes.begin(), bytes.end());
}

ByteSeq to_byte_seq(const torch::Tensor& bytes) {
  TORCH_CHECK(bytes.dim() == 1, "to_byte_seq: expected a 1-D tensor, got shape ", bytes.sizes());
  const torch::Tensor c = bytes.to(torch::kInt64).contiguous();
  const int64_t* p = c.data_ptr<int64_t>();
  return ByteSeq(p, p + c.numel());
}

torch::Tensor to_tensor(const ByteSeq& bytes) {
  return torch::tensor(bytes, torch::kInt64);  // [L]
}

}  // namespace byteformer
