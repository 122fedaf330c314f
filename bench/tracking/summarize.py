#!/usr/bin/env python3
"""One markdown table from a run.sh results directory.

Usage: summarize.py RESULTS_DIR [--json]

Reads, per server and repetition, startup_<tag>.json, idle_<tag>.txt,
load_<tag>.txt (load.py's stdout; its last JSON line), probe_<tag>.json, where
tag is <server>_main_r<N> (full load) or <server>_big_r<N> (--runs N --only ad).
Prints one table, one column per server (median over repetitions), plus ratio
columns for lathe against MLflow default, MLflow --workers 1 and FastTrackML.
A server whose load.py failed shows FAILED in the rows that pass would fill.
"""

import glob
import json
import os
import re
import statistics
import sys

SERVERS = [("mlflow", "MLflow default (4 workers)"), ("mlflow-w1", "MLflow --workers 1"),
           ("lathe", "lathe"), ("fml", "FastTrackML")]
RATIO_AGAINST = [("mlflow", "lathe vs MLflow default"), ("mlflow-w1", "lathe vs MLflow --workers 1"),
                 ("fml", "lathe vs FastTrackML")]


def last_json(path):
    last = None
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("{"):
                    last = json.loads(line)
    except OSError:
        return None
    return last


def collect(res):
    """data[server][pass] = list of dicts (one per repetition), merged from all files."""
    data, failed = {}, set()
    for path in glob.glob(os.path.join(res, "startup_*.json")):
        m = re.match(r"startup_(.+)_(main|big)_r(\d+)\.json$", os.path.basename(path))
        if not m:
            continue
        server, kind, rep = m.group(1), m.group(2), m.group(3)
        tag = f"{server}_{kind}_r{rep}"
        row = {}
        for p in (f"startup_{tag}.json", f"idle_{tag}.txt", f"probe_{tag}.json"):
            j = last_json(os.path.join(res, p))
            if j:
                row[p.split("_")[0]] = j
        load = last_json(os.path.join(res, f"load_{tag}.txt"))
        if os.path.exists(os.path.join(res, f"FAILED_{tag}.txt")) or load is None:
            failed.add((server, kind))
        else:
            row["load"] = load
        data.setdefault(server, {}).setdefault(kind, []).append(row)
    return data, failed


def med(rows, *path):
    vals = []
    for r in rows:
        v = r
        for k in path:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            vals.append(v)
    return statistics.median(vals) if vals else None


def fmt_num(v, unit):
    if v is None:
        return None
    if unit == "s":
        if v < 1:
            return f"{v * 1000:.0f} ms"
        return f"{v:.2f} s" if v < 10 else f"{v:.1f} s"
    if unit == "ms":
        if v >= 1000:
            return f"{v / 1000:.2f} s"
        return f"{v:.2f} ms" if v < 10 else f"{v:.0f} ms" if v >= 100 else f"{v:.1f} ms"
    if unit == "MiB":
        return f"{v:,.0f} MiB" if v >= 100 else f"{v:.1f} MiB"
    if unit == "int":
        return f"{v:,.0f}"
    return f"{v:,.1f}" if v < 100 else f"{v:,.0f}"


def ratio(lathe, other, higher_better):
    if lathe is None or other is None or lathe <= 0 or other <= 0:
        return ""
    r = lathe / other if higher_better else other / lathe
    good = "faster" if higher_better else "lower"
    bad = "slower" if higher_better else "higher"
    word = good if r >= 1 else bad
    r = r if r >= 1 else 1 / r
    num = f"{r:,.0f}" if r >= 10 else f"{r:.1f}"
    return f"{num}× {word}"


def main():
    res = [a for a in sys.argv[1:] if not a.startswith("--")][0]
    data, failed = collect(res)

    def main_rows(s):
        return data.get(s, {}).get("main", [])

    def big_rows(s):
        return data.get(s, {}).get("big", [])

    # descriptive sizes from whatever ran (same LOAD_ARGS for every server)
    def any_med(rows_fn, *path):
        for s, _ in SERVERS:
            v = med(rows_fn(s), *path)
            if v is not None:
                return v
        return None

    n_runs = any_med(main_rows, "load", "a_runs")
    n_big = any_med(big_rows, "load", "a_runs")
    n_points = any_med(main_rows, "load", "e_points")
    n_calls = any_med(main_rows, "load", "c_calls")
    n_threads = any_med(main_rows, "load", "c_threads")
    b_points = any_med(main_rows, "load", "b_points")
    match_main = any_med(main_rows, "load", "d_matching_runs")
    match_big = any_med(big_rows, "load", "d_matching_runs")

    def i(v):
        return f"{v:,.0f}" if v is not None else "?"

    # (label, rows_fn, path, unit, higher_better, failed_kind)
    spec = [
        (f"a  runs created/s (create + log-batch 10p/10m, {i(n_runs)} runs)", main_rows,
         ("load", "a_runs_per_s"), "", True, "main"),
        (f"b  log-batch points/s (1,000-point batches, {i(b_points)} points)", main_rows,
         ("load", "b_points_per_s"), "int", True, "main"),
        (f"c  log-metric calls/s ({i(n_threads)} clients, {i(n_calls)} calls)", main_rows,
         ("load", "c_calls_per_s"), "", True, "main"),
        (f"d  runs/search p50, {i(n_runs)} runs ({i(match_main)} match)", main_rows,
         ("load", "d_ms_median"), "ms", False, "main"),
        (f"d  runs/search p95, {i(n_runs)} runs", main_rows, ("load", "d_ms_p95"), "ms", False, "main"),
        (f"d  runs/search p50, {i(n_big)} runs ({i(match_big)} match)", big_rows,
         ("load", "d_ms_median"), "ms", False, "big"),
        (f"d  runs/search p95, {i(n_big)} runs", big_rows, ("load", "d_ms_p95"), "ms", False, "big"),
        (f"e  get-history {i(n_points)} points, paged 25k (p50)", main_rows,
         ("load", "e_ms_median"), "ms", False, "main"),
        (f"e  get-history {i(n_points)} points, paged 25k (p95)", main_rows,
         ("load", "e_ms_p95"), "ms", False, "main"),
        (f"e  get-history {i(n_points)} points, one request (p50)", main_rows,
         ("load", "e_unpaged_ms_median"), "ms", False, "main"),
        ("server peak RSS during a–e (sum of VmHWM over the process tree)", main_rows,
         ("load", "server_peak_rss_mib"), "MiB", False, "main"),
        ("server idle RSS after start (sum over the process tree)", main_rows,
         ("idle", "rss_mib"), "MiB", False, None),
        ("server idle PSS after start", main_rows, ("idle", "pss_mib"), "MiB", False, None),
        ("server processes", main_rows, ("idle", "processes"), "int", None, None),
        ("startup: spawn → first 200 on /health", main_rows, ("startup", "startup_to_health_s"), "s", False, None),
        ("startup: spawn → first 200 on experiments/search", main_rows,
         ("startup", "startup_to_first_api_s"), "s", False, None),
        ("keep-alive GET /health p50 (same connection)", main_rows,
         ("probe", "health", "median_ms"), "ms", False, None),
        ("keep-alive POST runs/create p50 (same connection)", main_rows,
         ("probe", "create", "median_ms"), "ms", False, None),
        ("server CPU per run created (a: 2 requests)", main_rows, ("load", "a_server_cpu_ms_per_req"), "ms2",
         False, "main"),
        ("server CPU per 1,000-point batch (b)", main_rows, ("load", "b_server_cpu_ms_per_req"), "ms", False, "main"),
        (f"server CPU per search (d, {i(n_runs)} runs)", main_rows, ("load", "d_server_cpu_ms_per_req"), "ms", False, "main"),
        (f"server CPU per {i(n_points)}-point history fetch (e)", main_rows, ("load", "e_server_cpu_ms_per_req"), "ms",
         False, "main"),
    ]

    present = [(s, title) for s, title in SERVERS if s in data]
    ratios = [(s, t) for s, t in RATIO_AGAINST if "lathe" in data and s in data]
    header = ["figure"] + [t for _, t in present] + [t for _, t in ratios]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    summary = {}
    for label, rows_fn, path, unit, hib, fkind in spec:
        vals = {}
        cells = [label]
        for s, _ in present:
            v = med(rows_fn(s), *path)
            if unit == "ms2" and v is not None:
                v = v * 2  # per-request figure -> per run (create + log-batch)
            vals[s] = v
            if v is None and fkind and (s, fkind) in failed:
                cells.append("FAILED")
            else:
                cells.append(fmt_num(v, "ms" if unit == "ms2" else unit) or "–")
        for s, _ in ratios:
            cells.append(ratio(vals.get("lathe"), vals.get(s), hib) if hib is not None else "")
        summary[label] = vals
        if all(c in ("–",) for c in cells[1:1 + len(present)]):
            continue  # nobody measured it (e.g. no big pass)
        out.append("| " + " | ".join(cells) + " |")
    if "--json" in sys.argv:
        print(json.dumps(summary))
        return
    reps = {s: len(main_rows(s)) for s, _ in present}
    print("\n".join(out))
    print()
    print("repetitions (main pass): " + ", ".join(f"{s} {n}" for s, n in reps.items())
          + "; figures are medians over repetitions.")
    if failed:
        print("FAILED load.py runs: " + ", ".join(f"{s} ({k})" for s, k in sorted(failed)))


if __name__ == "__main__":
    main()
