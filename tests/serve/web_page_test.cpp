// The server's page (byteformer/serve/web_page.h): the model's name and description, its
// classes, everything HTML-escaped.
#include "byteformer/serve/web_page.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace byteformer {
namespace {

TEST(WebPage, ModelTitleIsTheRunFolderOrTheWeightsName) {
  EXPECT_EQ(model_title("runs/pets/checkpoint_best.pt"), "pets");
  EXPECT_EQ(model_title("runs/quickstart/fashion_mnist_tiff/checkpoint_ema_best.pt"), "fashion_mnist_tiff");
  EXPECT_EQ(model_title("/srv/results/train/./checkpoint_last.pt"), "train");
  EXPECT_EQ(model_title("checkpoint_best.pt"), std::filesystem::current_path().filename().string());
  EXPECT_EQ(model_title("weights/corenet_tiff.pt"), "corenet_tiff");
  EXPECT_EQ(model_title("model.pt"), "model");
}

TEST(WebPage, ModelDescriptionSaysWhatTheModelReads) {
  BytePipelineOptions image;
  image.modality = Modality::kImage;
  EXPECT_EQ(model_description(image, 10), "ByteFormer, 10 classes, reads image files (JPEG, PNG, TIFF, BMP, PPM)");
  image.pil_save = false;
  EXPECT_EQ(model_description(image, 1), "ByteFormer, 1 class, reads image files' bytes as they are");
  BytePipelineOptions audio;
  audio.modality = Modality::kAudio;
  EXPECT_EQ(model_description(audio, 12), "ByteFormer, 12 classes, reads sound files (WAV, MP3)");
}

TEST(WebPage, EscapesEverythingItShows) {
  PageModel m;
  m.title = "<b>pets</b>";
  m.description = "ByteFormer & co";
  m.pipeline = "eval image: <resize>";
  m.classes = {"<img src=x onerror=alert(1)>", "a\"b'c", "plain", std::string("bad \xff byte")};
  const std::string page = web_page(m);
  EXPECT_NE(page.find("<title>&lt;b&gt;pets&lt;/b&gt; - byteformer</title>"), std::string::npos) << page;
  EXPECT_NE(page.find("<h1>&lt;b&gt;pets&lt;/b&gt;</h1>"), std::string::npos) << page;
  EXPECT_NE(page.find("ByteFormer &amp; co"), std::string::npos);
  EXPECT_NE(page.find("eval image: &lt;resize&gt;"), std::string::npos);
  EXPECT_NE(page.find("<li>&lt;img src=x onerror=alert(1)&gt;</li>"), std::string::npos);
  EXPECT_NE(page.find("<li>a&quot;b&#39;c</li>"), std::string::npos);
  EXPECT_NE(page.find("<li>plain</li>"), std::string::npos);
  EXPECT_NE(page.find("<li>bad \\xff byte</li>"), std::string::npos);  // display_name: valid UTF-8
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  // The page's own script still calls the classify endpoint.
  EXPECT_NE(page.find("fetch('/v1/classify?top_k=5"), std::string::npos);
}

}  // namespace
}  // namespace byteformer
