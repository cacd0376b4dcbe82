// The report (byteformer/report/report.h) on a hand-written metrics file and confusion matrix,
// through the functions and through the real CLI (`byteformer report`).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "byteformer/report/report.h"
#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

void write_text(const std::string& path, const std::string& text) {
  test::write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

const char* kMetrics =
    R"({"epoch":1,"iterations":10,"lr":0.001,"train_loss":2.1,"train_top1":30.0,"val_loss":1.9,"val_top1":40.0,"val_top5":80.0,"train_seconds":12.5}
{"epoch":2,"iterations":20,"lr":0.001,"train_loss":1.5,"train_top1":55.0,"val_loss":1.2,"val_top1":61.0,"val_top5":90.0,"train_seconds":12.0}

{"epoch":2,"iterations":20,"lr":0.001,"train_loss":1.4,"train_top1":56.0,"val_loss":1.1,"val_top1":62.5,"val_top5":91.0,"train_seconds":12.0}
{"note":"a line without an epoch is ignored"}
{"epoch":3,"iterations":30,"lr":0.0005,"train_loss":0.9,"train_top1":70.0,"val_loss":0.8,"val_top1":75.25,"val_top5":95.0,"train_seconds":11.5}
)";

const char* kConfusion = "true\\predicted,cat,dog,<bird>\ncat,8,1,1\ndog,0,9,1\n<bird>,2,0,8\n";

TEST(ReportHtml, ReadsMetricsKeepingTheLastLineOfARepeatedEpoch) {
  const std::string dir = test::make_temp_dir("report_m");
  write_text(dir + "/metrics.jsonl", kMetrics);
  const auto m = report::read_metrics_jsonl(dir + "/metrics.jsonl");
  ASSERT_EQ(m.epochs.size(), 3u);
  EXPECT_DOUBLE_EQ(m.epochs[1].get("val_top1"), 62.5);  // the resumed run's line
  EXPECT_TRUE(m.has("val_top5"));
  EXPECT_FALSE(m.has("ema_val_top1"));
  // A run killed during an append: the report reads what predict --model reads.
  write_text(dir + "/killed.jsonl", std::string(kMetrics) + "{\"epoch\":4,\"val_t");
  EXPECT_EQ(report::read_metrics_jsonl(dir + "/killed.jsonl").epochs.size(), 3u);
  fs::remove_all(dir);
}

TEST(ReportHtml, ConfusionCsvAndErrors) {
  const std::string dir = test::make_temp_dir("report_c");
  write_text(dir + "/c.csv", kConfusion);
  const auto c = report::read_confusion_csv(dir + "/c.csv");
  ASSERT_EQ(c.classes.size(), 3u);
  EXPECT_EQ(c.total(), 30);
  EXPECT_EQ(c.correct(), 25);
  write_text(dir + "/bad.csv", "true\\predicted,a,b\na,1,2\nb,3\n");
  try {
    report::read_confusion_csv(dir + "/bad.csv");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:3"), std::string::npos) << e.what();
  }
  write_text(dir + "/bad.jsonl", "{\"epoch\":1}\nnot json\n");
  try {
    report::read_metrics_jsonl(dir + "/bad.jsonl");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(ReportHtml, NiceTicks) {
  EXPECT_DOUBLE_EQ(report::nice_step(0, 100, 5), 20);
  EXPECT_DOUBLE_EQ(report::nice_step(0, 1, 4), 0.25);
  EXPECT_DOUBLE_EQ(report::nice_step(0.5, 2.3, 6), 0.5);
}

TEST(ReportCli, WritesHtmlWithCurvesConfusionAndSummaryAndPrintsThePathLast) {
  const std::string dir = test::make_temp_dir("report");
  fs::create_directories(dir + "/run");
  write_text(dir + "/run/metrics.jsonl", kMetrics);
  write_text(dir + "/run/confusion.csv", kConfusion);
  write_text(dir + "/run/eval.json", "progress line\n{\"top1\": 83.3, \"top5\": 100.0, \"loss\": 0.7}\n");
  write_text(dir + "/run/predictions.txt", "digit_0.tiff: 0 (0.97)\n");
  const auto r = test::run_command(test::cli_path() + " report --run " + dir + "/run --confusion " + dir +
                                   "/run/confusion.csv --eval-json " + dir + "/run/eval.json --predictions " + dir +
                                   "/run/predictions.txt --note encoding=tiff --title 'My <run>' --out " + dir +
                                   "/out/report.html");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string last = r.out;
  while (!last.empty() && last.back() == '\n') last.pop_back();
  last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1);
  EXPECT_EQ(fs::path(last), fs::absolute(dir + "/out/report.html"));
  const std::string html = test::read_text(dir + "/out/report.html");
  EXPECT_NE(html.find("<title>My &lt;run&gt;</title>"), std::string::npos);
  EXPECT_EQ(html.find("<run>"), std::string::npos);  // escaped everywhere
  EXPECT_NE(html.find("&lt;bird&gt;"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  // Two line charts (4 loss/top-1 series with data) and 9 confusion cells.
  size_t polylines = 0, rects = 0;
  for (size_t p = 0; (p = html.find("<polyline", p)) != std::string::npos; ++p) ++polylines;
  for (size_t p = 0; (p = html.find("<title>true ", p)) != std::string::npos; ++p) ++rects;
  EXPECT_EQ(polylines, 5u);  // train/val loss, train/val top-1, val top-5
  EXPECT_EQ(rects, 9u);
  EXPECT_NE(html.find("75.25% (epoch 3)"), std::string::npos);  // best val top-1
  EXPECT_NE(html.find("83.33% (25 / 30)"), std::string::npos);   // confusion accuracy
  EXPECT_NE(html.find("eval top1"), std::string::npos);
  EXPECT_NE(html.find("36 s"), std::string::npos);  // training time, 12.5 + 12 + 11.5
  EXPECT_NE(html.find("digit_0.tiff"), std::string::npos);
  EXPECT_NE(html.find("encoding"), std::string::npos);

  const auto missing = test::run_command(test::cli_path() + " report --run " + dir + "/nope --out " + dir + "/x.html");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("metrics.jsonl"), std::string::npos) << missing.err;
  fs::remove_all(dir);
}

TEST(ReportHtml, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(report::base64(""), "");
  EXPECT_EQ(report::base64("f"), "Zg==");
  EXPECT_EQ(report::base64("fo"), "Zm8=");
  EXPECT_EQ(report::base64("foo"), "Zm9v");
  EXPECT_EQ(report::base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(report::base64(std::string("\xff\x00\x10", 3)), "/wAQ");
}

TEST(ReportHtml, RenderInlinesSmallImagesOnlyAndNamesEverySection) {
  const std::string dir = test::make_temp_dir("report_render");
  const std::string png = "\x89PNG\r\n\x1a\nsmall";
  write_text(dir + "/small.png", png);
  write_text(dir + "/big.png", "\x89PNG\r\n\x1a\n" + std::string((256 << 10) + 1, 'x'));  // over 256 KiB
  report::ReportInputs in;
  in.title = "t";
  in.eval_samples = {{dir + "/small.png", "Coat", "Shirt", 0.8, 0.1},
                     {dir + "/big.png", "Shirt", "Coat", 0.7, 0.2},
                     {dir + "/missing.png", "Coat", "Coat", 0.9, 0.9}};
  const std::string html = report::render_report_html(in);
  EXPECT_NE(html.find("data:image/png;base64," + report::base64(png)), std::string::npos);
  size_t no_preview = 0;
  for (size_t p = 0; (p = html.find(">no preview<", p)) != std::string::npos; ++p) ++no_preview;
  EXPECT_EQ(no_preview, 1u);  // big.png (the missing file is correct: not in the mistakes gallery)
  EXPECT_EQ(html.find(std::string(64, 'x')), std::string::npos);
  EXPECT_NE(html.find("<td>Coat</td><td>50.00%</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>Shirt</td><td>0.00%</td>"), std::string::npos);
  fs::remove_all(dir);
}

TEST(ReportCli, ThumbnailsPerClassAccuracyAndTheMostConfidentMistakes) {
  const std::string dir = test::make_temp_dir("report_gallery");
  fs::create_directories(dir + "/run");
  write_text(dir + "/run/metrics.jsonl", kMetrics);
  // Three real PNG files (8-byte signature is what the thumbnail looks at) and one that is not.
  const std::string png = "\x89PNG\r\n\x1a\nrest-of-file";
  for (const char* f : {"a.png", "b.png", "c.png"}) write_text(dir + "/" + f, png);
  write_text(dir + "/d.bin", "not an image");
  write_text(dir + "/run/samples.jsonl",
             "{\"file\":\"" + dir + "/a.png\",\"label\":\"Coat\",\"predicted\":\"Coat\",\"prob\":0.9,\"label_prob\":0.9}\n"
             "{\"file\":\"" + dir + "/b.png\",\"label\":\"Coat\",\"predicted\":\"Shirt\",\"prob\":0.6,\"label_prob\":0.3}\n"
             "{\"file\":\"" + dir + "/c.png\",\"label\":\"Shirt\",\"predicted\":\"Coat\",\"prob\":0.95,\"label_prob\":0.01}\n"
             "{\"file\":\"" + dir + "/d.bin\",\"label\":\"Shirt\",\"predicted\":\"Shirt\",\"prob\":0.7,\"label_prob\":0.7}\n");
  write_text(dir + "/run/predictions.jsonl",
             "{\"file\":\"" + dir + "/a.png\",\"top\":[{\"index\":4,\"label\":\"Coat\",\"prob\":0.9},"
             "{\"index\":6,\"label\":\"Shirt\",\"prob\":0.05}]}\n"
             "{\"file\":\"" + dir + "/d.bin\",\"error\":\"d.bin: cannot decode\"}\n");
  const auto r = test::run_command(test::cli_path() + " report --run " + dir + "/run --eval-samples " + dir +
                                   "/run/samples.jsonl --eval-samples-title 'test split' --predictions " + dir +
                                   "/run/predictions.jsonl --out " + dir + "/report.html");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = test::read_text(dir + "/report.html");
  // Per-class accuracy: Coat 1 of 2, Shirt 1 of 2.
  EXPECT_NE(html.find("<td>Coat</td><td>50.00%</td>"), std::string::npos);
  EXPECT_NE(html.find("1 / 2"), std::string::npos);
  // Mistakes, most confident first: c.png (95%) before b.png (60%); correct ones are not shown.
  const size_t gallery = html.find("most confident mistakes");
  ASSERT_NE(gallery, std::string::npos);
  const size_t c = html.find("predicted <b class=\"wrong\">Coat</b> 95.0%", gallery);
  const size_t b = html.find("predicted <b class=\"wrong\">Shirt</b> 60.0%", gallery);
  ASSERT_NE(c, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_LT(c, b);
  // Thumbnails are the files themselves, inlined.
  EXPECT_NE(html.find("data:image/png;base64," + report::base64(png)), std::string::npos);
  // Predictions as a gallery with bars; an error record is shown as such; a non-image has no preview.
  const size_t preds = html.find("<h2>Predictions</h2>");
  ASSERT_NE(preds, std::string::npos);
  EXPECT_NE(html.find("90.0%", preds), std::string::npos);
  EXPECT_NE(html.find("d.bin: cannot decode", preds), std::string::npos);
  EXPECT_NE(html.find("no preview", preds), std::string::npos);
  // A malformed samples file names its line.
  write_text(dir + "/run/bad.jsonl", "{\"file\":\"x\"}\n");
  const auto bad = test::run_command(test::cli_path() + " report --run " + dir + "/run --eval-samples " + dir +
                                     "/run/bad.jsonl --out " + dir + "/r2.html");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("bad.jsonl:1"), std::string::npos) << bad.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace byteformer
