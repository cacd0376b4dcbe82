#include "byteformer/report/report.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "byteformer/io/display_name.h"
#include "byteformer/io/file.h"

namespace byteformer::report {
namespace {

struct Series {
  std::string name;
  std::string color;
  std::vector<std::pair<double, double>> points;
  bool dashed = false;
};

/// A line chart as an <svg>: axes with ticks, one polyline (and dots) per series, a legend.
inline std::string svg_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                                  const std::vector<Series>& series) {
  constexpr double W = 560, H = 340, L = 62, R = 16, T = 34, B = 48;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series)
    for (auto [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<text x=\"{2}\" y=\"20\" font-size=\"14\" "
      "font-weight=\"bold\" text-anchor=\"middle\">{3}</text>\n",
      W, H, W / 2, html_escape(title));
  if (!std::isfinite(x0)) return svg + fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no data</text></svg>\n", W / 2, H / 2);
  if (x1 == x0) x0 -= 1, x1 += 1;
  if (y1 == y0) y0 -= 1, y1 += 1;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;
  const double ys = nice_step(y0, y1, 6), xs = nice_step(x0, x1, 8);
  y0 = std::floor(y0 / ys) * ys, y1 = std::ceil(y1 / ys) * ys;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return T + (y1 - y) / (y1 - y0) * (H - T - B); };
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"#999\"/>\n", L, T,
                     W - L - R, H - T - B);
  for (double y = y0; y <= y1 + ys * 1e-6; y += ys)
    svg += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#e2e2e2\"/><text x=\"{3}\" "
                       "y=\"{4:.1f}\" text-anchor=\"end\">{5:g}</text>\n",
                       L, W - R, py(y), L - 5, py(y) + 4, std::round(y / ys) * ys);
  for (double x = std::ceil(x0 / xs) * xs; x <= x1 + xs * 1e-6; x += xs)
    svg += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#e2e2e2\"/><text "
                       "x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4:g}</text>\n",
                       px(x), T, H - B, H - B + 15, x);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", L + (W - L - R) / 2, H - 10,
                     html_escape(x_label));
  svg += fmt::format("<text x=\"14\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {0})\">{1}</text>\n",
                     T + (H - T - B) / 2, html_escape(y_label));
  double legend_y = T + 14;
  for (const auto& s : series) {
    std::string pts;
    for (auto [x, y] : s.points)
      if (std::isfinite(x) && std::isfinite(y)) pts += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
    if (pts.empty()) continue;
    svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} points=\"{}\"/>\n", s.color,
                       s.dashed ? " stroke-dasharray=\"5,3\"" : "", pts);
    if (s.points.size() <= 60)
      for (auto [x, y] : s.points)
        if (std::isfinite(x) && std::isfinite(y))
          svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"><title>{} epoch {:g}: "
                             "{:.4g}</title></circle>\n",
                             px(x), py(y), s.color, html_escape(s.name), x, y);
    svg += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"2\"{4}/>"
                       "<text x=\"{5}\" y=\"{6}\">{7}</text>\n",
                       W - R - 130, W - R - 110, legend_y, s.color, s.dashed ? " stroke-dasharray=\"5,3\"" : "",
                       W - R - 105, legend_y + 4, html_escape(s.name));
    legend_y += 15;
  }
  return svg + "</svg>\n";
}

/// The confusion matrix as an <svg>: cells shaded by the row's share, counts written in.
inline std::string svg_confusion(const Confusion& c) {
  const size_t k = c.classes.size();
  if (k == 0) return "";
  const double cell = k <= 12 ? 44 : std::max(14.0, 520.0 / static_cast<double>(k));
  const double L = 90, T = 86;
  const double W = L + cell * static_cast<double>(k) + 20, H = T + cell * static_cast<double>(k) + 20;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n",
      W, H);
  svg += fmt::format("<text x=\"{}\" y=\"14\" text-anchor=\"middle\" font-weight=\"bold\">predicted</text>\n",
                     L + cell * static_cast<double>(k) / 2);
  svg += fmt::format("<text x=\"12\" y=\"{0}\" text-anchor=\"middle\" font-weight=\"bold\" transform=\"rotate(-90 12 "
                     "{0})\">true</text>\n",
                     T + cell * static_cast<double>(k) / 2);
  for (size_t j = 0; j < k; ++j) {
    const double x = L + cell * (static_cast<double>(j) + 0.5);
    svg += fmt::format("<text x=\"{0:.1f}\" y=\"{1}\" text-anchor=\"start\" transform=\"rotate(-60 {0:.1f} {1})\">{2}"
                       "</text>\n",
                       x, T - 6, html_escape(c.classes[j]));
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", L - 6,
                       T + cell * (static_cast<double>(j) + 0.5) + 4, html_escape(c.classes[j]));
  }
  for (size_t i = 0; i < k; ++i) {
    int64_t row = 0;
    for (auto v : c.counts[i]) row += v;
    for (size_t j = 0; j < k; ++j) {
      const int64_t n = c.counts[i][j];
      const double share = row ? static_cast<double>(n) / static_cast<double>(row) : 0.0;
      // Blue on the diagonal, red off it; lightness from the share of the row.
      const int light = static_cast<int>(std::lround(97 - 55 * std::sqrt(share)));
      const std::string fill = n == 0 ? "#ffffff" : fmt::format("hsl({},70%,{}%)", i == j ? 215 : 0, light);
      const double x = L + cell * static_cast<double>(j), y = T + cell * static_cast<double>(i);
      svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
                         "stroke=\"#ccc\"><title>true {}, predicted {}: {} ({:.1f}% of row)</title></rect>\n",
                         x, y, cell, cell, fill, html_escape(c.classes[i]), html_escape(c.classes[j]), n,
                         100 * share);
      if (n > 0 && cell >= 22)
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" fill=\"{}\">{}</text>\n",
                           x + cell / 2, y + cell / 2 + 4, light < 60 ? "#fff" : "#222", n);
    }
  }
  return svg + "</svg>\n";
}

/// An <img> with the file inlined as a data URI, drawn `size` px wide with square pixels, when
/// the file is a small PNG, JPEG, GIF or BMP; otherwise its name in a grey box.
std::string thumbnail(const std::string& path, int size = 84) {
  std::string bytes;
  try {
    const std::vector<uint8_t> file = read_file(path, /*max_bytes=*/256 << 10, /*pipe_wait_s=*/1.0);
    bytes.assign(file.begin(), file.end());
  } catch (const std::exception&) {
    // missing, unreadable or over 256 KiB: no preview
  }
  std::string mime;
  if (bytes.rfind("\x89PNG", 0) == 0) mime = "image/png";
  else if (bytes.rfind("\xff\xd8", 0) == 0) mime = "image/jpeg";
  else if (bytes.rfind("GIF8", 0) == 0) mime = "image/gif";
  else if (bytes.rfind("BM", 0) == 0) mime = "image/bmp";
  if (mime.empty())
    return fmt::format("<div class=\"nothumb\" style=\"width:{0}px;height:{0}px\">no preview</div>", size);
  return fmt::format("<img alt=\"{}\" width=\"{}\" style=\"image-rendering:pixelated\" src=\"data:{};base64,{}\">",
                     html_escape(path), size, mime, base64(bytes));
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// Per-class accuracy as a table with bars.
std::string per_class_accuracy(const std::vector<EvalSample>& samples) {
  std::map<std::string, std::pair<int64_t, int64_t>> by;  // label -> (correct, total)
  for (const auto& s : samples) {
    auto& [c, t] = by[s.label];
    c += s.label == s.predicted;
    ++t;
  }
  std::string html = "<table>\n<tr><th>class</th><th>accuracy</th><th></th><th>samples</th></tr>\n";
  for (const auto& [label, ct] : by) {
    const double pct = 100.0 * static_cast<double>(ct.first) / static_cast<double>(ct.second);
    html += fmt::format(
        "<tr><td>{}</td><td>{:.2f}%</td><td><div class=\"bar\" style=\"width:{:.0f}px\"></div></td><td>{} / "
        "{}</td></tr>\n",
        html_escape(label), pct, 2.0 * pct, ct.first, ct.second);
  }
  return html + "</table>\n";
}

/// The `count` most confident mistakes, thumbnails with true and predicted class.
std::string mistakes_gallery(std::vector<EvalSample> samples, size_t count) {
  samples.erase(std::remove_if(samples.begin(), samples.end(), [](const EvalSample& s) { return s.label == s.predicted; }),
                samples.end());
  std::stable_sort(samples.begin(), samples.end(), [](const EvalSample& a, const EvalSample& b) { return a.prob > b.prob; });
  if (samples.size() > count) samples.resize(count);
  std::string html = "<div class=\"gallery\">\n";
  for (const auto& s : samples)
    html += fmt::format(
        "<figure>{}<figcaption>true <b>{}</b><br>predicted <b class=\"wrong\">{}</b> {:.1f}%<br><small>{}</small>"
        "</figcaption></figure>\n",
        thumbnail(s.file), html_escape(s.label), html_escape(s.predicted), 100.0 * s.prob, html_escape(base_name(s.file)));
  return html + "</div>\n";
}

/// Thumbnails of classified files beside their top classes as bars.
std::string predictions_gallery(const std::vector<PredictedFile>& files) {
  std::string html = "<div class=\"gallery\">\n";
  for (const auto& p : files) {
    html += "<figure>" + thumbnail(p.file) + "<figcaption><small>" + html_escape(base_name(p.file)) + "</small><br>";
    if (!p.error.empty()) html += "<span class=\"wrong\">" + html_escape(p.error) + "</span>";
    for (const auto& [label, prob] : p.top)
      html += fmt::format("<div class=\"row\"><span>{}</span><div class=\"bar\" style=\"width:{:.0f}px\"></div>{:.1f}%</div>",
                          html_escape(label), 80.0 * prob, 100.0 * prob);
    html += "</figcaption></figure>\n";
  }
  return html + "</div>\n";
}

}  // namespace

RunMetrics read_metrics_jsonl(const std::string& path) {
  std::map<double, EpochRecord> by_epoch;
  for (const nlohmann::json& j : read_json_lines(path)) {
    if (!j.contains("epoch") || !j["epoch"].is_number()) continue;
    EpochRecord r;
    r.epoch = j["epoch"].get<double>();
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.value().is_number()) r.values[it.key()] = it.value().get<double>();
    by_epoch[r.epoch] = r;
  }
  RunMetrics m;
  for (auto& [_, r] : by_epoch) m.epochs.push_back(r);
  return m;
}

Confusion read_confusion_csv(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path, kMaxRecordFileBytes);
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  auto split = [](const std::string& line) {
    std::vector<std::string> out;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
      while (!cell.empty() && (cell.back() == '\r' || cell.back() == ' ')) cell.pop_back();
      out.push_back(cell);
    }
    return out;
  };
  Confusion c;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto cells = split(line);
    if (c.classes.empty()) {
      if (cells.size() < 2) throw std::runtime_error(fmt::format("report: {}:{}: expected a header row", path, line_no));
      c.classes.assign(cells.begin() + 1, cells.end());
      continue;
    }
    if (cells.size() != c.classes.size() + 1)
      throw std::runtime_error(fmt::format("report: {}:{}: expected {} cells, got {}", path, line_no,
                                           c.classes.size() + 1, cells.size()));
    std::vector<int64_t> row;
    for (size_t k = 1; k < cells.size(); ++k) {
      try {
        row.push_back(std::stoll(cells[k]));
      } catch (const std::exception&) {
        throw std::runtime_error(fmt::format("report: {}:{}: '{}' is not a count", path, line_no, cells[k]));
      }
    }
    c.counts.push_back(std::move(row));
  }
  if (c.counts.size() != c.classes.size())
    throw std::runtime_error(fmt::format("report: {}: {} classes in the header but {} rows", path,
                                         c.classes.size(), c.counts.size()));
  return c;
}

double nice_step(double lo, double hi, int n) {
  const double raw = (hi - lo) / std::max(1, n);
  if (raw <= 0) return 1;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

std::vector<PredictedFile> parse_predict_json(const std::string& text) {
  std::vector<PredictedFile> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      PredictedFile p;
      p.file = j.at("file").get<std::string>();
      p.error = j.value("error", "");
      if (j.contains("top"))
        for (const auto& t : j["top"]) p.top.emplace_back(t.at("label").get<std::string>(), t.at("prob").get<double>());
      out.push_back(std::move(p));
    } catch (const std::exception&) {
      return {};
    }
  }
  return out;
}

std::string base64(const std::string& bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

std::string render_report_html(const ReportInputs& in) {
  const auto& ep = in.metrics.epochs;
  auto series = [&](const std::string& key, const std::string& name, const std::string& color, bool dashed = false) {
    Series s{name, color, {}, dashed};
    for (const auto& e : ep)
      if (e.has(key)) s.points.emplace_back(e.epoch, e.get(key));
    return s;
  };
  std::vector<Series> loss, acc;
  for (auto [key, name, color, dashed] :
       std::vector<std::tuple<std::string, std::string, std::string, bool>>{
           {"train_loss", "train loss", "#d62728", false},
           {"val_loss", "val loss", "#1f77b4", false},
           {"ema_val_loss", "EMA val loss", "#2ca02c", true}})
    if (in.metrics.has(key)) loss.push_back(series(key, name, color, dashed));
  for (auto [key, name, color, dashed] :
       std::vector<std::tuple<std::string, std::string, std::string, bool>>{
           {"train_top1", "train top-1", "#d62728", false},
           {"val_top1", "val top-1", "#1f77b4", false},
           {"ema_val_top1", "EMA val top-1", "#2ca02c", true},
           {"val_top5", "val top-5", "#9467bd", true}})
    if (in.metrics.has(key)) acc.push_back(series(key, name, color, dashed));

  std::vector<std::pair<std::string, std::string>> rows;
  if (!in.run_dir.empty()) rows.emplace_back("run folder", in.run_dir);
  if (!ep.empty()) {
    double best = -1, best_epoch = 0, best_ema = -1, seconds = 0;
    for (const auto& e : ep) {
      if (e.get("val_top1", -1) > best) best = e.get("val_top1"), best_epoch = e.epoch;
      best_ema = std::max(best_ema, e.get("ema_val_top1", -1));
      seconds += e.get("train_seconds", 0);
    }
    rows.emplace_back("epochs", fmt::format("{:g}", ep.back().epoch));
    if (best >= 0) rows.emplace_back("best val top-1", fmt::format("{:.2f}% (epoch {:g})", best, best_epoch));
    if (best_ema >= 0) rows.emplace_back("best EMA val top-1", fmt::format("{:.2f}%", best_ema));
    if (ep.back().has("val_top1")) rows.emplace_back("last val top-1", fmt::format("{:.2f}%", ep.back().get("val_top1")));
    if (seconds > 0) rows.emplace_back("training time", fmt::format("{:.0f} s ({:.1f} min)", seconds, seconds / 60));
  }
  if (in.eval.is_object())
    for (auto it = in.eval.begin(); it != in.eval.end(); ++it)
      rows.emplace_back("eval " + it.key(), it.value().is_number_float() ? fmt::format("{:.4g}", it.value().get<double>())
                                                                          : it.value().is_string() ? it.value().get<std::string>()
                                                                                                   : it.value().dump());
  if (in.has_confusion && in.confusion.total() > 0)
    rows.emplace_back("confusion-matrix accuracy",
                      fmt::format("{:.2f}% ({} / {})", 100.0 * static_cast<double>(in.confusion.correct()) /
                                                           static_cast<double>(in.confusion.total()),
                                  in.confusion.correct(), in.confusion.total()));
  for (const auto& n : in.notes) rows.push_back(n);

  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title>\n<style>body{{font-family:"
      "sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}}table{{border-collapse:collapse}}td,th{{"
      "border:1px solid #ccc;padding:4px 10px;text-align:left}}.charts{{display:flex;flex-wrap:wrap;gap:16px}}pre{{"
      "background:#f4f4f4;padding:1em;overflow-x:auto}}.gallery{{display:flex;flex-wrap:wrap;gap:12px}}figure{{margin:0;"
      "width:170px}}figcaption{{font-size:13px}}.bar{{display:inline-block;height:10px;background:#1f77b4;margin:0 4px}}"
      ".row{{white-space:nowrap;font-size:12px}}.row span{{display:inline-block;width:70px;overflow:hidden}}.wrong{{"
      "color:#d62728}}.nothumb{{background:#eee;font-size:11px}}</style></head><body>\n<h1>{0}</h1>\n",
      html_escape(in.title));
  html += "<h2>Summary</h2>\n<table>\n";
  for (const auto& [k, v] : rows)
    html += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", html_escape(k), html_escape(v));
  html += "</table>\n<h2>Training curves</h2>\n<div class=\"charts\">\n";
  html += svg_line_chart("Loss", "epoch", "cross entropy", loss);
  html += svg_line_chart("Top-1 accuracy", "epoch", "top-1 (%)", acc);
  html += "</div>\n";
  if (in.has_confusion) {
    html += "<h2>Confusion matrix</h2>\n";
    html += svg_confusion(in.confusion);
  }
  if (!in.eval_samples.empty()) {
    html += "<h2>Per-class accuracy (" + html_escape(in.eval_samples_title) + ")</h2>\n";
    html += per_class_accuracy(in.eval_samples);
    html += "<h2>The most confident mistakes (" + html_escape(in.eval_samples_title) + ")</h2>\n";
    html += mistakes_gallery(in.eval_samples, 24);
  }
  if (!in.predictions.empty()) {
    const auto files = parse_predict_json(in.predictions);
    html += "<h2>Predictions</h2>\n";
    html += files.empty() ? "<pre>" + html_escape(in.predictions) + "</pre>\n" : predictions_gallery(files);
  }
  html += "</body></html>\n";
  return html;
}

}  // namespace byteformer::report
