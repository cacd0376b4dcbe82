#include "train/gradient_buckets.h"

#ifdef BYTEFORMER_HAVE_GLOO
#include <algorithm>
#include <utility>

namespace byteformer::dist {

GradientBuckets::GradientBuckets(std::vector<torch::Tensor> params, double bucket_mb,
                                 c10::intrusive_ptr<CommBackend> pg)
    : params_(std::move(params)), pg_(std::move(pg)) {
  TORCH_CHECK(!params_.empty(), "GradientBuckets: no trainable parameters");
  const int64_t cap = std::max<int64_t>(1, static_cast<int64_t>(bucket_mb * 1024 * 1024));
  const auto n = static_cast<int64_t>(params_.size());
  bucket_of_.assign(static_cast<size_t>(n), 0);
  slot_of_.assign(static_cast<size_t>(n), 0);
  param_ready_.assign(static_cast<size_t>(n), 0);
  int64_t bytes = 0, numel = 0;
  auto close_bucket = [&](int64_t extra) {
    auto& b = buckets_.back();
    b.flat = torch::zeros({numel + extra}, params_[static_cast<size_t>(b.params.front())].options());
  };
  for (int64_t i = n - 1; i >= 0; --i) {
    const auto& p = params_[static_cast<size_t>(i)];
    const int64_t pb = p.numel() * static_cast<int64_t>(p.element_size());
    const bool new_bucket = buckets_.empty() || bytes + pb > cap ||
                            params_[static_cast<size_t>(buckets_.back().params.front())].scalar_type() != p.scalar_type();
    if (new_bucket) {
      if (!buckets_.empty()) close_bucket(0);
      buckets_.emplace_back();
      bytes = numel = 0;
    }
    auto& b = buckets_.back();
    bucket_of_[static_cast<size_t>(i)] = static_cast<int64_t>(buckets_.size()) - 1;
    slot_of_[static_cast<size_t>(i)] = static_cast<int64_t>(b.params.size());
    b.params.push_back(i);
    b.offsets.push_back(numel);
    bytes += pb;
    numel += p.numel();
    bytes_ += pb;
  }
  close_bucket(1);  // + the stop request
}

void GradientBuckets::launch(Bucket& b) {
  if (&b == &buckets_.back())
    b.flat.narrow(0, b.flat.numel() - 1, 1).fill_(local_stop_ && local_stop_->load() ? 1.0 : 0.0);
  std::vector<at::Tensor> tensors{b.flat};
  b.work = pg_->allreduce(tensors);
}

void GradientBuckets::launch_ready_prefix(bool from_hook) {
  while (next_launch_ < buckets_.size() &&
         buckets_[next_launch_].ready == static_cast<int64_t>(buckets_[next_launch_].params.size())) {
    launch(buckets_[next_launch_]);
    if (from_hook) ++launched_from_hooks_;
    ++next_launch_;
  }
}

void GradientBuckets::fill_slot(int64_t i, const torch::Tensor& grad) {
  Bucket& b = buckets_[static_cast<size_t>(bucket_of_[static_cast<size_t>(i)])];
  const int64_t slot = slot_of_[static_cast<size_t>(i)];
  const auto& p = params_[static_cast<size_t>(i)];
  auto dst = b.flat.narrow(0, b.offsets[static_cast<size_t>(slot)], p.numel());
  if (grad.defined())
    dst.copy_(grad.reshape({-1}));
  else
    dst.zero_();  // no gradient on this rank in this window: contributes zeros
  param_ready_[static_cast<size_t>(i)] = 1;
  ++b.ready;
}

void GradientBuckets::on_grad(int64_t i, const torch::Tensor& grad) {
  std::lock_guard<std::mutex> lock(mu_);
  torch::NoGradGuard no_grad;
  TORCH_CHECK(!param_ready_[static_cast<size_t>(i)],
              "DistributedContext: the gradient of one parameter arrived twice before after_backward; overlap "
              "needs one backward per optimiser step (common.accum_freq 1)");
  fill_slot(i, grad);
  launch_ready_prefix(/*from_hook=*/true);
}

bool GradientBuckets::average(double world, const Wait& wait) {
  torch::NoGradGuard no_grad;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Each bucket is launched as soon as it is full, so filling the next overlaps the all-reduce
    // of the previous.
    for (size_t bi = next_launch_; bi < buckets_.size(); ++bi)
      for (int64_t i : buckets_[bi].params)
        if (!param_ready_[static_cast<size_t>(i)]) fill_slot(i, params_[static_cast<size_t>(i)].grad());
    launch_ready_prefix(/*from_hook=*/false);
  }
  for (auto& b : buckets_) {
    wait(b.work, "gradient all-reduce");
    b.work.reset();
    b.flat.div_(world);
    for (size_t k = 0; k < b.params.size(); ++k) {
      auto& p = params_[static_cast<size_t>(b.params[k])];
      auto avg = b.flat.narrow(0, b.offsets[k], p.numel()).view(p.sizes());
      if (p.grad().defined())
        p.mutable_grad().copy_(avg);
      else
        p.mutable_grad() = avg.clone();
    }
    b.ready = 0;
  }
  std::fill(param_ready_.begin(), param_ready_.end(), 0);
  next_launch_ = 0;
  return buckets_.back().flat[-1].item<double>() > 0;
}

}  // namespace byteformer::dist
#endif
