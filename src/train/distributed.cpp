// One rank of a data-parallel job: the rendezvous (a TCPStore at MASTER_ADDR:MASTER_PORT), the
// c10d process group, rank 0's weights broadcast, and the collectives the Trainer calls. The
// environment is read in distributed_env.cpp, the watchdog is heartbeat.cpp, the gradient
// buckets gradient_buckets.cpp.
#include "byteformer/train/distributed.h"

#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "train/c10d.h"
#include "train/gradient_buckets.h"
#include "train/heartbeat.h"

namespace byteformer {

#ifdef BYTEFORMER_HAVE_GLOO

using dist::Clock;
using dist::first_line;
using dist::seconds_since;

struct DistributedContext::State {
  DistributedEnv env;
  DistributedOptions opt;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<dist::CommBackend> pg;
  std::string backend;
  std::shared_ptr<dist::Heartbeat> hb;
  std::thread hb_thread;
  bool failed = false;

  std::unique_ptr<dist::GradientBuckets> buckets;
  const std::atomic<int>* local_stop = nullptr;
  std::atomic<int> agreed_stop{0};
  bool checked_replicas = false;
  std::vector<std::pair<torch::Tensor, unsigned>> hook_handles;
  DistributedStats stats;

  [[noreturn]] void fail(const std::string& during, const std::exception& e) {
    failed = true;
    // A peer that died breaks the connection at once, before its heartbeat is overdue: give the
    // heartbeats a moment to tell which rank it was.
    std::string who;
    for (int i = 0; i < 8 && who.empty(); ++i) {
      std::this_thread::sleep_for(opt.heartbeat_interval / 2);
      who = hb->silent_peers(3 * opt.heartbeat_interval, /*store_now=*/true);
    }
    if (who.empty()) who = "every peer still sends heartbeats (the network between hosts?)";
    throw std::runtime_error(fmt::format("rank {}: {} failed: {}; {}", env.rank, during, first_line(e.what()), who));
  }

  void wait(const dist::WorkPtr& work, const std::string& during) {
    try {
      work->wait();
    } catch (const std::exception& e) {
      fail(during, e);
    }
  }

  /// Once, at the first step: the weights (after any resume, before the first update) must be
  /// the same on every rank, else the ranks did not resume from the same checkpoint.
  void check_replicas_agree() {
    const auto& params = buckets->params();
    double sum = 0;
    for (size_t i = 0; i < params.size(); ++i)
      sum += params[i].to(torch::kFloat64).mul(static_cast<double>(i % 7 + 1)).sum().item<double>();
    auto t = torch::tensor({sum, -sum}, torch::kFloat64).to(params.front().device());
    std::vector<at::Tensor> v{t};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::MAX;
    wait(pg->allreduce(v, o), "weight consistency check");
    const auto mm = t.cpu();
    const double hi = mm[0].item<double>(), lo = -mm[1].item<double>();
    if (hi != lo)
      throw std::runtime_error(fmt::format(
          "rank {}: the ranks' weights differ at the first step (checksums from {} to {}, this rank {}); every rank "
          "must resume from the same checkpoint: put the run folder (common.results_loc) on a shared file system",
          env.rank, lo, hi, sum));
  }
};

DistributedContext::DistributedContext(const DistributedEnv& env, DistributedOptions options)
    : s_(std::make_unique<State>()) {
  auto& s = *s_;
  s.env = env;
  s.opt = std::move(options);
  TORCH_CHECK(env.world_size >= 1 && env.rank >= 0 && env.rank < env.world_size,
              "DistributedContext: rank ", env.rank, " outside world size ", env.world_size);
  // A write to a dead peer's socket must fail with EPIPE (and be reported naming the rank), not
  // kill this process with SIGPIPE; Python does the same for PyTorch. Only when nobody chose.
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) std::signal(SIGPIPE, SIG_IGN);
  const std::string where = fmt::format("{}:{}", env.master_addr, env.master_port);
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(env.master_port);
  // Under torchrun its agent already serves a TCPStore at MASTER_PORT: join it as a client, in
  // a namespace of this restart attempt (what PyTorch's env:// init does).
  const bool agent_store = env.agent_store;
  so.isServer = env.rank == 0 && !agent_store;
  so.numWorkers = static_cast<size_t>(env.world_size);
  so.waitWorkers = true;
  // Joining may wait for slow starters (loading LibTorch, indexing the data set): at least 2 min;
  // the heartbeat connection answers within the collective timeout or counts as lost.
  so.timeout = std::max<std::chrono::milliseconds>(s.opt.timeout, std::chrono::minutes(2));
  c10::intrusive_ptr<c10d::Store> hb_store;
  try {
    s.store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    so.isServer = false;
    so.numWorkers = c10::nullopt;
    so.waitWorkers = false;
    so.timeout = s.opt.timeout;
    hb_store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format(
        "rank {}: rendezvous at {} with {} ranks failed within {} s: {}{}", env.rank, where, env.world_size,
        std::chrono::duration_cast<std::chrono::seconds>(so.timeout).count(), first_line(e.what()),
        env.rank == 0 ? " (some rank never connected)" : " (is rank 0 running and MASTER_ADDR/MASTER_PORT right?)"));
  }
  if (agent_store) {
    const std::string attempt = "/worker/attempt_" + env.restart_count;
    s.store = c10::make_intrusive<c10d::PrefixStore>(attempt, s.store);
    hb_store = c10::make_intrusive<c10d::PrefixStore>(attempt, hb_store);
  }
  s.hb = std::make_shared<dist::Heartbeat>();
  s.hb->rank = env.rank;
  s.hb->world = env.world_size;
  s.hb->where = where;
  s.hb->agent_store = agent_store;
  s.hb->interval = s.opt.heartbeat_interval;
  s.hb->timeout = s.opt.timeout;
  s.hb->store = c10::make_intrusive<c10d::PrefixStore>("byteformer", hb_store);
  s.hb->count.assign(static_cast<size_t>(env.world_size), -1);
  s.hb->moved.assign(static_cast<size_t>(env.world_size), Clock::now());
  s.hb_thread = std::thread([hb = s.hb] { hb->loop(); });
}

DistributedContext::~DistributedContext() {
  auto& s = *s_;
  for (auto& [p, h] : s.hook_handles) p.remove_hook(h);
  s.hb->stop = true;
  s.hb_thread.detach();  // it holds its own reference to the heartbeat state
  // After a failure the process group may still wait on a dead peer until its timeout; its
  // destructor would join those threads. Leave it to the process exit instead.
  if (s.failed && s.pg) s.pg.release();
}

int64_t DistributedContext::rank() const { return s_->env.rank; }
int64_t DistributedContext::world_size() const { return s_->env.world_size; }
std::string DistributedContext::backend() const { return s_->backend; }

void DistributedContext::prepare(ByteFormer& model, bool overlap) {
  auto& s = *s_;
  TORCH_CHECK(!s.pg, "DistributedContext::prepare - called twice");
  std::vector<torch::Tensor> params;
  for (const auto& p : model->parameters())
    if (p.requires_grad()) params.push_back(p);
  TORCH_CHECK(!params.empty(), "DistributedContext::prepare - the model has no trainable parameters");
  const torch::Device device = params.front().device();

  std::string backend = s.opt.backend;
  if (backend == "auto") backend = device.is_cuda() ? "nccl" : "gloo";
  auto pg_store = c10::make_intrusive<c10d::PrefixStore>("byteformer/pg", s.store);
  try {
    if (backend == "nccl") {
#ifdef USE_C10D_NCCL
      TORCH_CHECK(device.is_cuda(), "NCCL needs the parameters on a CUDA device, got ", device);
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = s.opt.timeout;
      s.pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(pg_store, static_cast<int>(s.env.rank),
                                                          static_cast<int>(s.env.world_size), o);
#else
      throw std::runtime_error("this build has no NCCL (configure LibTorch with CUDA and define USE_C10D_NCCL)");
#endif
    } else {
      TORCH_CHECK(device.is_cpu(), "Gloo here reduces CPU tensors; the parameters are on ", device);
      auto o = c10d::ProcessGroupGloo::Options::create(s.opt.timeout);
      if (!s.opt.gloo_interface.empty())
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(s.opt.gloo_interface));
      else
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(
            local_address_towards(s.env.master_addr, s.env.master_port)));
      s.pg = c10::make_intrusive<c10d::ProcessGroupGloo>(pg_store, static_cast<int>(s.env.rank),
                                                          static_cast<int>(s.env.world_size), o);
    }
  } catch (const std::exception& e) {
    s.failed = true;
    throw std::runtime_error(fmt::format("rank {}: cannot start the {} process group: {}", s.env.rank, backend,
                                         first_line(e.what())));
  }
  s.backend = backend;

  // Rank 0's weights everywhere (they already agree when every rank seeds alike; this makes it
  // so whatever the initialisation did).
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> state;
    for (const auto& p : model->parameters()) state.push_back(p);
    for (const auto& b : model->buffers()) state.push_back(b);
    for (auto& t : state) {
      std::vector<at::Tensor> one{t};
      s.wait(s.pg->broadcast(one, c10d::BroadcastOptions{}), "broadcast of rank 0's parameters");
    }
  }

  s.buckets = std::make_unique<dist::GradientBuckets>(params, s.opt.bucket_mb, s.pg);
  s.buckets->set_stop_source(s.local_stop);
  s.stats.buckets = s.buckets->count();
  s.stats.bytes_per_step = s.buckets->bytes();
  if (overlap) {
    dist::GradientBuckets* buckets = s.buckets.get();
    for (size_t i = 0; i < params.size(); ++i) {
      auto& p = params[i];
      const unsigned h = p.register_hook([buckets, i](torch::Tensor grad) {
        buckets->on_grad(static_cast<int64_t>(i), grad);
      });
      s.hook_handles.emplace_back(p, h);
    }
  }
}

void DistributedContext::average_gradients(ByteFormer& /*model*/) {
  auto& s = *s_;
  TORCH_CHECK(s.pg, "DistributedContext::average_gradients - call prepare(model) first");
  const auto t0 = Clock::now();
  const bool stop = s.buckets->average(static_cast<double>(s.env.world_size),
                                       [&s](const dist::WorkPtr& w, const std::string& during) { s.wait(w, during); });
  if (stop && s.agreed_stop.load() == 0) {
    const int local = s.local_stop ? s.local_stop->load() : 0;
    s.agreed_stop.store(local != 0 ? local : SIGTERM);
  }
  if (!s.checked_replicas) {
    s.checked_replicas = true;
    s.check_replicas_agree();
  }
  ++s.stats.steps;
  s.stats.exposed_ms_total += seconds_since(t0) * 1000.0;
}

void DistributedContext::reduce_metrics(EpochMetrics& m) {
  auto& s = *s_;
  TORCH_CHECK(s.pg, "DistributedContext::reduce_metrics - call prepare(model) first");
  torch::Device device = s.buckets->params().front().device();
  auto t = torch::tensor({m.loss_sum, static_cast<double>(m.top1), static_cast<double>(m.top5),
                          static_cast<double>(m.samples), static_cast<double>(m.skipped)},
                         torch::kFloat64)
               .to(device);
  std::vector<at::Tensor> v{t};
  s.wait(s.pg->allreduce(v), "metrics all-reduce");
  const auto c = t.cpu();
  const auto* d = c.data_ptr<double>();
  m.loss_sum = d[0];
  m.top1 = static_cast<int64_t>(std::llround(d[1]));
  m.top5 = static_cast<int64_t>(std::llround(d[2]));
  m.samples = static_cast<int64_t>(std::llround(d[3]));
  m.skipped = static_cast<int64_t>(std::llround(d[4]));
}

void DistributedContext::barrier() {
  auto& s = *s_;
  TORCH_CHECK(s.pg, "DistributedContext::barrier - call prepare(model) first");
  s.wait(s.pg->barrier(), "barrier");
}

DistributedStats DistributedContext::stats() const {
  DistributedStats out = s_->stats;
  if (s_->buckets) out.buckets_overlapped = s_->buckets->launched_from_hooks();
  return out;
}

const std::atomic<int>* DistributedContext::agree_on_stop(const std::atomic<int>* local) {
  s_->local_stop = local;
  if (s_->buckets) s_->buckets->set_stop_source(local);
  return &s_->agreed_stop;
}

DistributedHooks DistributedContext::hooks() {
  DistributedHooks h;
  h.rank = rank();
  h.world_size = world_size();
  h.after_backward = [this](ByteFormer& m) { average_gradients(m); };
  h.reduce_metrics = [this](EpochMetrics& m) { reduce_metrics(m); };
  return h;
}

#else  // no Gloo headers

struct DistributedContext::State {
  DistributedEnv env;
};

DistributedContext::DistributedContext(const DistributedEnv& env, DistributedOptions) : s_(std::make_unique<State>()) {
  s_->env = env;
  throw std::runtime_error(
      "distributed training: this build has no c10d process group (Gloo headers were missing at build time; "
      "Debian: apt-get install libgloo-dev, then rebuild)");
}
DistributedContext::~DistributedContext() = default;
int64_t DistributedContext::rank() const { return s_->env.rank; }
int64_t DistributedContext::world_size() const { return s_->env.world_size; }
std::string DistributedContext::backend() const { return ""; }
void DistributedContext::prepare(ByteFormer&, bool) {}
DistributedHooks DistributedContext::hooks() { return {}; }
void DistributedContext::average_gradients(ByteFormer&) {}
void DistributedContext::reduce_metrics(EpochMetrics&) {}
void DistributedContext::barrier() {}
DistributedStats DistributedContext::stats() const { return {}; }
const std::atomic<int>* DistributedContext::agree_on_stop(const std::atomic<int>* local) { return local; }

#endif

}  // namespace byteformer
