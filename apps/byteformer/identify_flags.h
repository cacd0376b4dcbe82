// The flags `byteformer identify` and `byteformer-identify` share (one definition for both
// programs; each adds its own: --model, and the LibTorch one's --precision, --device, --threads).
#pragma once
#include <CLI/CLI.hpp>

#include "byteformer/lite/identify.h"

namespace byteformer::cli {

inline void add_identify_flags(CLI::App* cmd, IdentifyOptions& o) {
  cmd->add_option("--mode", o.mode,
                  "high-confidence: the model's answer when its probability reaches the type's calibrated threshold "
                  "(thresholds.json); medium-confidence: when it reaches 0.5; best-guess: always. Otherwise txt for "
                  "text, unknown for other bytes")
      ->check(CLI::IsMember({"high-confidence", "medium-confidence", "best-guess", "high", "medium", "best"}))
      ->capture_default_str();
  cmd->add_flag("--json", o.json,
                "One JSON object a line: path, label, score, group, mime_type, model_label, top [{label, score}]");
  cmd->add_option("--top,--top-k", o.top, "Classes in --json's top")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_flag("-r,--recursive", o.recursive, "Identify the files under directories given");
  cmd->add_flag("--no-dereference", o.no_dereference, "A symbolic link answers `symlink` (not followed)");
  cmd->add_option("--batch-size", o.batch_size, "Files per forward pass")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--read-timeout", o.read_timeout_s,
                  "Seconds to wait for the next byte from a fifo, pipe or device before that input is an error")
      ->check(CLI::Range(1e-3, 86400.0))
      ->capture_default_str();
  cmd->add_flag("--timings", o.timings, "Print where the time went on stderr");
  cmd->add_option("files", o.files, "Files (directories with -r; - for stdin)")->required();
}

}  // namespace byteformer::cli
