#include "byteformer/train/distributed_env.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

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
  // Under torchrun its agent serves the TCPStore at MASTER_PORT (workers join it as clients).
  e.agent_store = env_var("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  e.restart_count = env_var("TORCHELASTIC_RESTART_COUNT").value_or("0");
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

}  // namespace byteformer
