// oneDNN on or off for a test's scope (fast_linear.h's process-wide switch), for A/B checks.
#pragma once
#include "model/cpu/fast_linear.h"

namespace byteformer::test {

/// oneDNN on or off while alive, the previous setting restored after.
class ScopedOneDnn {
 public:
  explicit ScopedOneDnn(bool on) : previous_(onednn_enabled()) { set_onednn_enabled(on); }
  ~ScopedOneDnn() { set_onednn_enabled(previous_); }
  ScopedOneDnn(const ScopedOneDnn&) = delete;
  ScopedOneDnn& operator=(const ScopedOneDnn&) = delete;

 private:
  bool previous_;
};

}  // namespace byteformer::test
