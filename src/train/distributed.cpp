#include "byteformer/train/distributed.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <torch/version.h>
#include <vector>

// ProcessGroupGloo.hpp includes Gloo's own headers (Debian: libgloo-dev); without them the
// library still builds and DistributedContext says what is missing.
#if __has_include(<gloo/algorithm.h>)
#define BYTEFORMER_HAVE_GLOO 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if defined(BYTEFORMER_HAVE_GLOO) && defined(USE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace byteformer {

namespace {

std::optional<std::string> env_var(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

int64_t env_int(const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  const auto v = env_var(name);
  if (!v) return fallback;
  size_t used = 0;
  int64_t x = 0;
  try {
    x = std::stoll(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v->size() || x < lo || x > hi)
    throw std::invalid_argument(fmt::format("environment: {}={}: expected an integer in [{}, {}]", name, *v, lo, hi));
  return x;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

std::optional<DistributedEnv> DistributedEnv::from_environment() {
  if (!env_var("WORLD_SIZE")) return std::nullopt;
  DistributedEnv e;
  e.world_size = env_int("WORLD_SIZE", 1, 1, 1 << 20);
  e.rank = env_int("RANK", 0, 0, e.world_size - 1);
  e.local_rank = env_int("LOCAL_RANK", 0, 0, e.world_size - 1);
  e.local_world_size = env_int("LOCAL_WORLD_SIZE", 1, 1, e.world_size);
  e.master_addr = env_var("MASTER_ADDR").value_or("127.0.0.1");
  e.master_port = static_cast<int>(env_int("MASTER_PORT", 29500, 1, 65535));
  if (e.world_size > 1 && !env_var("RANK"))
    throw std::invalid_argument(fmt::format("environment: WORLD_SIZE={} but RANK is not set", e.world_size));
  return e;
}

DistributedOptions DistributedOptions::from_environment() {
  DistributedOptions o;
  o.timeout = std::chrono::seconds(env_int("BYTEFORMER_DIST_TIMEOUT", 300, 1, 7 * 24 * 3600));
  if (const auto mb = env_var("BYTEFORMER_DIST_BUCKET_MB")) {
    try {
      o.bucket_mb = std::stod(*mb);
    } catch (const std::exception&) {
      o.bucket_mb = -1;
    }
    if (!(o.bucket_mb > 0))
      throw std::invalid_argument("environment: BYTEFORMER_DIST_BUCKET_MB=" + *mb + ": expected a size in MB > 0");
  }
  if (const auto b = env_var("BYTEFORMER_DIST_BACKEND")) {
    if (*b != "auto" && *b != "gloo" && *b != "nccl")
      throw std::invalid_argument("environment: BYTEFORMER_DIST_BACKEND=" + *b + ": expected auto, gloo or nccl");
    o.backend = *b;
  }
  o.gloo_interface = env_var("GLOO_SOCKET_IFNAME").value_or("");
  if (const auto v = env_var("BYTEFORMER_DIST_OVERLAP")) {
    if (*v != "0" && *v != "1")
      throw std::invalid_argument("environment: BYTEFORMER_DIST_OVERLAP=" + *v + ": expected 0 or 1");
    o.overlap = *v == "1";
  }
  return o;
}

std::string local_address_towards(const std::string& master_addr, int port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(master_addr.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || res == nullptr)
    throw std::runtime_error(fmt::format("distributed: cannot resolve MASTER_ADDR {} (IPv4)", master_addr));
  // A connected UDP socket sends nothing; the kernel only picks the route and source address.
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  std::string out;
  if (fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    char buf[INET_ADDRSTRLEN] = {0};
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
        inet_ntop(AF_INET, &local.sin_addr, buf, sizeof(buf)) != nullptr)
      out = buf;
  }
  if (fd >= 0) ::close(fd);
  freeaddrinfo(res);
  if (out.empty() || out == "0.0.0.0")
    throw std::runtime_error(fmt::format("distributed: no route from this host to MASTER_ADDR {}", master_addr));
  return out;
}

#ifdef BYTEFORMER_HAVE_GLOO

// LibTorch 2.x moved the collectives from ProcessGroup to Backend (ProcessGroupGloo/NCCL derive
// from it); 1.13's derive from ProcessGroup. Both have the same allreduce/broadcast/barrier.
#if TORCH_VERSION_MAJOR >= 2
using CommBackend = c10d::Backend;
#else
using CommBackend = c10d::ProcessGroup;
#endif
using WorkPtr = c10::intrusive_ptr<c10d::Work>;

namespace {

/// Heartbeats through the TCPStore (a counter per rank, so hosts need no common clock), on a
/// connection of its own; remembers when each peer's counter last moved. Shared with its thread,
/// which is detached at the end so that a store that stopped answering cannot block the exit.
struct Heartbeat {
  int64_t rank = 0, world = 1;
  std::string where;  // MASTER_ADDR:MASTER_PORT
  bool agent_store = false;  // torchrun's agent hosts the store, not rank 0
  std::chrono::milliseconds interval{500}, timeout{300000};
  c10::intrusive_ptr<c10d::Store> store;
  std::mutex mu;
  std::vector<int64_t> count;
  std::vector<Clock::time_point> moved;
  bool store_lost = false;
  Clock::time_point store_lost_at;
  std::string store_error;
  std::atomic<bool> stop{false};

  void loop() {
    bool warned = false;
    auto tick = Clock::now();
    while (!stop.load()) {
      // This process itself was stalled (SIGSTOP, swapping): peers' silence is not theirs.
      if (Clock::now() - tick > 4 * interval) {
        std::lock_guard<std::mutex> lock(mu);
        for (auto& t : moved) t = Clock::now();
      }
      tick = Clock::now();
      try {
        store->add(fmt::format("hb/{}", rank), 1);
        for (int64_t r = 0; r < world; ++r) {
          if (r == rank) continue;
          const int64_t v = store->add(fmt::format("hb/{}", r), 0);
          std::lock_guard<std::mutex> lock(mu);
          if (v != count[r]) count[r] = v, moved[r] = Clock::now();
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        if (!store_lost) store_lost = true, store_lost_at = Clock::now(), store_error = first_line(e.what());
      }
      // The backstop: collectives time out after `timeout` and the main thread reports it; if a
      // peer stays silent half as long again (this rank is stuck outside a collective, say),
      // stop the process, as PyTorch's NCCL watchdog does, so the job never hangs silently.
      const std::string why = silent_peers(timeout + timeout / 2);
      if (!why.empty() && !warned && !stop.load()) {
        warned = true;
        std::fprintf(stderr, "error: rank %lld: watchdog: %s; stopping\n", static_cast<long long>(rank), why.c_str());
        std::fflush(stderr);
        std::_Exit(EXIT_FAILURE);
      }
      std::this_thread::sleep_for(interval);
    }
  }

  /// Names the peers silent for longer than `limit` ("" when none); a lost store counts at once
  /// with `store_now`.
  std::string silent_peers(std::chrono::milliseconds limit, bool store_now = false) {
    std::lock_guard<std::mutex> lock(mu);
    const double lim = std::chrono::duration<double>(limit).count();
    if (store_lost && (store_now || seconds_since(store_lost_at) > lim))
      return fmt::format("{} at {} stopped answering ({})",
                         agent_store ? "torchrun's rendezvous store" : "rank 0 is gone: the rendezvous store it hosts",
                         where, store_error);
    std::string out;
    for (int64_t r = 0; r < world; ++r) {
      if (r == rank) continue;
      const double age = seconds_since(moved[r]);
      if (age > lim)
        out += fmt::format("{}rank {} sent no heartbeat for {:.1f} s (dead, stopped or cut off)", out.empty() ? "" : "; ",
                           r, age);
    }
    return out;
  }
};

}  // namespace

struct DistributedContext::State {
  DistributedEnv env;
  DistributedOptions opt;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<CommBackend> pg;
  std::string backend;
  std::shared_ptr<Heartbeat> hb;
  std::thread hb_thread;
  bool failed = false;

  struct Bucket {
    std::vector<int64_t> params;  // indices into `params`
    std::vector<int64_t> offsets;
    torch::Tensor flat;  // (numel,) on the parameters' device
    int64_t ready = 0;
    WorkPtr work;
  };
  std::vector<torch::Tensor> params;
  std::vector<int64_t> bucket_of, slot_of;
  std::vector<char> param_ready;
  std::vector<Bucket> buckets;  // the last one carries one extra element: the stop request
  size_t next_launch = 0;
  const std::atomic<int>* local_stop = nullptr;
  std::atomic<int> agreed_stop{0};
  bool overlap = false;
  bool checked_replicas = false;
  std::vector<std::pair<torch::Tensor, unsigned>> hook_handles;
  std::mutex mu;  // hooks run on the autograd thread
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

  void wait(const WorkPtr& work, const std::string& during) {
    try {
      work->wait();
    } catch (const std::exception& e) {
      fail(during, e);
    }
  }

  void launch(Bucket& b) {
    if (&b == &buckets.back()) b.flat.narrow(0, b.flat.numel() - 1, 1).fill_(local_stop && local_stop->load() ? 1.0 : 0.0);
    std::vector<at::Tensor> tensors{b.flat};
    b.work = pg->allreduce(tensors);
  }

  /// Launches buckets in index order only, so every rank issues the same collectives in the
  /// same order whatever order their gradients arrived in.
  void launch_ready_prefix(bool from_hook) {
    while (next_launch < buckets.size() &&
           buckets[next_launch].ready == static_cast<int64_t>(buckets[next_launch].params.size())) {
      launch(buckets[next_launch]);
      if (from_hook) ++stats.buckets_overlapped;
      ++next_launch;
    }
  }

  void fill_slot(int64_t i, const torch::Tensor& grad) {
    Bucket& b = buckets[static_cast<size_t>(bucket_of[i])];
    const int64_t slot = slot_of[i];
    const auto& p = params[static_cast<size_t>(i)];
    auto dst = b.flat.narrow(0, b.offsets[static_cast<size_t>(slot)], p.numel());
    if (grad.defined())
      dst.copy_(grad.reshape({-1}));
    else
      dst.zero_();  // no gradient on this rank in this window: contributes zeros
    param_ready[static_cast<size_t>(i)] = 1;
    ++b.ready;
  }

  void on_grad(int64_t i, const torch::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mu);
    torch::NoGradGuard no_grad;
    TORCH_CHECK(!param_ready[static_cast<size_t>(i)],
                "DistributedContext: the gradient of one parameter arrived twice before after_backward; overlap "
                "needs one backward per optimiser step (common.accum_freq 1)");
    fill_slot(i, grad);
    launch_ready_prefix(/*from_hook=*/true);
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
  const bool agent_store = env_var("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
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
    const std::string attempt = "/worker/attempt_" + env_var("TORCHELASTIC_RESTART_COUNT").value_or("0");
    s.store = c10::make_intrusive<c10d::PrefixStore>(attempt, s.store);
    hb_store = c10::make_intrusive<c10d::PrefixStore>(attempt, hb_store);
  }
  s.hb = std::make_shared<Heartbeat>();
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

  // Buckets in reverse registration order, the order the backward pass produces gradients in
  // (PyTorch DDP's first guess too); a new bucket whenever the dtype changes or the cap is hit.
  const int64_t cap = std::max<int64_t>(1, static_cast<int64_t>(s.opt.bucket_mb * 1024 * 1024));
  s.params = params;
  const auto n = static_cast<int64_t>(params.size());
  s.bucket_of.assign(static_cast<size_t>(n), 0);
  s.slot_of.assign(static_cast<size_t>(n), 0);
  s.param_ready.assign(static_cast<size_t>(n), 0);
  int64_t bytes = 0, numel = 0;
  for (int64_t i = n - 1; i >= 0; --i) {
    const auto& p = params[static_cast<size_t>(i)];
    const int64_t pb = p.numel() * static_cast<int64_t>(p.element_size());
    const bool new_bucket = s.buckets.empty() || bytes + pb > cap ||
                            params[static_cast<size_t>(s.buckets.back().params.front())].scalar_type() != p.scalar_type();
    if (new_bucket) {
      if (!s.buckets.empty()) s.buckets.back().flat = torch::zeros({numel}, s.params[s.buckets.back().params.front()].options());
      s.buckets.emplace_back();
      bytes = numel = 0;
    }
    auto& b = s.buckets.back();
    s.bucket_of[static_cast<size_t>(i)] = static_cast<int64_t>(s.buckets.size()) - 1;
    s.slot_of[static_cast<size_t>(i)] = static_cast<int64_t>(b.params.size());
    b.params.push_back(i);
    b.offsets.push_back(numel);
    bytes += pb;
    numel += p.numel();
    s.stats.bytes_per_step += pb;
  }
  s.buckets.back().flat = torch::zeros({numel + 1}, s.params[s.buckets.back().params.front()].options());
  s.stats.buckets = static_cast<int64_t>(s.buckets.size());

  s.overlap = overlap;
  if (overlap) {
    State* st = s_.get();
    for (int64_t i = 0; i < n; ++i) {
      auto& p = s.params[static_cast<size_t>(i)];
      const unsigned h = p.register_hook([st, i](torch::Tensor grad) { st->on_grad(i, grad); });
      s.hook_handles.emplace_back(p, h);
    }
  }
}

void DistributedContext::average_gradients(ByteFormer& /*model*/) {
  auto& s = *s_;
  TORCH_CHECK(s.pg, "DistributedContext::average_gradients - call prepare(model) first");
  const auto t0 = Clock::now();
  torch::NoGradGuard no_grad;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    // Whatever the hooks did not fill (all of it without overlap; parameters without a gradient
    // this step with it) comes from .grad now; each bucket is launched as soon as it is full so
    // filling the next overlaps the all-reduce of the previous.
    for (size_t bi = s.next_launch; bi < s.buckets.size(); ++bi) {
      auto& b = s.buckets[bi];
      for (int64_t i : b.params)
        if (!s.param_ready[static_cast<size_t>(i)]) s.fill_slot(i, s.params[static_cast<size_t>(i)].grad());
    }
    s.launch_ready_prefix(/*from_hook=*/false);
  }
  const double world = static_cast<double>(s.env.world_size);
  for (auto& b : s.buckets) {
    s.wait(b.work, "gradient all-reduce");
    b.work.reset();
    b.flat.div_(world);
    for (size_t k = 0; k < b.params.size(); ++k) {
      auto& p = s.params[static_cast<size_t>(b.params[k])];
      auto avg = b.flat.narrow(0, b.offsets[k], p.numel()).view(p.sizes());
      if (p.grad().defined())
        p.mutable_grad().copy_(avg);
      else
        p.mutable_grad() = avg.clone();
    }
    b.ready = 0;
  }
  if (s.buckets.back().flat[-1].item<double>() > 0 && s.agreed_stop.load() == 0) {
    const int local = s.local_stop ? s.local_stop->load() : 0;
    s.agreed_stop.store(local != 0 ? local : SIGTERM);
  }
  std::fill(s.param_ready.begin(), s.param_ready.end(), 0);
  s.next_launch = 0;

  if (!s.checked_replicas) {
    // Once, at the first step: the weights (after any resume, before the first update) must be
    // the same on every rank, else the ranks did not resume from the same checkpoint.
    s.checked_replicas = true;
    double sum = 0;
    for (size_t i = 0; i < s.params.size(); ++i)
      sum += s.params[i].to(torch::kFloat64).mul(static_cast<double>(i % 7 + 1)).sum().item<double>();
    auto t = torch::tensor({sum, -sum}, torch::kFloat64).to(s.params.front().device());
    std::vector<at::Tensor> v{t};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::MAX;
    s.wait(s.pg->allreduce(v, o), "weight consistency check");
    const auto mm = t.cpu();
    const double hi = mm[0].item<double>(), lo = -mm[1].item<double>();
    if (hi != lo)
      throw std::runtime_error(fmt::format(
          "rank {}: the ranks' weights differ at the first step (checksums from {} to {}, this rank {}); every rank "
          "must resume from the same checkpoint: put the run folder (common.results_loc) on a shared file system",
          s.env.rank, lo, hi, sum));
  }
  ++s.stats.steps;
  s.stats.exposed_ms_total += seconds_since(t0) * 1000.0;
}

void DistributedContext::reduce_metrics(EpochMetrics& m) {
  auto& s = *s_;
  TORCH_CHECK(s.pg, "DistributedContext::reduce_metrics - call prepare(model) first");
  torch::Device device = s.params.front().device();
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

DistributedStats DistributedContext::stats() const { return s_->stats; }

const std::atomic<int>* DistributedContext::agree_on_stop(const std::atomic<int>* local) {
  s_->local_stop = local;
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
