#include "byteformer/serve/web_page.h"

#include <fmt/format.h>

#include <filesystem>

#include "byteformer/io/display_name.h"

namespace byteformer {

namespace {

constexpr const char* kStyle = R"HTML(<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem}
#classes{max-height:7.5rem;overflow-y:auto;padding:0;margin:.3rem 0 1rem}
#classes li{display:inline-block;background:#eef1f7;border-radius:4px;padding:0 .4rem;margin:0 .3rem .3rem 0}
#drop{border:2px dashed #888;border-radius:8px;padding:2rem;text-align:center;cursor:pointer}
#drop.over{background:#eef}
.row{display:flex;align-items:center;margin:.3rem 0}
.name{width:12rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.bar{height:1.1rem;background:#4a7bd0;margin-right:.5rem}
#err{color:#b00}
small{color:#666}
</style></head><body>
)HTML";

constexpr const char* kScript = R"HTML(<div id="drop">Drop a file here, or click to pick one<input id="pick" type="file" hidden></div>
<p id="err"></p><div id="out"></div><p id="time"></p>
<script>
const drop = document.getElementById('drop'), pick = document.getElementById('pick');
const out = document.getElementById('out'), err = document.getElementById('err'), time = document.getElementById('time');
drop.onclick = () => pick.click();
pick.onchange = () => { if (pick.files.length) send(pick.files[0]); };
drop.ondragover = e => { e.preventDefault(); drop.classList.add('over'); };
drop.ondragleave = () => drop.classList.remove('over');
drop.ondrop = e => { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer.files.length) send(e.dataTransfer.files[0]); };
function text(tag, cls, s) { const el = document.createElement(tag); if (cls) el.className = cls; el.textContent = s; return el; }
async function send(file) {
  out.replaceChildren(); err.textContent = ''; time.textContent = 'classifying ' + file.name + ' ...';
  const t0 = performance.now();
  try {
    const r = await fetch('/v1/classify?top_k=5&name=' + encodeURIComponent(file.name),
                          {method: 'POST', headers: {'Content-Type': 'application/octet-stream'}, body: file});
    const j = await r.json();
    const ms = (performance.now() - t0).toFixed(0);
    if (!r.ok) { err.textContent = j.error || ('HTTP ' + r.status); time.textContent = ms + ' ms'; return; }
    for (const t of j.top) {
      const row = text('div', 'row', '');
      row.appendChild(text('span', 'name', t.label));
      const bar = text('span', 'bar', ''); bar.style.width = (t.prob * 20).toFixed(2) + 'rem'; row.appendChild(bar);
      row.appendChild(text('span', '', (t.prob * 100).toFixed(1) + '%'));
      out.appendChild(row);
    }
    time.textContent = file.name + ': ' + j.file_bytes + ' bytes, ' + j.num_bytes + ' fed to the model, ' + ms + ' ms';
  } catch (e) { err.textContent = String(e); time.textContent = ''; }
}
</script></body></html>
)HTML";

// Text for the page: one line of valid UTF-8 (display_name), then HTML-escaped.
std::string html(const std::string& text) { return html_escape(display_name(text)); }

}  // namespace

std::string web_page(const PageModel& model) {
  // Built by appending, not by filling placeholders: a class named like a placeholder stays text.
  std::string page = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html(model.title) +
                     " - byteformer</title>\n";
  page += kStyle;
  page += "<h1>" + html(model.title) + "</h1>\n";
  page += "<p id=\"about\">" + html(model.description) + "</p>\n";
  page += "<ul id=\"classes\" aria-label=\"classes\">";
  for (const auto& c : model.classes) page += "<li>" + html(c) + "</li>";
  page += "</ul>\n";
  page += "<p><small>Files go through: " + html(model.pipeline) + "</small></p>\n";
  page += kScript;
  return page;
}

std::string model_title(const std::string& weights_path) {
  namespace fs = std::filesystem;
  const fs::path weights = fs::path(weights_path).lexically_normal();
  if (weights.filename().string().rfind("checkpoint", 0) == 0) {
    // "runs/pets/checkpoint_best.pt" -> "pets"; a relative "checkpoint_best.pt" -> the current folder's name.
    const fs::path dir = fs::absolute(weights).lexically_normal().parent_path();
    if (!dir.filename().empty()) return dir.filename().string();
  }
  return weights.stem().string();
}

std::string model_description(const BytePipelineOptions& pipeline, int64_t classes) {
  std::string reads;
  if (pipeline.modality == Modality::kImage) {
    reads = pipeline.pil_save ? "reads image files (JPEG, PNG, TIFF, BMP, PPM)"
                              : "reads image files' bytes as they are";
  } else if (pipeline.modality == Modality::kAudio) {
    reads = pipeline.audio_save ? "reads sound files (WAV, MP3)" : "reads sound files' bytes as they are";
  } else {
    reads = "reads any file's bytes";
  }
  return fmt::format("ByteFormer, {} {}, {}", classes, classes == 1 ? "class" : "classes", reads);
}

}  // namespace byteformer
