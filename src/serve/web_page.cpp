#include "byteformer/serve/web_page.h"

#include "byteformer/io/display_name.h"

namespace byteformer {

std::string web_page(const std::string& name, const std::string& pipeline) {
  std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>byteformer: @NAME@</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222}
#drop{border:2px dashed #888;border-radius:8px;padding:2rem;text-align:center;cursor:pointer}
#drop.over{background:#eef}
.row{display:flex;align-items:center;margin:.3rem 0}
.name{width:12rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.bar{height:1.1rem;background:#4a7bd0;margin-right:.5rem}
#err{color:#b00}
small{color:#666}
</style></head><body>
<h1>byteformer: @NAME@</h1>
<p><small>Files go through: @PIPELINE@</small></p>
<div id="drop">Drop a file here, or click to pick one<input id="pick" type="file" hidden></div>
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
  auto replace_all = [&](const std::string& key, const std::string& value) {
    for (size_t at = page.find(key); at != std::string::npos; at = page.find(key, at + value.size()))
      page.replace(at, key.size(), value);
  };
  replace_all("@NAME@", html_escape(name));
  replace_all("@PIPELINE@", html_escape(pipeline));
  return page;
}

}  // namespace byteformer
