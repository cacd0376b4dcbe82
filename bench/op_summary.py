#!/usr/bin/env python3
"""Totals a LibTorch chrome trace (bench_model --trace) per operator, top-level events only.

  python3 bench/op_summary.py trace.json [N]
"""
import json
import sys
from collections import defaultdict

events = [e for e in json.load(open(sys.argv[1])) if e.get("ph") == "X"]
events.sort(key=lambda e: (e["tid"], e["ts"], -e["dur"]))
total = defaultdict(float)
count = defaultdict(int)
end_by_tid = defaultdict(float)
for e in events:  # an event inside an earlier one on the same thread is that one's child
    if e["ts"] < end_by_tid[e["tid"]]:
        continue
    end_by_tid[e["tid"]] = e["ts"] + e["dur"]
    total[e["name"]] += e["dur"] / 1e3
    count[e["name"]] += 1
whole = sum(total.values())
print(f"{'operator':<40} {'ms':>9} {'%':>6} {'calls':>6}")
for name, ms in sorted(total.items(), key=lambda kv: -kv[1])[: int(sys.argv[2]) if len(sys.argv) > 2 else 25]:
    print(f"{name:<40} {ms:9.1f} {100 * ms / whole:6.1f} {count[name]:6d}")
print(f"{'total':<40} {whole:9.1f}")
