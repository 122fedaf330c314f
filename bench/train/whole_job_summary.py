"""Markdown table of whole_job.sh's results: medians per table and tool,
and lathe's ratios against Python (time: Python / lathe; memory: Python / lathe).

    whole_job_summary.py RESULTS.jsonl
"""

import json
import statistics
import sys
from collections import defaultdict


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    by = defaultdict(list)
    for r in rows:
        by[(r["table"], r["tool"])].append(r)
    print("| table | tool | whole job s (median [min-max]) | peak RSS MiB | test ROC AUC | n |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for table in dict.fromkeys(r["table"] for r in rows):
        med = {}
        for tool in ("lathe", "python"):
            rs = by.get((table, tool), [])
            if not rs:
                continue
            wall = [r["wall_s"] for r in rs]
            rss = [r["peak_rss_mib"] for r in rs]
            auc = statistics.median(r["roc_auc"] for r in rs)
            med[tool] = (statistics.median(wall), statistics.median(rss), auc)
            print(f"| {table} | {tool} | {med[tool][0]:.2f} [{min(wall):.2f}-{max(wall):.2f}] "
                  f"| {med[tool][1]:.0f} | {auc:.4f} | {len(rs)} |")
        if len(med) == 2:
            ratios.append((table, med["python"][0] / med["lathe"][0],
                           med["python"][1] / med["lathe"][1],
                           med["lathe"][2] - med["python"][2]))
    print()
    for table, speed, memory, auc in ratios:
        print(f"- {table}: lathe {speed:.1f}x faster, {memory:.1f}x less peak memory, "
              f"AUC difference {auc:+.4f} (lathe - Python)")
    stages = defaultdict(list)
    for r in rows:
        if r["tool"] == "python":
            for k, v in r["stages_s"].items():
                stages[(r["table"], k)].append(v)
    if stages:
        print()
        print("Python's stages (median s): " + "; ".join(
            f"{t}/{k} {statistics.median(v):.2f}" for (t, k), v in stages.items()))


if __name__ == "__main__":
    main(sys.argv[1])
