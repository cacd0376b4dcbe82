// The server's web page in a real headless browser (Debian's chromium, driven over the DevTools
// protocol by page_in_browser.py): load the page, pick a file as a person would, and check the
// classes it renders against the Classifier's answer for that file; the screenshot is kept as
// an artefact (artifacts/serve_page.png beside the test binary's working directory).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "byteformer/classify/classifier.h"
#include "byteformer/codec/png_decoder.h"
#include "byteformer/codec/png_encoder.h"
#include "byteformer/serve/server.h"
#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

const std::string kDir = test::fixtures_dir() + "/corenet-tiny-k8-w32";

TEST(ServePage, ClassifiesAPickedFileInARealBrowser) {
  ClassifierOptions co;
  co.model.config_path = kDir + "/config.yaml";
  co.model.weights = kDir + "/model.pt";
  co.model.overrides = {"image_augmentation.resize.size=48", "image_augmentation.center_crop.size=40"};
  co.top_k = 1000;
  const Classifier clf = Classifier::open(co);
  ServeOptions so;
  so.host = "127.0.0.1";
  so.port = 0;
  so.name = "fixture-ti";
  Server server(clf, so, 0.1);
  const int port = server.bind();
  std::thread serving([&] { server.run(); });

  // A photo the page sends through the evaluation pipeline (decode, resize, crop, JPEG q60).
  const std::string root = test::make_temp_dir("serve_page");
  Image img;
  img.width = 90;
  img.height = 70;
  img.channels = 3;
  img.pixels.resize(90 * 70 * 3);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>((i * 13 + i / 211) % 256);
  const std::vector<uint8_t> png = encode_png(img, 6);
  const std::string file = root + "/picked photo.png";
  test::write_bytes(file, png);
  const std::string shot = fs::absolute("artifacts/serve_page.png").string();
  fs::remove(shot);

  const auto r = test::run_command("timeout 180 /usr/bin/python3 " + std::string(BYTEFORMER_SOURCE_DIR) +
                                   "/tests/serve/page_in_browser.py http://127.0.0.1:" + std::to_string(port) +
                                   "/ '" + file + "' '" + shot + "'");
  server.stop();
  serving.join();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto page = nlohmann::json::parse(r.out);
  EXPECT_EQ(page["error"], "") << page;
  const Classification want = clf.classify(png, "picked photo.png");
  ASSERT_TRUE(want.ok()) << want.error;
  ASSERT_EQ(page["rows"].size(), 5u) << page;  // the page asks for the top 5
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(page["rows"][i][0], want.top[i].label) << page;
    EXPECT_EQ(page["rows"][i][1], fmt::format("{:.1f}%", want.top[i].prob * 100.0)) << page;
  }
  const std::string shown = page["time"].get<std::string>();
  EXPECT_NE(shown.find("picked photo.png: " + std::to_string(png.size()) + " bytes, " +
                       std::to_string(want.num_bytes) + " fed to the model"),
            std::string::npos)
      << shown;
  // The screenshot: a PNG of the browser's window.
  const auto bytes = test::read_bytes(shot);
  ASSERT_GT(bytes.size(), 1000u);
  const Image seen = decode_png(bytes.data(), bytes.size(), shot);
  EXPECT_GE(seen.width, 600);  // the window asked for is 900x700
  EXPECT_GE(seen.height, 400);
  std::cout << "screenshot: " << shot << "\n";
  fs::remove_all(root);
}

}  // namespace
}  // namespace byteformer
