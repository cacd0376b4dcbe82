// `byteformer serve`: the HTTP inference service (byteformer/serve/server.h) on one model.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <csignal>
#include <iostream>
#include <limits>
#include <unistd.h>
#include <memory>
#include <thread>

#include "byteformer/classify/classifier.h"
#include "byteformer/model/device.h"
#include "byteformer/serve/server.h"
#include "byteformer/io/run_folder.h"
#include "cli_common.h"
#include "commands.h"

namespace byteformer::cli {

namespace {

struct Args {
  ModelFlags model;
  PrecisionFlags precision;
  ServeOptions serve;
};

// SIGINT / SIGTERM stop the server. The handler only writes the signal's number to a pipe
// (async-signal-safe, and it may run in any thread: OpenBLAS starts its threads before main);
// a thread of ours reads it and stops the server, or ends the process when there is none yet.
// A second signal ends the process without waiting for the answers in progress.
int signal_pipe[2] = {-1, -1};

void on_signal(int sig) {
  const unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] const ssize_t n = ::write(signal_pipe[1], &b, 1);
}

void stop_on_signals(std::atomic<Server*>& server) {
  if (::pipe(signal_pipe) != 0) throw std::runtime_error("serve: cannot create a pipe for signals");
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::thread([&server] {
    for (bool stopping = false;;) {
      unsigned char sig = 0;
      if (::read(signal_pipe[0], &sig, 1) != 1) continue;
      Server* s = server.load();
      if (s == nullptr || stopping) {
        std::cerr << "serve: signal " << static_cast<int>(sig) << ", exiting now\n" << std::flush;
        std::_Exit(128 + sig);
      }
      std::cerr << "serve: signal " << static_cast<int>(sig)
                << ", stopping (answering the requests received; a second signal exits now)\n"
                << std::flush;
      stopping = true;
      s->stop();
    }
  }).detach();
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("serve", "HTTP inference service: /v1/classify, KServe v2, /metrics, a web page");
  add_model_flags(cmd, args->model, /*weights=*/true, /*run_dir=*/true);
  add_precision_flags(cmd, args->precision);
  auto& s = args->serve;
  cmd->add_option("--name", s.name, "The model's name in /v2/models/{name}")->capture_default_str();
  cmd->add_option("--host", s.host, "Address to listen on (0.0.0.0: every interface)")->capture_default_str();
  cmd->add_option("--port", s.port, "Port (0: any free port, printed)")->check(number_in(0, 65535, /*integer=*/true))->capture_default_str();
  cmd->add_option("--max-batch-size", s.batch.max_batch_size, "Requests per forward pass")
      ->check(positive_int())
      ->capture_default_str();
  cmd->add_option("--max-queue-delay-ms", s.batch.max_queue_delay_ms,
                  "How long the first request of a batch waits for more")
      ->check(number_in(0, 10000))
      ->capture_default_str();
  cmd->add_option("--max-queue", s.batch.max_queue, "Requests waiting; more get 503 with Retry-After")
      ->check(positive_int())
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", s.max_body_bytes, "Largest request body (413 above)")
      ->check(positive_int())
      ->capture_default_str();
  cmd->add_option("--http-threads", s.threads, "HTTP worker threads (they decode and re-encode the files)")
      ->check(positive_int())
      ->capture_default_str();
  cmd->add_option("--max-decodes", s.max_decodes,
                  "Files decoded at once (the memory budget of work in flight: each may take up to about 1.2 GB); "
                  "the others wait")
      ->check(positive_int())
      ->capture_default_str();
  cmd->add_option("--top-k", s.default_top_k, "Classes per answer unless the request says top_k")
      ->check(positive_int())
      ->capture_default_str();
  cmd->callback([args] {
    args->model.check_source();
    static std::atomic<Server*> running{nullptr};
    stop_on_signals(running);
    apply_threads(args->model);
    const auto t0 = std::chrono::steady_clock::now();
    ClassifierOptions options;
    options.model = args->model.spec();
    options.top_k = std::numeric_limits<int64_t>::max();  // every class; each request picks its top_k
    options.max_batch_size = args->serve.batch.max_batch_size;
    options.precision = args->precision.requested(options.model.device.type());
    if (!args->model.run_dir.empty()) options.thresholds = find_run_folder(args->model.run_dir).thresholds;
    const Classifier clf = Classifier::open(options);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cerr << clf.numerics_note() << "\n";
    Server server(clf, args->serve, load_s);
    const int port = server.bind();
    std::cerr << fmt::format("serve: model {} ({}, {} on {}), input: {}; loaded in {:.2f} s, warmed in {:.2f} s\n",
                             args->serve.name, clf.weights_path(), to_string(clf.precision()),
                             device_name(clf.options().model.device), clf.input_description(false), load_s,
                             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() - load_s);
    std::cout << fmt::format("serve: listening on http://{}:{}/\n", args->serve.host, port) << std::flush;
    running = &server;
    server.run();
    running = nullptr;
  });
}

}  // namespace byteformer::cli
