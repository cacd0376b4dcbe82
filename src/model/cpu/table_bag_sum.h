// The fused token reduction's sum of table rows (byteformer.cpp, embed_and_reduce): token m is
// the sum of the k table rows T[j][v] = E[v] W_j^T named by bags[m*k .. m*k+k).
#pragma once
#include <torch/torch.h>

namespace byteformer {

/// How the (k*V, C) table keeps T[j][v] (kernel position j, byte value v): row j*V + v (by
/// position: inference's cached table, which the first block's lookups also index) or row
/// v*k + j (by value: training's table, reduction_table_by_value, as one product lays it out).
enum class TableLayout { kByPosition, kByValue };

/// out[m] = sum_{j<k} T[j][v_mj], (M, C) for M = bags.numel() / k, where bags[m*k + j] =
/// j*V + v_mj (j*V <= id < (j+1)*V, as the fused token reduction builds them) and the table
/// holds T in `layout` (by value: row v_mj*k + j, found from the id with one multiply-add). The forward, on CPU float32, gathers runs of tokens block by block
/// (about 512 KB of table blocks at a time, inside L2), adding each token's rows in embedding_bag's
/// order (the same sums bit for bit); elsewhere it is embedding_bag (mode sum). The backward, on CPU
/// float/double tensors, scatters the output gradient into the table's blocks (block j: T[j]'s V rows),
/// eight blocks per task (by value: into a task's own buffer laid out by position, whose rows
/// are then copied to their places, every k-th row of the table) over runs of 256 tokens (float32 compiled for AVX-512 and AVX2 too): no two tasks
/// touch one row and each row sums in token order, so the gradient does not depend on the
/// thread count. embedding_bag's own backward sorts the B*N*k indices (on
/// the Fashion-MNIST quickstart model, k = 84: 320 ms against 26 ms for the forward in a one-off
/// Python torch 1.13 probe on this machine, a build running beside it); elsewhere (CUDA, autocast) that backward is kept.
torch::Tensor table_bag_sum(const torch::Tensor& table, const torch::Tensor& bags, int64_t k, TableLayout layout);

}  // namespace byteformer
