// A C++ program built against the installed package (find_package(byteformer), byteformer::lib):
// classifies the first file of the fixture model's expected.json as it is and checks its logits
// against CoreNet's within 1e-4.
//   consumer_cpp FIXTURE_DIR   (shared/fixtures/corenet-tiny-k8-w32)
// Prints "file NAME", one "logit i v" per class and "cpp ok"; exits 1 on a mismatch.
#include <byteformer/classify/classifier.h>
#include <byteformer/io/file.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " FIXTURE_DIR\n";
    return 64;
  }
  const std::string dir = argv[1];
  try {
    const auto text = byteformer::read_file(dir + "/expected.json");
    const auto want = nlohmann::json::parse(text.begin(), text.end())["files"][0];
    const std::string name = want["file"].get<std::string>();

    byteformer::ClassifierOptions opts;
    opts.model.config_path = dir + "/config.yaml";
    opts.model.weights = dir + "/model.pt";
    const auto clf = byteformer::Classifier::open(opts);
    const auto c = clf.classify(byteformer::read_file(dir + "/inputs/" + name), name, /*raw=*/true);
    if (!c.ok()) {
      std::cerr << "consumer_cpp: " << c.error << "\n";
      return 1;
    }
    std::printf("file %s\n", name.c_str());
    bool close = c.logits.size() == want["logits"].size();
    for (size_t i = 0; i < c.logits.size(); ++i) {
      std::printf("logit %zu %.7g\n", i, c.logits[i]);
      if (close && std::fabs(c.logits[i] - want["logits"][i].get<double>()) > 1e-4) close = false;
    }
    if (!close) {
      std::cerr << "consumer_cpp: " << name << ": logits differ from CoreNet's (expected.json) by more than 1e-4\n";
      return 1;
    }
    std::printf("cpp ok\n");
  } catch (const std::exception& e) {
    std::cerr << "consumer_cpp: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
