// The fused token reduction's sum of table rows (byteformer.cpp, embed_and_reduce): token m is
// the sum of the k rows bags[m*k .. m*k+k) of the (k*V, C) table T[j][v] = E[v] W_j^T.
#pragma once
#include <torch/torch.h>

namespace byteformer {

/// out[m] = sum_{j<k} table[bags[m*k + j]], (M, C) for M = bags.numel() / k, where row
/// bags[m*k + j] lies in block j of the table (j*V <= row < (j+1)*V), as the fused token
/// reduction builds them. The forward, on CPU float32, gathers runs of tokens block by block
/// (about 512 KB of table blocks at a time, inside L2), adding each token's rows in embedding_bag's
/// order (the same sums bit for bit); elsewhere it is embedding_bag (mode sum). The backward, on CPU
/// float/double tensors, scatters the output gradient into the table's blocks, eight blocks
/// per task over runs of 256 tokens (float32 compiled for AVX-512 and AVX2 too): no two tasks
/// touch one row and each row sums in token order, so the gradient does not depend on the
/// thread count. embedding_bag's own backward sorts the B*N*k indices (on
/// the Fashion-MNIST quickstart model, k = 84: 320 ms against 26 ms for the forward in a one-off
/// Python torch 1.13 probe on this machine, a build running beside it); elsewhere (CUDA, autocast) that backward is kept.
torch::Tensor table_bag_sum(const torch::Tensor& table, const torch::Tensor& bags, int64_t k);

}  // namespace byteformer
