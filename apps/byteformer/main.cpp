// byteformer: train, evaluate and run ByteFormer (Horton et al. 2023) on file bytes.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "commands.h"
#include "process_tuning.h"

int main(int argc, char** argv) {
  byteformer::cli::prefer_passive_threads(argc, argv);
  byteformer::cli::tune_allocator(argc, argv);
  CLI::App app{"byteformer: ByteFormer (Bytes Are All You Need) in C++ on LibTorch"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "byteformer 0.1.0");
  byteformer::cli::add_predict_command(app);
  byteformer::cli::add_info_command(app);
  byteformer::cli::add_encode_command(app);
  byteformer::cli::add_train_command(app);
  byteformer::cli::add_eval_command(app);
  byteformer::cli::add_data_command(app);
  byteformer::cli::add_report_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
