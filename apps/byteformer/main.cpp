// byteformer: train, evaluate and run ByteFormer (Horton et al. 2023) on file bytes.
#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <algorithm>
#include <exception>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "byteformer/runtime/build_info.h"
#include "commands.h"
#include "process_tuning.h"

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

/// "unknown command 'predcit' (did you mean 'predict'?); the commands are: predict, info, ..."
/// or "" when `name` is a command. CLI11 alone says only "A subcommand is required".
std::string unknown_command_message(CLI::App& app, const std::string& name) {
  std::string list, closest;
  size_t best = 3;  // suggest only within two edits
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->check_name(name)) return "";
    list += (list.empty() ? "" : ", ") + sub->get_name();
    if (const size_t d = edit_distance(name, sub->get_name()); d < best) best = d, closest = sub->get_name();
  }
  return "unknown command '" + name + "'" + (closest.empty() ? "" : " (did you mean '" + closest + "'?)") +
         "; the commands are: " + list + " (byteformer COMMAND --help for one)";
}

}  // namespace

int main(int argc, char** argv) {
  try {
    // Before anything runs: a command that re-executes itself should not have done work yet.
    // No global options exist, so argv[1] is the command (or --help / --version).
    byteformer::apply_runtime_options(byteformer::cli::runtime_options_for(argc > 1 ? argv[1] : ""), argv);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  CLI::App app{"byteformer: ByteFormer (Bytes Are All You Need) in C++ on LibTorch"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] { return byteformer::build_info(); });
  app.option_defaults()->always_capture_default();  // --help shows every option's default
  byteformer::cli::add_predict_command(app);
  byteformer::cli::add_info_command(app);
  byteformer::cli::add_encode_command(app);
  byteformer::cli::add_train_command(app);
  byteformer::cli::add_eval_command(app);
  byteformer::cli::add_data_command(app);
  byteformer::cli::add_report_command(app);
  byteformer::cli::add_serve_command(app);
  if (argc > 1 && argv[1][0] != '-') {
    if (const std::string msg = unknown_command_message(app, argv[1]); !msg.empty()) {
      std::cerr << "error: " << msg << "\n";
      return 1;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const c10::Error& e) {
    // LibTorch's message carries a C++ stack trace after its first line; the user needs the line.
    const std::string what = e.what_without_backtrace();
    std::cerr << "error: " << what.substr(0, what.find('\n')) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  // What a command printed is its result: a full disk or a closed pipe must not end in success.
  std::cout.flush();
  if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
    const int err = errno;
    std::cerr << "error: writing the results to standard output failed"
              << (err != 0 ? std::string(": ") + std::strerror(err) : std::string(" (disk full, or the reader went away?)"))
              << "\n";
    return 1;
  }
  return 0;
}
