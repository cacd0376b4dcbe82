// The C API over byteformer::Classifier: every C++ exception stops here and becomes
// byteformer_last_error(); results own their strings until byteformer_result_free.
#include "byteformer/byteformer_c.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "byteformer/classify/classifier.h"
#include "byteformer/runtime/build_info.h"
#include "byteformer/model/device.h"
#include "byteformer/model/precision.h"

struct byteformer_classifier {
  byteformer::Classifier clf;
};

struct byteformer_result {
  byteformer::Classification c;
};

namespace {

thread_local std::string last_error;

void set_error(const std::string& message) { last_error = message; }

template <typename F>
auto guarded(F&& f, decltype(f()) on_error) noexcept -> decltype(f()) {
  try {
    last_error.clear();
    return f();
  } catch (const std::exception& e) {
    set_error(e.what());
  } catch (...) {
    set_error("unknown error");
  }
  return on_error;
}

// `device` NULL: the CPU; `precision` NULL: resolve_precision's default rule.
byteformer_classifier* open_with(byteformer::ClassifierOptions options, const char* device, const char* precision) {
  options.top_k = std::numeric_limits<int64_t>::max();  // results rank every class
  options.model.weights_arg = "a weights file as weights_path";  // errors name our arguments, not the CLI's flags
  return guarded(
      [&]() -> byteformer_classifier* {
        options.model.device = byteformer::resolve_device(device ? device : "cpu", /*local_rank=*/0, "device");
        if (precision)
          options.precision = byteformer::parse_requested_precision(precision, options.model.device.type());
        return new byteformer_classifier{byteformer::Classifier::open(options)};
      },
      nullptr);
}

}  // namespace

extern "C" {

byteformer_classifier* byteformer_open_run_with(const char* run_dir, const char* device, const char* precision) {
  if (!run_dir) {
    set_error("byteformer_open_run: run_dir must not be NULL");
    return nullptr;
  }
  if (!*run_dir) {
    set_error("byteformer_open_run: run_dir is empty");
    return nullptr;
  }
  byteformer::ClassifierOptions options;
  options.run_dir = run_dir;
  return open_with(options, device, precision);
}

byteformer_classifier* byteformer_open_run_on(const char* run_dir, const char* device) {
  if (!run_dir || !device) {
    set_error("byteformer_open_run: run_dir and device must not be NULL");
    return nullptr;
  }
  return byteformer_open_run_with(run_dir, device, nullptr);
}

byteformer_classifier* byteformer_open_run(const char* run_dir) { return byteformer_open_run_on(run_dir, "cpu"); }

byteformer_classifier* byteformer_open_with(const char* config_path, const char* weights_path, const char* device,
                                            const char* precision) {
  if (!config_path || !weights_path) {
    set_error("byteformer_open: config_path and weights_path must not be NULL");
    return nullptr;
  }
  if (!*config_path) {
    set_error("byteformer_open: config_path is empty");
    return nullptr;
  }
  byteformer::ClassifierOptions options;
  options.model.config_path = config_path;
  options.model.weights = weights_path;
  return open_with(options, device, precision);
}

byteformer_classifier* byteformer_open_on(const char* config_path, const char* weights_path, const char* device) {
  if (!config_path || !weights_path || !device) {
    set_error("byteformer_open: config_path, weights_path and device must not be NULL");
    return nullptr;
  }
  return byteformer_open_with(config_path, weights_path, device, nullptr);
}

byteformer_classifier* byteformer_open(const char* config_path, const char* weights_path) {
  return byteformer_open_on(config_path, weights_path, "cpu");
}

void byteformer_close(byteformer_classifier* clf) { delete clf; }

const char* byteformer_precision(const byteformer_classifier* clf) {
  if (!clf) {
    set_error("byteformer_precision: classifier is NULL");
    return nullptr;
  }
  return byteformer::to_string(clf->clf.precision());
}

int64_t byteformer_num_classes(const byteformer_classifier* clf) {
  if (!clf) {
    set_error("byteformer_num_classes: classifier is NULL");
    return -1;
  }
  return clf->clf.num_classes();
}

const char* byteformer_class_name(const byteformer_classifier* clf, int64_t i) {
  if (!clf || i < 0 || i >= static_cast<int64_t>(clf->clf.labels().size())) {
    set_error(fmt::format("byteformer_class_name: no class {}", i));
    return nullptr;
  }
  return clf->clf.labels()[static_cast<size_t>(i)].c_str();
}

byteformer_result* byteformer_classify(const byteformer_classifier* clf, const uint8_t* data, size_t size,
                                       const char* name, int raw) {
  if (!clf) {
    set_error("byteformer_classify: classifier is NULL");
    return nullptr;
  }
  if (!data && size > 0) {
    set_error("byteformer_classify: data is NULL but size is not 0");
    return nullptr;
  }
  return guarded(
      [&]() -> byteformer_result* {
        std::vector<uint8_t> bytes(data, data + size);
        auto r = std::make_unique<byteformer_result>();
        r->c = clf->clf.classify(bytes, name ? name : "input", raw != 0);
        if (!r->c.ok()) set_error(r->c.error);
        return r.release();
      },
      nullptr);
}

void byteformer_result_free(byteformer_result* r) { delete r; }

int byteformer_result_ok(const byteformer_result* r) { return r && r->c.ok() ? 1 : 0; }

const char* byteformer_result_error(const byteformer_result* r) {
  return r ? r->c.error.c_str() : "byteformer_result_error: result is NULL";
}

int64_t byteformer_result_count(const byteformer_result* r) {
  return r ? static_cast<int64_t>(r->c.probs.size()) : -1;
}

namespace {
// The class at rank `rank` (0 = most probable), or -1; `top` holds every class (open_with).
int64_t class_at_rank(const byteformer_result* r, int64_t rank) {
  if (!r || rank < 0) return -1;
  const auto& c = r->c;
  return rank < static_cast<int64_t>(c.top.size()) ? c.top[static_cast<size_t>(rank)].index : -1;
}
}  // namespace

int64_t byteformer_result_index(const byteformer_result* r, int64_t rank) { return class_at_rank(r, rank); }

const char* byteformer_result_label(const byteformer_result* r, int64_t rank) {
  const int64_t i = class_at_rank(r, rank);
  if (i < 0) return nullptr;
  return r->c.top[static_cast<size_t>(rank)].label.c_str();
}

double byteformer_result_prob(const byteformer_result* r, int64_t rank) {
  const int64_t i = class_at_rank(r, rank);
  return i < 0 ? -1.0 : static_cast<double>(r->c.probs[static_cast<size_t>(i)]);
}

float byteformer_result_logit(const byteformer_result* r, int64_t i) {
  if (!r || i < 0 || i >= static_cast<int64_t>(r->c.logits.size())) return std::numeric_limits<float>::quiet_NaN();
  return r->c.logits[static_cast<size_t>(i)];
}

int64_t byteformer_result_num_bytes(const byteformer_result* r) { return r ? r->c.num_bytes : -1; }

const char* byteformer_last_error(void) { return last_error.c_str(); }

const char* byteformer_version(void) {
  static const std::string v = "byteformer " + byteformer::byteformer_version_string();
  return v.c_str();
}

}  // extern "C"
