// libFuzzer target: the checkpoint reader on arbitrary bytes. The first byte picks the layer:
// even, the restricted unpickler alone (byteformer/io/pickle.h, every storage a 64-byte
// record); odd, the whole torch.save archive path (zip records, CRCs, data.pkl, storages) of
// load_state_dict_bytes. Either returns a value or throws std::exception, nothing else: no
// crash, no sanitizer report, no allocation beyond the input's claim.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <vector>

#include "byteformer/io/checkpoint.h"
#include "byteformer/io/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool archive = data[0] & 1;
  try {
    if (archive) {
      const std::vector<uint8_t> bytes(data + 1, data + size);
      const byteformer::StateDict state = byteformer::load_state_dict_bytes(bytes, "fuzz.pt");
      for (const auto& [name, tensor] : state) {
        if (!tensor.defined()) __builtin_trap();  // a state dict holds tensors
      }
    } else {
      const auto storage = std::make_shared<const std::vector<uint8_t>>(64, uint8_t{7});
      byteformer::pickle::StorageLoader loader = [&](const std::string&, uint64_t) { return std::make_pair(std::shared_ptr<const void>(storage, storage->data()), storage->size()); };
      byteformer::pickle::unpickle(data + 1, size - 1, loader, "fuzz.pkl");
    }
  } catch (const std::exception&) {
  }
  return 0;
}
