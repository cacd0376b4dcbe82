#include "byteformer/train/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace byteformer {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define BF_AUTOCAST_NEW_API 1
#else
#define BF_AUTOCAST_NEW_API 0
#endif

bool cpu_autocast_available() { return true; }

AutocastGuard::AutocastGuard(bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
#if BF_AUTOCAST_NEW_API
  previous_ = at::autocast::is_autocast_enabled(at::kCPU);
  at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCPU, true);
#else
  previous_ = at::autocast::is_cpu_enabled();
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::set_cpu_enabled(true);
#endif
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
#if BF_AUTOCAST_NEW_API
  at::autocast::set_autocast_enabled(at::kCPU, previous_);
#else
  at::autocast::set_cpu_enabled(previous_);
#endif
  at::autocast::clear_cache();
}

}  // namespace byteformer
