#!/usr/bin/env python3
"""Markdown table of a bench/drift/run.sh results directory (stdlib only).

usage: summarize.py RESULTS_DIR SIZE...
"""
import glob
import json
import os
import re
import statistics
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def lathe_runs(out, n):
    runs = []
    for t in sorted(glob.glob(os.path.join(out, f"lathe_{n}_r*.time"))):
        wall, rss_kb = open(t).read().split()[-2:]
        log = ANSI.sub("", open(t[:-5] + ".log").read())
        read = re.search(r"read_s=([0-9.]+)", log)
        test = re.search(r"test_s=([0-9.]+)", log)
        parse = [float(x) for x in re.findall(r"parse_s=([0-9.]+)", log)]
        runs.append({"wall": float(wall), "rss_mb": int(rss_kb) / 1024,
                     "parse": max(parse) if parse else None,
                     "read": float(read.group(1)) if read else None,
                     "test": float(test.group(1)) if test else None})
    return runs


def main():
    out, sizes = sys.argv[1], sys.argv[2:]
    formats = os.environ.get("FORMATS", "csv parquet").split()
    print("| rows each | format | lathe wall s (median of runs) | lathe read / tests s | lathe peak RSS MB "
          "| Evidently wall s (read + report) | Evidently report.run s | Evidently peak RSS MB "
          "| time ratio (wall) | time ratio (report.run only) | memory ratio | floor s "
          "| lathe / floor | same tests / verdicts |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n in sizes:
        for f in formats:
            k = f"{n}_{f}"
            runs = lathe_runs(out, k)
            if not runs:
                continue
            ev_wall, ev_kb = open(os.path.join(out, f"evidently_{k}.time")).read().split()[-2:]
            ev = json.load(open(os.path.join(out, f"evidently_{k}.json")))
            cmp = json.load(open(os.path.join(out, f"compare_{k}.json")))
            floor = json.load(open(os.path.join(out, f"floor_{k}.json")))
            wall = statistics.median(r["wall"] for r in runs)
            read = statistics.median(r["read"] for r in runs)
            test = statistics.median(r["test"] for r in runs)
            rss = max(r["rss_mb"] for r in runs)
            if f == "csv":
                # One pass: lathe's own parse of each file (the bytes alone: cat).
                base = statistics.median(r["parse"] for r in runs if r["parse"] is not None)
                floor_text = f"parse {base:.2f} (cat {floor['cat_s']:.2f})"
            else:
                # One pass: pyarrow decoding every column of both files.
                base = floor["decode_s"]
                floor_text = f"pyarrow decode {base:.2f}"
            ev_wall, ev_rss = float(ev_wall), int(ev_kb) / 1024
            walls = ", ".join(f"{r['wall']:.2f}" for r in runs)
            print(f"| {int(n):,} | {f} | {wall:.2f} [{walls}] | {read:.2f} / {test:.2f} | {rss:.0f} "
                  f"| {ev_wall:.1f} ({ev['load_s']:.1f} + {ev['run_s']:.1f}) | {ev['run_s']:.1f} | {ev_rss:.0f} "
                  f"| {ev_wall / wall:.0f}× | {ev['run_s'] / wall:.0f}× | {ev_rss / rss:.1f}× | {floor_text} | {wall / base:.1f}× "
                  f"| {cmp['same_test']}/{cmp['columns']} tests, {cmp['same_verdict']}/{cmp['columns']} verdicts, "
                  f"worst score diff {cmp['worst_rel_score_diff']:.0e}; drifted {', '.join(cmp['drifted'])} |")


if __name__ == "__main__":
    main()
