// Which device the model runs on: `--device cpu|cuda|cuda:N|auto` for train, eval, predict and
// serve. `auto` is CoreNet's rule (corenet/utils/common_utils.py device_setup): CUDA when
// torch sees a GPU, else the CPU.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace byteformer {

/// CUDA devices this process can use; 0 in a CPU-only LibTorch (Debian's).
int64_t cuda_device_count();

/// Whether `spec` is one of resolve_device's spellings (whether that device exists aside).
bool is_device_spelling(const std::string& spec);

/// Parses a --device value: "cpu", "cuda", "cuda:N", "gpu" (CoreNet's logs' word for it) or
/// "auto". `local_rank` picks the GPU for "cuda"/"auto" in a data-parallel worker (one GPU per
/// process on a node, as CoreNet's cuda:{device_id}); an explicit "cuda:N" is kept. Throws
/// std::invalid_argument naming `flag` for anything else, and for a CUDA device that this
/// LibTorch lacks (built without CUDA, no GPU visible, or N beyond the count).
torch::Device resolve_device(const std::string& spec, int64_t local_rank = 0, const std::string& flag = "--device");

/// For a model on CUDA: CoreNet's TF32 rule for cuBLAS matrix products
/// (ByteFormerOptions::allow_tf32, from common.disable_tf32; corenet/utils/common_utils.py
/// device_setup). Applied where a command moves its model to a GPU; nothing on the CPU.
void configure_cuda_matmul(bool allow_tf32, const torch::Device& device);

/// "cpu" or "cuda:N".
std::string device_name(const torch::Device& device);

/// The device a module's parameters are on (the CPU for a module without parameters).
torch::Device module_device(const torch::nn::Module& module);

}  // namespace byteformer
