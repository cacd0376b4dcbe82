#include "process_tuning.h"

namespace byteformer::cli {

RuntimeOptions runtime_options_for(const std::string& command) {
  RuntimeOptions o = RuntimeOptions::from_environment();
  const bool runs_forward = command == "train" || command == "eval" || command == "predict" || command == "serve";
  o.keep_freed_memory = runs_forward;
  o.passive_threads = runs_forward;
  o.one_heap = command == "serve";
  return o;
}

}  // namespace byteformer::cli
