// The subcommands of the `byteformer` CLI. Each cmd_<name>.cpp adds one subcommand to the app;
// the work itself lives in the library (apps stay thin, STYLE.md rule 8).
#pragma once
#include <CLI/CLI.hpp>

namespace byteformer::cli {

void add_predict_command(CLI::App& app);
void add_identify_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_encode_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_data_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_export_command(CLI::App& app);

}  // namespace byteformer::cli
