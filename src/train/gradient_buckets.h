// The gradient side of data-parallel training, as PyTorch DDP's reducer does it: the trainable
// parameters' gradients copied into flat buckets, each bucket all-reduced as soon as it is full
// (from autograd hooks during backward, or after it), and the average written back into .grad.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "train/c10d.h"

#ifdef BYTEFORMER_HAVE_GLOO
namespace byteformer::dist {

class GradientBuckets {
 public:
  /// Waits for one collective; `during` names it in the error.
  using Wait = std::function<void(const WorkPtr& work, const std::string& during)>;

  /// Buckets in reverse registration order, the order the backward pass produces gradients in
  /// (PyTorch DDP's first guess too); a new bucket whenever the dtype changes or `bucket_mb` is
  /// reached. The last bucket carries one element more: the stop request of this rank.
  GradientBuckets(std::vector<torch::Tensor> params, double bucket_mb, c10::intrusive_ptr<CommBackend> pg);

  /// Where this rank's stop request is read from when the last bucket is launched.
  void set_stop_source(const std::atomic<int>* local_stop) { local_stop_ = local_stop; }

  /// Parameter `i`'s gradient, from its autograd hook: copied into its bucket; every bucket that
  /// is full is launched, in index order only (so every rank issues the same collectives in the
  /// same order whatever order their gradients arrived in). Thread-safe.
  void on_grad(int64_t i, const torch::Tensor& grad);

  /// Fills what the hooks did not (all of it without them; parameters without a gradient this
  /// step: zeros) from .grad, launches the rest, waits for every bucket and writes the average
  /// over `world` ranks into .grad. Returns whether any rank asked to stop.
  bool average(double world, const Wait& wait);

  const std::vector<torch::Tensor>& params() const { return params_; }
  int64_t count() const { return static_cast<int64_t>(buckets_.size()); }
  int64_t bytes() const { return bytes_; }
  int64_t launched_from_hooks() const { return launched_from_hooks_; }

 private:
  struct Bucket {
    std::vector<int64_t> params;  // indices into params_
    std::vector<int64_t> offsets;
    torch::Tensor flat;  // (numel,) on the parameters' device
    int64_t ready = 0;
    WorkPtr work;
  };

  void launch(Bucket& b);
  void launch_ready_prefix(bool from_hook);
  void fill_slot(int64_t i, const torch::Tensor& grad);

  std::vector<torch::Tensor> params_;
  c10::intrusive_ptr<CommBackend> pg_;
  std::vector<int64_t> bucket_of_, slot_of_;
  std::vector<char> param_ready_;
  std::vector<Bucket> buckets_;
  size_t next_launch_ = 0;
  const std::atomic<int>* local_stop_ = nullptr;
  int64_t bytes_ = 0;
  int64_t launched_from_hooks_ = 0;
  std::mutex mu_;  // hooks run on the autograd thread
};

}  // namespace byteformer::dist
#endif
