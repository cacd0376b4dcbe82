// bf16 autocast on CPU for the scope of a guard (CoreNet's common.mixed_precision). The ATen
// calls changed in LibTorch 2.4, so they are chosen by TORCH_VERSION.
#pragma once

namespace byteformer {

/// True when this LibTorch build has CPU autocast (1.10 and later).
bool cpu_autocast_available();

class AutocastGuard {
 public:
  explicit AutocastGuard(bool enabled);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_;
  bool previous_ = false;
};

}  // namespace byteformer
