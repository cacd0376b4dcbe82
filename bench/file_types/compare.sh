#!/usr/bin/env bash
# Magika, Debian's `file` and `byteformer identify` side by side on the file-types corpus's
# package-held-out test split (docs/FILE_TYPES.md, "Compared with Magika and file"): accuracy
# and macro-F1 over the types all three cover, the types Magika covers and all corpus types,
# per-type precision/recall/F1, the converted files apart; ms per file over the whole split and
# a cold start on one small file, each tool a whole process on one core (`taskset -c 0`); peak
# RSS (`/usr/bin/time -v`); the model's size on disk. Prints a Markdown report and writes it,
# with an SVG chart of the per-type F1, to the output folder.
#
#   bench/file_types/compare.sh [--data DIR] [--split test] [--limit N] [--out DIR]
#                               [--build DIR] [--model DIR] [--report-only]
#
#   --data DIR    the corpus (default data/file_types; `byteformer data file-types --out DIR`)
#   --split NAME  test (default), val or train
#   --limit N     a quick run on N files of the split, taken in turns from its types
#   --out DIR     where the report, the chart and the raw answers go (default cache/compare)
#   --build DIR   the build folder holding `byteformer` (default build)
#   --model DIR   byteformer's model (default models/file-types, the shipped one)
#   --report-only score again the answers of the last run in --out (after editing the table)
#
# Needs: Magika in cache/magika/venv (`scripts/setup.sh --magika`), `file`, `taskset` and
# `/usr/bin/time` (Debian's file, util-linux, time), python3, the corpus and the built CLI.
# The tools' answers are mapped to the corpus labels by compare_metrics.py; `file`'s through
# the table file_mime_map.tsv beside this script.
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) stops the script too
trap 'echo "compare: failed (line $LINENO): $BASH_COMMAND" >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
command_line="bench/file_types/compare.sh${*:+ $*}"
data=$root/data/file_types
split=test
limit=0
out=$root/cache/compare
build=$root/build
model=$root/models/file-types
venv=$root/cache/magika/venv
report_only=0

fail() { echo "compare: $*" >&2; exit 1; }
say() { echo "compare: $*" >&2; }
while (($#)); do
  case "$1" in
    --data) data=${2:?--data needs a folder}; shift 2 ;;
    --split) split=${2:?--split needs train, val or test}; shift 2 ;;
    --limit) limit=${2:?--limit needs a number of files}; shift 2 ;;
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --build) build=${2:?--build needs a folder}; shift 2 ;;
    --model) model=${2:?--model needs a folder}; shift 2 ;;
    --report-only) report_only=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument '$1' (expected --data, --split, --limit, --out, --build, --model, --report-only; --help)" ;;
  esac
done
[[ "$limit" =~ ^[0-9]+$ ]] || fail "--limit $limit: expected a whole number of files"
case "$split" in train|val|test) ;; *) fail "--split $split: expected train, val or test" ;; esac
if [ "$report_only" = 1 ]; then
  [ -f "$out/run/meta.tsv" ] || fail "no earlier run in $out (no run/meta.tsv): run without --report-only first"
  exec python3 "$here/compare_metrics.py" "$out"
fi

# ---- what is needed, each with the command that provides it
[ -d "$data" ] ||
  fail "no corpus at $data: make it with \`build/byteformer data file-types --out data/file_types\` (its packages: \`scripts/setup.sh --corpus\`)"
data=$(cd "$data" && pwd)
[ -f "$data/manifest.jsonl" ] && [ -d "$data/$split" ] ||
  fail "$data has no manifest.jsonl or no $split/ folder: not a complete corpus; make it with \`build/byteformer data file-types --out $data\`"
[ -x "$venv/bin/magika" ] && [ -x "$venv/bin/python" ] ||
  fail "no Magika at $venv: install it with \`scripts/setup.sh --magika\` (PyPI's magika, pinned in bench/file_types/requirements.txt)"
magika_version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("magika"))' 2>/dev/null) ||
  fail "$venv holds no magika package: reinstall it with \`scripts/setup.sh --magika\`"
want=$(sed -n 's/^magika==\([^ ]*\).*/\1/p' "$here/requirements.txt")
[ "$magika_version" = "$want" ] ||
  fail "$venv has magika $magika_version, the comparison pins $want: \`scripts/setup.sh --magika\` installs it"
magika_config=""
for f in "$venv"/lib/python3*/site-packages/magika/models/standard_v3_3/config.min.json; do
  [ -f "$f" ] && { magika_config=$f; break; }
done
magika_onnx=${magika_config%/config.min.json}/model.onnx
[ -f "$magika_config" ] && [ -f "$magika_onnx" ] ||
  fail "no standard_v3_3 model in $venv's magika: reinstall it with \`scripts/setup.sh --magika\`"
command -v file >/dev/null || fail "no \`file\` command: \`apt-get install file\`"
command -v taskset >/dev/null || fail "no \`taskset\`: \`apt-get install util-linux\`"
[ -x /usr/bin/time ] || fail "no /usr/bin/time: \`apt-get install time\`"
bin=$build/byteformer
[ -x "$bin" ] || fail "no $bin: build it with \`scripts/build.sh\`"
weights=checkpoint_best.pt
[ -f "$model/$weights" ] || weights=checkpoint_ema_best.pt
[ -f "$model/config.yaml" ] && [ -f "$model/$weights" ] ||
  fail "no model at $model (config.yaml, checkpoint_best.pt): the shipped one is models/file-types; or --model RUN_DIR of \`byteformer train --recipe file-types\`"
model=$(cd "$model" && pwd)
# A corpus made after the model was trained may have split its packages otherwise: its test
# files may then be ones the model trained on. Only the dates can tell here; say so in the report.
warning=""
if [ "$data/.byteformer_file_types.json" -nt "$model/$weights" ]; then
  warning="the corpus ($data) was made after the model's weights ($model/$weights): if the model was trained on an earlier corpus, some test files may be ones it trained on"
  say "warning: $warning"
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
run=$out/run
rm -rf "$run" "$out/sample"
mkdir -p "$run"

# byteformer's labels: the weights' sidecar (.pt.json, "labels"), else the keys of the model's
# calibrated thresholds.
labels=$run/byteformer_labels.txt
python3 - "$model" "$weights" >"$labels" <<'PY' || fail "$model: cannot name its classes (no $weights.json with labels, no thresholds.json)"
import json, os, sys
model, weights = sys.argv[1], sys.argv[2]
sidecar = os.path.join(model, weights + ".json")
if os.path.exists(sidecar):
    print("\n".join(json.load(open(sidecar))["labels"]))
else:
    print("\n".join(sorted(json.load(open(os.path.join(model, "thresholds.json")))["thresholds"])))
PY

# identify when this byteformer has it; else predict (the model's byte window, its thresholds).
threads=()
if identify_help=$("$bin" identify --help 2>&1); then
  if grep -q -- '--threads' <<<"$identify_help"; then threads=(--threads 1); fi
  byteformer=("$bin" identify --json --model "$model" "${threads[@]}")
else
  say "this byteformer has no identify command: using predict on the same model"
  byteformer=("$bin" predict --json --numerics masked --threads 1 --top-k 1
              --model "$model" --labels "$labels")
fi

# byteformer-identify (the same model exported to model.bfm, run without LibTorch) when both exist:
# its speed and memory are measured too, and its answers checked against byteformer's.
lite=()
if [ -x "$build/byteformer-identify" ] && [ -f "$model/model.bfm" ]; then
  lite=("$build/byteformer-identify" --json --model "$model/model.bfm")
else
  say "no $build/byteformer-identify or no $model/model.bfm (byteformer export $model): byteformer-identify is left out"
fi

# ---- the files: the whole split, or (--limit) N of them in turns from its types, hard-linked
# (copied across file systems) into a sample folder of the same layout.
files=$run/files.txt
if [ "$limit" -gt 0 ]; then
  top=$out/sample
  python3 - "$data" "$split" "$limit" "$top" <<'PY'
import json, os, shutil, sys
from collections import defaultdict
data, split, limit, top = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
by_label = defaultdict(list)
for line in open(os.path.join(data, "manifest.jsonl")):
    row = json.loads(line)
    if row["split"] == split:
        by_label[row["label"]].append(row["file"])
queues = [sorted(v) for _, v in sorted(by_label.items())]
picked, k = [], 0
while len(picked) < limit and any(k < len(q) for q in queues):
    picked += [q[k] for q in queues if k < len(q)][: limit - len(picked)]
    k += 1
for f in picked:
    dst = os.path.join(top, f.split("/", 1)[1])
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    try:
        os.link(os.path.join(data, f), dst)
    except OSError:
        shutil.copyfile(os.path.join(data, f), dst)
PY
else
  top=$data/$split
fi
find "$top" -type f | LC_ALL=C sort >"$files"
n=$(wc -l <"$files")
[ "$n" -gt 0 ] || fail "no files under $top"
if LC_ALL=C grep -q '[[:cntrl:]]' "$files"; then
  fail "a file name under $top holds a control character: \`file -f\` reads one name a line"
fi
say "$n files of $top; output in $out"
# byteformer on one file first: a model it cannot open stops the comparison now, not after the
# other tools' runs.
check=$("${byteformer[@]}" "$(head -1 "$files")" 2>"$run/byteformer_check.err" || true)
if ! grep -q '^{' <<<"$check"; then
  echo "compare: ${byteformer[*]} answers no file:" >&2; tail -3 "$run/byteformer_check.err" >&2; exit 1
fi
# Every tool reads the files from the page cache, not the first one from the disk.
tr '\n' '\0' <"$files" | xargs -0 cat >/dev/null

# ---- measure TOOL KIND FILES STDOUT CMD...: one whole process on core 0; appends "tool kind
# wall_s cpu_s rss_kb files" to speed.tsv (cpu_s: user + system time). A tool that exits
# non-zero with some output (per-file error records) is kept; one with no output stops the
# comparison with its error.
speed=$run/speed.tsv
printf 'tool\tkind\twall_s\tcpu_s\trss_kb\tfiles\n' >"$speed"
measure() {
  local tool=$1 kind=$2 files_n=$3 stdout=$4; shift 4
  local t0 t1 rc=0 tag=${tool}_${kind}
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$run/time_$tag.txt" taskset -c 0 "$@" >"$stdout" 2>"$run/$tag.err" || rc=$?
  t1=$(date +%s.%N)
  if [ "$rc" -ne 0 ]; then
    if [ ! -s "$stdout" ]; then
      echo "compare: $tool failed ($rc) with no output: $*" >&2; tail -5 "$run/$tag.err" >&2; exit 1
    fi
    say "$tool exited $rc (per-file errors are in $run/$tag.err; their records count as wrong)"
  fi
  local rss cpu
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$run/time_$tag.txt")
  cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ {s += $2} END {print s}' "$run/time_$tag.txt")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$kind" "$(awk "BEGIN { print $t1 - $t0 }")" "$cpu" "$rss" "$files_n" >>"$speed"
}

say "magika over the split"
measure magika batch "$n" "$run/magika.jsonl" "$venv/bin/magika" --jsonl -r "$top"
say "file over the split (--mime-type, then the description)"
measure file batch "$n" "$run/file_mime.txt" file --mime-type -0 -f "$files"
measure file batch "$n" "$run/file_desc.txt" file -0 -f "$files"
say "byteformer over the split: ${byteformer[*]} -r $top"
measure byteformer batch "$n" "$run/byteformer.jsonl" "${byteformer[@]}" -r "$top"
if [ ${#lite[@]} -gt 0 ]; then
  say "byteformer-identify over the split: ${lite[*]} -r $top"
  measure byteformer-identify batch "$n" "$run/byteformer_identify.jsonl" "${lite[@]}" -r "$top"
fi

# ---- cold start: one small file (a PNG of the run just over 256 bytes, else its smallest
# file over 256 bytes), one untimed run, then 5 timed runs; the median wall and the largest RSS.
cold=$(python3 - "$files" <<'PY'
import os, sys
files = open(sys.argv[1]).read().splitlines()
sized = sorted((os.path.getsize(f), f) for f in files)
over = [(n, f) for n, f in sized if n > 256]
png = [(n, f) for n, f in over if "/png/" in f]
print((png or over or sized)[0][1])
PY
)
cold_start() {
  local tool=$1; shift
  "$@" "$cold" >/dev/null 2>&1 || true
  local i
  for i in 1 2 3 4 5; do measure "$tool" "cold$i" 1 "$run/cold.out" "$@" "$cold"; done
}
say "cold starts on $cold"
cold_start magika "$venv/bin/magika" --jsonl
cold_start file file --mime-type
cold_start byteformer "${byteformer[@]}"
if [ ${#lite[@]} -gt 0 ]; then cold_start byteformer-identify "${lite[@]}"; fi
python3 - "$speed" <<'PY'
import statistics, sys
lines = open(sys.argv[1]).read().splitlines()
keep, cold = [lines[0]], {}
for line in lines[1:]:
    tool, kind, wall, cpu, rss, n = line.split("\t")
    if kind.startswith("cold"):
        cold.setdefault(tool, []).append((float(wall), float(cpu), int(rss)))
    else:
        keep.append(line)
for tool, runs in cold.items():
    keep.append(f"{tool}\tcold\t{statistics.median(w for w, _, _ in runs):.4f}\t"
                f"{statistics.median(c for _, c, _ in runs):.3f}\t{max(r for _, _, r in runs)}\t1")
open(sys.argv[1], "w").write("\n".join(keep) + "\n")
PY

# ---- what the report names
mib() { awk "BEGIN { printf \"%.2f MB\", $1 / 1e6 }"; }
magic_mgc=$(readlink -f /usr/share/misc/magic.mgc 2>/dev/null || true)
{
  printf 'root\t%s\n' "$top"
  printf 'data\t%s\n' "$data"
  printf 'split\t%s\n' "$split"
  printf 'manifest\t%s\n' "$data/manifest.jsonl"
  if [ "$limit" -gt 0 ]; then printf 'limit\t%s\n' "$limit"; fi
  printf 'file_map\t%s\n' "$here/file_mime_map.tsv"
  printf 'magika_config\t%s\n' "$magika_config"
  printf 'byteformer_labels\t%s\n' "$labels"
  printf 'command\t%s\n' "$command_line"
  printf 'commit\t%s\n' "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'cpu\t%s\n' "$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
  printf 'cores\t%s\n' "$(nproc)"
  printf 'loadavg\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'magika_version\t%s\n' "$magika_version"
  printf 'magika_cli\t%s\n' "$("$venv/bin/magika" --version)"
  printf 'file_version\t%s\n' "$(file --version | head -1)"
  printf 'byteformer_cmd\t%s\n' "${byteformer[*]#"$root/"}"
  printf 'size_magika\t%s (standard_v3_3 model.onnx; the CLI binary embeds it: %s)\n' \
    "$(mib "$(stat -c %s "$magika_onnx")")" "$(mib "$(stat -c %s "$venv/bin/magika")")"
  printf 'size_file\t%s\n' "$([ -f "$magic_mgc" ] && echo "$(mib "$(stat -c %s "$magic_mgc")") (magic.mgc)" || echo "?")"
  printf 'size_byteformer\t%s (%s)\n' "$(mib "$(stat -c %s "$model/$weights")")" "$weights"
  if [ ${#lite[@]} -gt 0 ]; then
    printf 'byteformer_identify_cmd\t%s\n' "${lite[*]#"$root/"}"
    printf 'size_byteformer-identify\t%s (model.bfm; the program: %s)\n' "$(mib "$(stat -c %s "$model/model.bfm")")" \
      "$(mib "$(stat -c %s "$build/byteformer-identify")")"
  fi
  printf 'cold_file\t%s\n' "${cold#"$root/"}"
  printf 'cold_size\t%s\n' "$(stat -c %s "$cold")"
  if [ -n "$warning" ]; then printf 'warning\t%s\n' "$warning"; fi
} >"$run/meta.tsv"

python3 "$here/compare_metrics.py" "$out"
say "report: $out/report.md; chart: $out/f1_per_type.svg"
