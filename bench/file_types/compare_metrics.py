#!/usr/bin/env python3
"""Scores Magika, `file` and `byteformer identify` on the file-types corpus; writes the report.

  python3 bench/file_types/compare_metrics.py RUN_DIR     (what compare.sh wrote: RUN_DIR/run/)
  python3 bench/file_types/compare_metrics.py --self-test

Reads the tools' raw answers, the corpus manifest, the `file` mapping table and the timings
from RUN_DIR/run/, and writes RUN_DIR/report.md (also printed) and RUN_DIR/f1_per_type.svg.
Standard library only, so plain python3 runs it.

Scoring. A subset of types S (all three tools cover / Magika covers / all corpus types) keeps
the files whose true label is in S; a file counts right when the tool's label equals the true
one, so an answer outside S is wrong. Per type c of S: precision = TP / (TP + FP) over the kept
files, recall = TP / (TP + FN), F1 their harmonic mean, 0 where a denominator is 0. Macro-F1
averages the types of S that have files in the split (a type without test files has no recall).
Converted files (the manifest's "converted": true) are scored apart; the main figures are the
original files'.
"""
import json
import re
import sys
from collections import Counter, defaultdict
from html import escape
from pathlib import Path

TOOLS = ("magika", "file", "byteformer")
TOOL_NAMES = {"magika": "Magika", "file": "file", "byteformer": "byteformer"}
NO_LABEL = "(none)"  # a tool gave no answer for the file, or one the mapping has no label for


# ---------------------------------------------------------------- scoring

def score(pairs, types):
    """pairs: (true, predicted) labels; types: the subset S. Returns (summary, per-type dict)."""
    types = set(types)
    kept = [(t, p) for t, p in pairs if t in types]
    tp, fp, fn, support = Counter(), Counter(), Counter(), Counter()
    for t, p in kept:
        support[t] += 1
        if p == t:
            tp[t] += 1
        else:
            fn[t] += 1
            if p in types:
                fp[p] += 1
    per_type = {}
    for c in sorted(types):
        if support[c] == 0:
            continue
        p = tp[c] / (tp[c] + fp[c]) if tp[c] + fp[c] else 0.0
        r = tp[c] / (tp[c] + fn[c])
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per_type[c] = {"n": support[c], "tp": tp[c], "fp": fp[c], "fn": fn[c],
                       "precision": p, "recall": r, "f1": f1}
    n = len(kept)
    summary = {
        "files": n,
        "types": len(per_type),
        "accuracy": sum(tp.values()) / n if n else 0.0,
        "macro_f1": sum(v["f1"] for v in per_type.values()) / len(per_type) if per_type else 0.0,
    }
    return summary, per_type


# ---------------------------------------------------------------- the `file` mapping table

def read_file_map(path):
    """Rules (mime, description regex or None, label or None) from the TSV table."""
    rules = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 3:
            sys.exit(f"compare_metrics: {path}:{number}: expected 3 tab-separated columns "
                     f"(mime_type, description, label), got {len(cols)}: {line!r}")
        mime, desc, label = (c.strip() for c in cols)
        rules.append((mime, None if desc == "*" else re.compile(desc),
                      None if label == "-" else label))
    return rules


def map_file_answer(rules, mime, description):
    for rule_mime, desc, label in rules:
        if rule_mime == mime and (desc is None or desc.search(description)):
            return label or NO_LABEL
    return NO_LABEL


# ---------------------------------------------------------------- reading a run

def read_tsv_pairs(path):
    out = {}
    for line in Path(path).read_text().splitlines():
        if "\t" in line:
            k, v = line.split("\t", 1)
            out[k] = v
    return out


def relative(path, root):
    """A tool's path as "<label>/<name>", the split's layout (a path given otherwise: its last two parts)."""
    root = root.rstrip("/") + "/"
    return path[len(root):] if path.startswith(root) else "/".join(path.split("/")[-2:])


def read_file_answers(path, root):
    """`file -0` output: 'PATH\\0: ANSWER' a line."""
    out = {}
    for line in Path(path).read_bytes().decode("utf-8", "surrogateescape").splitlines():
        if "\0" not in line:
            continue
        name, answer = line.split("\0", 1)
        out[relative(name, root)] = answer.lstrip(":").strip()
    return out


def read_jsonl(path, root, label_of):
    out = {}
    for line in Path(path).read_text(errors="surrogateescape").splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        obj = json.loads(line)
        name = obj.get("path", obj.get("file"))
        if name is not None:
            out[relative(name, root)] = label_of(obj)
    return out


def magika_label(obj):
    result = obj.get("result", {})
    if result.get("status") != "ok":
        return NO_LABEL
    return result["value"]["output"]["label"]


def byteformer_label(obj):
    if "error" in obj:
        return NO_LABEL
    return str(obj.get("label", NO_LABEL))


def magika_types(config_path):
    """The labels Magika's model answers: its target labels, after its overwrite map."""
    config = json.loads(Path(config_path).read_text())
    overwrite = config.get("overwrite_map", {})
    return {overwrite.get(label, label) for label in config["target_labels_space"]}


def load_run(run_dir):
    run = Path(run_dir) / "run"
    meta = read_tsv_pairs(run / "meta.tsv")
    root = meta["root"]
    truth = {}  # relative path -> (label, converted)
    corpus_types = set()
    for line in Path(meta["manifest"]).read_text().splitlines():
        row = json.loads(line)
        corpus_types.add(row["label"])
        if row["split"] != meta["split"]:
            continue
        rel = row["file"].split("/", 1)[1]  # "<split>/<label>/<name>" -> "<label>/<name>"
        truth[rel] = (row["label"], bool(row.get("converted")) or "via" in row)
    files = [relative(f, root) for f in (run / "files.txt").read_text().splitlines() if f]
    missing = [f for f in files if f not in truth]
    if missing:
        sys.exit(f"compare_metrics: {len(missing)} file(s) of the run are not in the manifest's "
                 f"{meta['split']} split, e.g. {missing[0]}")
    rules = read_file_map(meta["file_map"])
    mimes = read_file_answers(run / "file_mime.txt", root)
    descriptions = read_file_answers(run / "file_desc.txt", root)
    answers = {
        "magika": read_jsonl(run / "magika.jsonl", root, magika_label),
        "file": {f: map_file_answer(rules, m, descriptions.get(f, "")) for f, m in mimes.items()},
        "byteformer": read_jsonl(run / "byteformer.jsonl", root, byteformer_label),
    }
    covers = {
        "magika": magika_types(meta["magika_config"]),
        "file": {label for _, _, label in rules if label},
        "byteformer": set(Path(meta["byteformer_labels"]).read_text().split()),
    }
    speed = [line.split("\t") for line in (run / "speed.tsv").read_text().splitlines()[1:] if line]
    return meta, truth, files, corpus_types, answers, covers, mimes, descriptions, speed


# ---------------------------------------------------------------- the report

def pct(x):
    return f"{100 * x:.2f}"


def f3(x):
    return f"{x:.3f}"


def chart_svg(per_type, types, covers, title):
    """Per-type F1 of the three tools as grouped horizontal bars, written by hand."""
    colors = {"magika": "#4285f4", "file": "#9e9e9e", "byteformer": "#e8710a"}
    bar, gap, left, width, top = 6, 8, 110, 500, 70
    row = bar * len(TOOLS) + gap
    height = top + row * len(types) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{left}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>']
    for i, tool in enumerate(TOOLS):
        x = left + i * 130
        out.append(f'<rect x="{x}" y="28" width="12" height="12" fill="{colors[tool]}"/>'
                   f'<text x="{x + 16}" y="38">{TOOL_NAMES[tool]}</text>')
    for k in range(11):  # grid and scale, F1 0.0 .. 1.0
        x = left + width * k / 10
        out.append(f'<line x1="{x}" y1="{top - 6}" x2="{x}" y2="{height - 30}" stroke="#ddd"/>'
                   f'<text x="{x}" y="{top - 10}" text-anchor="middle">{k / 10:.1f}</text>')
    for j, label in enumerate(types):
        y = top + j * row
        out.append(f'<text x="{left - 6}" y="{y + row / 2}" text-anchor="end">'
                   f'{escape(label)} ({per_type["magika"][label]["n"]})</text>')
        for i, tool in enumerate(TOOLS):
            f1 = per_type[tool][label]["f1"]
            if label not in covers[tool]:
                out.append(f'<text x="{left + 3}" y="{y + (i + 1) * bar - 1}" font-size="7" '
                           f'fill="#777">{TOOL_NAMES[tool]}: no such label</text>')
                continue
            out.append(f'<rect x="{left}" y="{y + i * bar}" width="{width * f1:.1f}" height="{bar - 1}" '
                       f'fill="{colors[tool]}"><title>{escape(label)}: {TOOL_NAMES[tool]} F1 '
                       f'{f1:.3f}</title></rect>')
    out.append(f'<text x="{left}" y="{height - 10}">F1 per type; in brackets the number of files</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def summary_table(pairs_by_tool, subsets):
    lines = ["| types | types with files | files | " +
             " | ".join(f"{TOOL_NAMES[t]} accuracy % | {TOOL_NAMES[t]} macro-F1" for t in TOOLS) + " |",
             "|---|---:|---:|" + "---:|---:|" * len(TOOLS)]
    for name, types in subsets:
        scored = {t: score(pairs_by_tool[t], types)[0] for t in TOOLS}
        first = scored[TOOLS[0]]
        if first["files"] == 0:
            lines.append(f"| {name} | 0 | 0 |" + " - | - |" * len(TOOLS))
            continue
        lines.append(f"| {name} | {first['types']} | {first['files']} | " +
                     " | ".join(f"{pct(scored[t]['accuracy'])} | {f3(scored[t]['macro_f1'])}" for t in TOOLS) + " |")
    return lines


def report(run_dir):
    meta, truth, files, corpus_types, answers, covers, mimes, descriptions, speed = load_run(run_dir)
    original = [f for f in files if not truth[f][1]]
    converted = [f for f in files if truth[f][1]]

    def pairs(tool, subset_files):
        return [(truth[f][0], answers[tool].get(f, NO_LABEL)) for f in subset_files]

    all_three = corpus_types & covers["magika"] & covers["file"] & covers["byteformer"]
    magika_cover = corpus_types & covers["magika"]
    subsets = [(f"(a) all three tools cover: {len(all_three)}", all_three),
               (f"(b) Magika covers: {len(magika_cover)}", magika_cover),
               (f"(c) all corpus types: {len(corpus_types)}", corpus_types)]
    out = [f"# Magika, `file` and byteformer on the file-types corpus ({meta['split']} split)", ""]
    out += [f"- command: `{meta['command']}`",
            f"- commit {meta['commit']}; {meta['date']}",
            f"- CPU: {meta['cpu']} ({meta['cores']} cores; every tool pinned to core 0 with `taskset -c 0`; "
            f"load average at the start {meta['loadavg']})",
            f"- tools: Magika {meta['magika_version']} (PyPI; CLI `{meta['magika_cli']}`), "
            f"`{meta['file_version']}` with [file_mime_map.tsv](file_mime_map.tsv), "
            f"byteformer `{meta['byteformer_cmd']}`",
            f"- files: {len(files)} of `{meta['data']}/{meta['split']}` "
            f"({len(original)} original, {len(converted)} converted by Debian's tools)"
            + (f"; `--limit {meta['limit']}`: a sample, not the whole split" if meta.get("limit") else ""),
            f"- types: {len(corpus_types)} in the corpus, {len({truth[f][0] for f in files})} with files here; "
            f"Magika answers {len(covers['magika'])} labels, the `file` table maps to "
            f"{len(covers['file'])}, the byteformer model has {len(covers['byteformer'])}",
            ""]
    if meta.get("warning"):
        out += [f"**Warning**: {meta['warning']}.", ""]
    if magika_cover == corpus_types:
        out += ["The corpus's labels are Magika's own (a subset of its model's target labels), so "
                "(b) and (c) are the same types.", ""]
    by_tool = {t: pairs(t, original) for t in TOOLS}
    out += ["## Accuracy and macro-F1", "",
            "Original files (the main figures; converted files excluded):", ""]
    out += summary_table(by_tool, subsets)
    out += ["", "Converted files only (made by `xz`, `bzip2`, `tar`, Python's `zipfile`, ImageMagick, "
            "`sqlite3`, `sox`, `lame` from other corpus files):", ""]
    out += summary_table({t: pairs(t, converted) for t in TOOLS}, subsets)
    out += ["", "All files (original and converted):", ""]
    out += summary_table({t: pairs(t, files) for t in TOOLS}, subsets)

    # Per type, original files, all corpus types.
    per_type = {t: score(by_tool[t], corpus_types)[1] for t in TOOLS}
    types = sorted(per_type["magika"])
    out += ["", "## Per type (original files)", "",
            "Precision / recall / F1; the last column names the tools that have no label for the type.", "",
            "| type | files | " + " | ".join(f"{TOOL_NAMES[t]} P | R | F1" for t in TOOLS) + " | not covered by |",
            "|---|---:|" + "---:|---:|---:|" * len(TOOLS) + "---|"]
    for c in types:
        cells = []
        for t in TOOLS:
            v = per_type[t][c]
            cells.append(f"{f3(v['precision'])} | {f3(v['recall'])} | {f3(v['f1'])}")
        missing = ", ".join(TOOL_NAMES[t] for t in TOOLS if c not in covers[t]) or ""
        out.append(f"| {c} | {per_type['magika'][c]['n']} | " + " | ".join(cells) + f" | {missing} |")
    svg = chart_svg(per_type, types, covers, f"F1 per type, {meta['split']} split, original files "
                    f"({len(original)} files, {len(types)} types)")
    (Path(run_dir) / "f1_per_type.svg").write_text(svg)
    out += ["", "Chart: [f1_per_type.svg](f1_per_type.svg)."]

    if converted:
        out += ["", "## Converted files per type", "", "Recall (files of the type labelled right):", "",
                "| type | files | " + " | ".join(TOOL_NAMES[t] for t in TOOLS) + " |",
                "|---|---:|" + "---:|" * len(TOOLS)]
        conv_type = {t: score(pairs(t, converted), corpus_types)[1] for t in TOOLS}
        for c in sorted(conv_type["magika"]):
            out.append(f"| {c} | {conv_type['magika'][c]['n']} | " +
                       " | ".join(f3(conv_type[t][c]["recall"]) for t in TOOLS) + " |")

    # Speed, memory, size. A tool's batch rows add up (`file` runs twice); RSS is the largest.
    out += ["", "## Speed, memory, size", "",
            "Whole processes on one core (`taskset -c 0`): the batch run takes every file of the run in "
            "one process (`file` in two: `--mime-type`, then the description the table needs); the "
            "cold start is one process on one small file (median of 5 runs, after one untimed run). "
            "Wall time, and CPU time (user + system: what the process itself spent, less disturbed by "
            "other work on the machine). Peak RSS from `/usr/bin/time -v`.", "",
            "| tool | batch: ms per file (wall) | batch: CPU ms per file | batch: peak RSS MB "
            "| cold start: ms (wall) | cold start: CPU ms | cold start: peak RSS MB | model on disk |",
            "|---|---:|---:|---:|---:|---:|---:|---|"]
    def cpu_ms(seconds):  # /usr/bin/time counts CPU time in 10 ms steps
        return "< 10" if seconds < 0.01 else f"{1000 * seconds:.0f}"

    rows = defaultdict(dict)
    for tool, kind, wall, cpu, rss, n in speed:
        w, c, r, k = rows[tool].get(kind, (0.0, 0.0, 0, 0))
        rows[tool][kind] = (w + float(wall), c + float(cpu), max(r, int(rss)), max(k, int(n)))
    for tool in list(TOOLS) + [t for t in rows if t not in TOOLS]:
        if tool not in rows:
            continue
        b, c = rows[tool].get("batch"), rows[tool].get("cold")
        size = meta.get(f"size_{tool}", "")
        out.append(f"| {TOOL_NAMES.get(tool, tool)} | "
                   + (f"{1000 * b[0] / b[3]:.2f} | {1000 * b[1] / b[3]:.2f} | {b[2] / 1024:.0f}" if b else "- | - | -")
                   + " | " + (f"{1000 * c[0]:.0f} | {cpu_ms(c[1])} | {c[2] / 1024:.0f}" if c else "- | - | -")
                   + f" | {size} |")
    out += ["", f"Cold-start file: `{meta['cold_file']}` ({meta['cold_size']} bytes)."]
    lite_path = Path(run_dir) / "run" / "byteformer_identify.jsonl"
    if lite_path.exists():
        lite = read_jsonl(lite_path, meta["root"], byteformer_label)
        same = sum(1 for f in files if lite.get(f, NO_LABEL) == answers["byteformer"].get(f, NO_LABEL))
        out += ["", f"byteformer-identify (`{meta.get('byteformer_identify_cmd', '')}`: the same model exported to "
                f"one file and run without LibTorch) gave byteformer's answer for {same} of {len(files)} files."]

    # Answers outside the corpus's labels, and the commonest confusions: what to look at first.
    out += ["", "## Where the tools go wrong (original files)", ""]
    for t in TOOLS:
        wrong = Counter((tr, p) for tr, p in by_tool[t] if tr != p)
        outside = Counter(p for tr, p in by_tool[t] if p not in corpus_types)
        top = ", ".join(f"{tr} as {p} {n}" for (tr, p), n in wrong.most_common(8))
        out.append(f"- {TOOL_NAMES[t]}: {sum(wrong.values())} wrong; commonest: {top or 'none'}")
        if outside:
            out.append(f"  - answers outside the corpus labels: " +
                       ", ".join(f"{p} {n}" for p, n in outside.most_common(8)))
    unmapped = Counter(mimes[f] if answers["file"].get(f) == NO_LABEL else None for f in original)
    unmapped.pop(None, None)
    if unmapped:
        out.append("- `file` MIME types the table gives no label (with their description where one was "
                   "needed): " + ", ".join(f"{m} {n}" for m, n in unmapped.most_common(8)))
    text = "\n".join(out) + "\n"
    (Path(run_dir) / "report.md").write_text(text)
    return text


# ---------------------------------------------------------------- self-test

def self_test():
    """Three cases computed by hand, and one mapping rule each way."""
    def close(a, b):
        return abs(a - b) < 1e-9

    s, _ = score([("a", "a"), ("a", "a"), ("b", "b")], {"a", "b"})
    assert s["accuracy"] == 1 and s["macro_f1"] == 1, s
    # a: TP 1, FN 1 -> P 1, R 1/2, F1 2/3; b: TP 2, FP 1 -> P 2/3, R 1, F1 4/5; macro 11/15.
    s, t = score([("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")], {"a", "b"})
    assert close(t["a"]["f1"], 2 / 3) and close(t["b"]["f1"], 0.8), t
    assert close(s["accuracy"], 0.75) and close(s["macro_f1"], 11 / 15), s
    # Subset {a, b}: the c file is left out; b answered c (outside the subset) is wrong and no
    # type's false positive; a: F1 1, b: F1 0 -> macro 1/2, accuracy 1/2.
    s, t = score([("a", "a"), ("b", "c"), ("c", "x")], {"a", "b"})
    assert s["files"] == 2 and close(s["accuracy"], 0.5) and close(s["macro_f1"], 0.5), (s, t)
    assert t["b"]["fp"] == 0 and t["b"]["fn"] == 1, t
    rules = [("font/sfnt", re.compile("OpenType"), "otf"), ("font/sfnt", None, "ttf"),
             ("text/plain", None, None)]
    assert map_file_answer(rules, "font/sfnt", "OpenType font data") == "otf"
    assert map_file_answer(rules, "font/sfnt", "TrueType Font data") == "ttf"
    assert map_file_answer(rules, "text/plain", "ASCII text") == NO_LABEL
    assert map_file_answer(rules, "image/png", "PNG image data") == NO_LABEL
    print("compare_metrics self-test: ok (3 scoring cases, 4 mapping cases)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    elif len(sys.argv) == 2:
        sys.stdout.write(report(sys.argv[1]))
    else:
        sys.exit(__doc__)
