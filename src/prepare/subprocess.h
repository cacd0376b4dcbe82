// Running the external tools the data-preparation commands use (npm, espeak-ng) through
// /bin/sh. Private to src/data.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace byteformer {

/// 'text' quoted for /bin/sh (single quotes, embedded quotes escaped).
std::string shell_quote(const std::string& text);

/// Runs `command` through /bin/sh; returns its exit status (or -1 when it could not run or was
/// killed by a signal).
int run_shell(const std::string& command);

/// Runs `command` through /bin/sh and returns everything it wrote to stdout. Throws
/// std::runtime_error naming the command when it cannot start or exits non-zero.
std::vector<uint8_t> capture_shell(const std::string& command);

/// True when `program` is found on $PATH.
bool program_on_path(const std::string& program);

}  // namespace byteformer
