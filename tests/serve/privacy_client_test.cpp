// The privacy client, `byteformer predict --server URL`, through the real CLI against a server
// on 127.0.0.1: a recording proxy between the two keeps every request body, which must be the
// obfuscated bytes the pipeline makes (never the original file, never the un-obfuscated
// re-encoding), and the answers must equal local `predict` on the same files. Bounded: a few
// files, one CLI run each way.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "byteformer/classify/classifier.h"
#include "byteformer/codec/image_encoding.h"
#include "byteformer/codec/png_encoder.h"
#include "byteformer/serve/server.h"
#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kDir = test::fixtures_dir() + "/corenet-tiny-k8-w32";
// Smaller images than the fixture's 224 (its max_num_tokens is 2048), and two privacy
// transforms: one that draws per sample (random_uniform noise) and a byte-value permutation.
const std::vector<std::string> kOverrides = {
    "image_augmentation.resize.size=48", "image_augmentation.center_crop.size=40",
    "image_augmentation.random_uniform.enable=true", "image_augmentation.byte_permutation.enable=true"};

std::string override_flags(const std::vector<std::string>& overrides) {
  std::string s;
  for (const auto& o : overrides) s += " --override " + o;
  return s;
}

Image photo(int width, int height, int seed) {
  Image img;
  img.width = width;
  img.height = height;
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(width * height * 3));
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>((i * 7 + seed * 31 + i / 97) % 256);
  return img;
}

std::vector<json> json_lines(const std::string& out) {
  std::vector<json> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) v.push_back(json::parse(line));
  return v;
}

// Forwards every request to the real server and keeps the bodies of POST /v1/classify.
struct RecordingProxy {
  explicit RecordingProxy(int upstream) : upstream(upstream) {
    auto forward = [this](const httplib::Request& req, httplib::Response& res) {
      httplib::Client c("127.0.0.1", this->upstream);
      c.set_read_timeout(60, 0);
      const std::string target = req.target.empty() ? req.path : req.target;
      auto r = req.method == "POST" ? c.Post(target, req.body, req.get_header_value("Content-Type"))
                                    : c.Get(target);
      if (!r) {
        res.status = 502;
        return;
      }
      if (req.method == "POST") {
        std::lock_guard<std::mutex> lock(mutex);
        bodies.push_back(req.body);
        targets.push_back(target);
      }
      res.status = r->status;
      res.set_content(r->body, r->get_header_value("Content-Type"));
    };
    http.Get(R"(/.*)", forward);
    http.Post(R"(/.*)", forward);
    port = http.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { http.listen_after_bind(); });
  }
  ~RecordingProxy() {
    for (int i = 0; i < 500 && !http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    http.stop();
    thread.join();
  }
  int upstream;
  httplib::Server http;
  int port = 0;
  std::thread thread;
  std::mutex mutex;
  std::vector<std::string> bodies, targets;
};

TEST(PrivacyClient, SendsOnlyTheObfuscatedBytesAndAnswersAsLocalPredict) {
  const std::string root = test::make_temp_dir("privacy_client");
  std::vector<std::string> files;
  for (int i = 0; i < 3; ++i) {
    const std::string f = root + "/photo" + std::to_string(i) + (i == 1 ? ".jpg" : ".png");
    const Image img = photo(60 + 20 * i, 50 + 10 * i, i);
    test::write_bytes(f, i == 1 ? encode_image(img, ImageEncoding::parse("jpeg:90")) : encode_png(img, 6));
    files.push_back(f);
  }
  std::string file_args;
  for (const auto& f : files) file_args += " " + f;

  ClassifierOptions co;
  co.model.config_path = kDir + "/config.yaml";
  co.model.weights = kDir + "/model.pt";
  co.model.overrides = kOverrides;
  co.top_k = 1000;
  const Classifier clf = Classifier::open(co);
  ServeOptions so;
  so.host = "127.0.0.1";
  so.port = 0;
  so.batch.max_queue_delay_ms = 2;
  Server server(clf, so, 0.1);
  const int port = server.bind();
  std::thread serving([&] { server.run(); });
  RecordingProxy proxy(port);

  const std::string cli = test::cli_path() + " predict --threads 1 --json --top-k 3";
  const auto remote = test::run_command("timeout 300 " + cli + " --server http://127.0.0.1:" +
                                        std::to_string(proxy.port) + " --batch-size 2 --dump-inputs " + root +
                                        "/sent" + file_args);
  const auto local = test::run_command("timeout 300 " + cli + " --config " + kDir + "/config.yaml --weights " + kDir +
                                       "/model.pt" + override_flags(kOverrides) + " --dump-inputs " + root +
                                       "/local" + file_args);
  std::vector<std::string> plain_overrides(kOverrides.begin(), kOverrides.begin() + 2);  // no privacy
  const auto plain = test::run_command("timeout 300 " + cli + " --config " + kDir + "/config.yaml --weights " + kDir +
                                       "/model.pt" + override_flags(plain_overrides) + " --dump-inputs " + root +
                                       "/plain" + file_args);
  server.stop();
  serving.join();
  ASSERT_EQ(remote.exit_code, 0) << remote.err;
  ASSERT_EQ(local.exit_code, 0) << local.err;
  ASSERT_EQ(plain.exit_code, 0) << plain.err;

  // What went over the wire: one body per file, each the obfuscated bytes local predict feeds
  // its model (the client's dump agrees), none the original file or the plain re-encoding.
  ASSERT_EQ(proxy.bodies.size(), files.size());
  std::vector<std::string> want;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto local_fed = test::read_bytes(root + "/local/" + std::to_string(i) + ".bin");
    EXPECT_EQ(test::read_bytes(root + "/sent/" + std::to_string(i) + ".bin"), local_fed) << files[i];
    want.emplace_back(local_fed.begin(), local_fed.end());
  }
  for (size_t b = 0; b < proxy.bodies.size(); ++b) {
    EXPECT_NE(proxy.targets[b].find("raw=1"), std::string::npos) << proxy.targets[b];
    EXPECT_NE(std::find(want.begin(), want.end(), proxy.bodies[b]), want.end()) << "body " << b;
    for (size_t i = 0; i < files.size(); ++i) {
      const auto original = test::read_bytes(files[i]);
      const auto unobfuscated = test::read_bytes(root + "/plain/" + std::to_string(i) + ".bin");
      EXPECT_NE(proxy.bodies[b], std::string(original.begin(), original.end())) << "body " << b;
      EXPECT_NE(proxy.bodies[b], std::string(unobfuscated.begin(), unobfuscated.end())) << "body " << b;
    }
  }
  // The answers: those of local predict, file by file.
  const auto got = json_lines(remote.out), expect = json_lines(local.out);
  ASSERT_EQ(got.size(), files.size()) << remote.out;
  ASSERT_EQ(expect.size(), files.size()) << local.out;
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(got[i]["file"], files[i]);
    EXPECT_NE(got[i]["input"].get<std::string>().find("prepared here; only those bytes sent to http://127.0.0.1:" +
                                                      std::to_string(proxy.port)),
              std::string::npos)
        << got[i];
    EXPECT_EQ(got[i]["file_bytes"], expect[i]["file_bytes"]);
    EXPECT_EQ(got[i]["num_bytes"], expect[i]["num_bytes"]);
    EXPECT_EQ(got[i]["label"], expect[i]["label"]);
    ASSERT_EQ(got[i]["top"].size(), 3u);
    ASSERT_EQ(got[i]["logits"].size(), expect[i]["logits"].size());
    for (size_t c = 0; c < expect[i]["logits"].size(); ++c)
      EXPECT_NEAR(got[i]["logits"][c].get<double>(), expect[i]["logits"][c].get<double>(), 1e-5) << files[i];
  }
  fs::remove_all(root);
}

TEST(PrivacyClient, UnreachableServerAndModelFlagsAreClearErrors) {
  // A port nobody listens on: bind a socket to a free one, note it, close it unlistened.
  int free_port = 0;
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    free_port = ntohs(addr.sin_port);
    ::close(fd);
  }
  const std::string cli = test::cli_path() + " predict ";
  const std::string file = kDir + "/inputs/" + fs::directory_iterator(kDir + "/inputs")->path().filename().string();
  auto r = test::run_command("timeout 60 " + cli + "--server http://127.0.0.1:" + std::to_string(free_port) + " " + file);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("GET http://127.0.0.1:" + std::to_string(free_port) + "/v1/pipeline"), std::string::npos)
      << r.err;
  r = test::run_command(cli + "--server https://example.org " + file);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("https is not supported"), std::string::npos) << r.err;
  r = test::run_command(cli + "--server http://127.0.0.1:1 --config " + kDir + "/config.yaml " + file);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("drop --config"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace byteformer
