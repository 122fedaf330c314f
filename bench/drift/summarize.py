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
    print("| rows each | lathe wall s (median of runs) | lathe read / tests s | lathe peak RSS MB "
          "| Evidently wall s (read_csv + report) | Evidently report.run s | Evidently peak RSS MB "
          "| time ratio (wall) | time ratio (report.run only) | memory ratio | floor: cat both CSVs s | floor: parse both CSVs s "
          "| lathe / parse floor | same tests / verdicts |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n in sizes:
        runs = lathe_runs(out, n)
        ev_wall, ev_kb = open(os.path.join(out, f"evidently_{n}.time")).read().split()[-2:]
        ev = json.load(open(os.path.join(out, f"evidently_{n}.json")))
        cmp = json.load(open(os.path.join(out, f"compare_{n}.json")))
        floor = json.load(open(os.path.join(out, f"floor_{n}.json")))
        wall = statistics.median(r["wall"] for r in runs)
        read = statistics.median(r["read"] for r in runs)
        test = statistics.median(r["test"] for r in runs)
        rss = max(r["rss_mb"] for r in runs)
        parse = statistics.median(r["parse"] for r in runs if r["parse"] is not None)
        ev_wall, ev_rss = float(ev_wall), int(ev_kb) / 1024
        walls = ", ".join(f"{r['wall']:.2f}" for r in runs)
        print(f"| {int(n):,} | {wall:.2f} [{walls}] | {read:.2f} / {test:.2f} | {rss:.0f} "
              f"| {ev_wall:.1f} ({ev['load_s']:.1f} + {ev['run_s']:.1f}) | {ev['run_s']:.1f} | {ev_rss:.0f} "
              f"| {ev_wall / wall:.0f}× | {ev['run_s'] / wall:.0f}× | {ev_rss / rss:.1f}× | {floor['cat_s']:.2f} | {parse:.2f} | {wall / parse:.1f}× "
              f"| {cmp['same_test']}/{cmp['columns']} tests, {cmp['same_verdict']}/{cmp['columns']} verdicts, "
              f"worst score diff {cmp['worst_rel_score_diff']:.0e}; drifted {', '.join(cmp['drifted'])} |")


if __name__ == "__main__":
    main()
