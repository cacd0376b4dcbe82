// The core of windowed attention for training: softmax(q k^T) v over many small windows, with
// forward and backward spread over LibTorch's threads.
#pragma once
#include <torch/torch.h>

namespace byteformer {

/// softmax(q k^T, masked) v per window and head, as an autograd function (CPU, float32 or
/// float64). q (already scaled), k, v: (G, H, w, d); keep: (G, w) bool, the keys each window
/// may attend to (at least one per window), or undefined for all. Returns (G, H, w, d).
///
/// The same numbers as matmul / masked_fill / softmax / matmul, but faster on many small
/// windows: LibTorch's bmm runs them one after the other, each product split over OpenBLAS's
/// threads (measured: a third of the GEMM rate at w = 128, d = 64). Here windows go to
/// LibTorch's threads a few at a time, each running whole products single-threaded, in the
/// forward and in the backward (dV = P^T dO, dP = dO V^T, dS = softmax'(dP), dQ = dS K,
/// dK = dS^T Q). Saves q, k, v and the probabilities, as autograd's path does.
torch::Tensor windowed_softmax_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                         const torch::Tensor& keep);

}  // namespace byteformer
