// A run folder's file-type model for the plain C++ engine (byteformer/lite/lite_model.h): what
// `byteformer export` writes as a `.bfm` file (docs/LITE.md) and byteformer-identify runs
// without LibTorch.
//
//   const LiteExport e = lite_export("runs/file_types");
//   write_lite_model("runs/file_types/model.bfm", e.spec, e.tensors);
#pragma once
#include <string>
#include <vector>

#include "byteformer/lite/lite_model.h"
#include "byteformer/model/byteformer_options.h"

namespace byteformer {

/// The model's sizes as a model file states them, every per-layer value resolved.
LiteArchitecture lite_architecture(const ByteFormerOptions& options);

struct LiteExport {
  LiteModelSpec spec;
  std::vector<LiteTensor> tensors;  // float32, in the model's state_dict order
  std::string weights;              // the weights file it came from
};

/// Loads a run folder as eval loads it (its config and best weights, their labels, its
/// calibrated thresholds) and gives what the lite engine needs. Throws std::runtime_error naming
/// the folder and what the engine lacks for a model it cannot run: one not of file bytes, with
/// privacy transforms, in corenet numerics, without a token-reduction Conv1d, with another norm.
LiteExport lite_export(const std::string& run_dir);

}  // namespace byteformer
