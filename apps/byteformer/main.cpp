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

#include "byteformer/io/suggest.h"
#include "byteformer/model/precision.h"
#include "byteformer/runtime/build_info.h"
#include "commands.h"
#include "process_tuning.h"

namespace {

/// "unknown command 'predcit' (did you mean 'predict'?); the commands are: predict, info, ..."
/// or "" when `name` is a command. CLI11 alone says only "A subcommand is required".
std::string unknown_command_message(CLI::App& app, const std::string& name) {
  std::string list;
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->check_name(name)) return "";
    list += (list.empty() ? "" : ", ") + sub->get_name();
    names.push_back(sub->get_name());
  }
  const std::string closest = byteformer::closest_spelling(name, names);
  return "unknown command '" + name + "'" + (closest.empty() ? "" : " (did you mean '" + closest + "'?)") +
         "; the commands are: " + list + " (byteformer COMMAND --help for one)";
}

/// "unknown flag '--topk' for predict (did you mean '--top-k'?)", or "" when every `--flag` of
/// the command line is one of the command's. CLI11 alone says only "The following argument was
/// not expected".
std::string unknown_flag_message(CLI::App& app, int argc, char** argv) {
  // The (sub)command the words before the first flag name: `data fashion-mnist --out DIR`.
  CLI::App* sub = &app;
  int i = 1;
  for (; i < argc; ++i) {
    CLI::App* next = nullptr;
    for (CLI::App* s : sub->get_subcommands([](CLI::App*) { return true; }))
      if (s->check_name(argv[i])) next = s;
    if (next == nullptr) break;
    sub = next;
  }
  if (sub == &app) return "";
  std::vector<std::string> flags;
  for (const CLI::App* a = sub; a != nullptr; a = a->get_parent())  // a parent's flags count too
    for (const CLI::Option* o : a->get_options())
      for (const auto& n : o->get_lnames()) flags.push_back("--" + n);
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;  // what follows is operands
    if (arg.rfind("--", 0) != 0 || arg.size() < 3) continue;
    const std::string flag = arg.substr(0, arg.find('='));
    if (std::find(flags.begin(), flags.end(), flag) != flags.end()) continue;
    const std::string closest = byteformer::closest_spelling(flag, flags);
    return "unknown flag '" + flag + "' for " + sub->get_name() +
           (closest.empty() ? "" : " (did you mean '" + closest + "'?)") + "; byteformer " + sub->get_name() +
           " --help lists them";
  }
  return "";
}

/// Exit statuses: 0 success, 1 a failure while running (a file, a config, a model folder, a
/// failed input), 2 a command line that cannot be run (as most Unix tools); a command may end
/// with its own status (an interrupted training run: 128 + the signal).
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

/// CLI11's parse errors in the project's voice: "error: ..." and the help hint, status 2.
/// --help and --version are not errors; a command's own status (CLI::RuntimeError) stands.
int report_parse_error(CLI::App& app, const CLI::ParseError& e, const std::string& command) {
  const std::string name = e.get_name();
  if (name == "CallForHelp" || name == "CallForAllHelp" || name == "CallForVersion") return app.exit(e);
  if (name == "RuntimeError") return e.get_exit_code();
  std::cerr << "error: " << e.what() << "; byteformer " << command << " --help lists the flags\n";
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    // Before anything runs: a command that re-executes itself should not have done work yet.
    // No global options exist, so argv[1] is the command (or --help / --version).
    byteformer::apply_runtime_options(byteformer::cli::runtime_options_for(argc > 1 ? argv[1] : ""), argv);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailure;
  }
  CLI::App app{"byteformer: ByteFormer (Bytes Are All You Need) in C++ on LibTorch"};
  app.require_subcommand(1);
  // The build, then the precisions it and this CPU run (the model's to say: runtime sits below it).
  app.set_version_flag("--version", [] {
    return byteformer::build_info() + "\n" + byteformer::precision_summary(byteformer::detect_precision_features());
  });
  app.option_defaults()->always_capture_default();  // --help shows every option's default
  byteformer::cli::add_predict_command(app);
  byteformer::cli::add_identify_command(app);
  byteformer::cli::add_info_command(app);
  byteformer::cli::add_encode_command(app);
  byteformer::cli::add_train_command(app);
  byteformer::cli::add_eval_command(app);
  byteformer::cli::add_data_command(app);
  byteformer::cli::add_report_command(app);
  byteformer::cli::add_serve_command(app);
  byteformer::cli::add_export_command(app);
  if (argc > 1 && argv[1][0] != '-') {
    if (const std::string msg = unknown_command_message(app, argv[1]); !msg.empty()) {
      std::cerr << "error: " << msg << "\n";
      return kExitUsage;
    }
  }
  if (const std::string msg = unknown_flag_message(app, argc, argv); !msg.empty()) {
    std::cerr << "error: " << msg << "\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const bool has_command = argc > 1 && unknown_command_message(app, argv[1]).empty() && argv[1][0] != '-';
    return report_parse_error(app, e, has_command ? argv[1] : "COMMAND");
  } catch (const c10::Error& e) {
    // LibTorch's message carries a C++ stack trace after its first line; the user needs the line.
    const std::string what = e.what_without_backtrace();
    std::cerr << "error: " << what.substr(0, what.find('\n')) << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailure;
  }
  // What a command printed is its result: a full disk or a closed pipe must not end in success.
  std::cout.flush();
  if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
    const int err = errno;
    std::cerr << "error: writing the results to standard output failed"
              << (err != 0 ? std::string(": ") + std::strerror(err) : std::string(" (disk full, or the reader went away?)"))
              << "\n";
    return kExitFailure;
  }
  return 0;
}
