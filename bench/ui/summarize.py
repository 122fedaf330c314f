"""The Markdown table of one bench/ui run: python summarize.py RESULTS_DIR.

Reads summary.json (measure.cjs: medians over the browser visits), the
curl_*.txt timings, populate_*.json and loadavg_*.txt from RESULTS_DIR.
"""

import json
import statistics
import sys
from pathlib import Path


def ms(x):
    if x is None:
        return "–"
    return f"{x:,.0f} ms" if x >= 100 else f"{x:.1f} ms"


def kb(b):
    if b is None:
        return "–"
    return f"{b / 1e6:.2f} MB" if b >= 1e6 else f"{b / 1e3:.1f} kB"


OPPOSITE = {"sooner": "later", "lighter": "heavier"}


def ratio(m, l, unit):
    if not m or not l:
        return ""
    r = m / l
    if r < 1:  # lathe behind: say so rather than "0.9× sooner"
        r, unit = 1 / r, OPPOSITE[unit]
    if round(r, 1) == 1.0:
        return "same"
    return f"{r:.1f}× {unit}" if r < 10 else f"{r:.0f}× {unit}"


def curl(res, name):
    path = res / f"curl_{name}.txt"
    if not path.exists():
        return None
    rows = [line.split() for line in path.read_text().split("\n") if line.strip()]
    times = sorted(float(r[0]) * 1000 for r in rows)
    codes = {r[2] for r in rows}
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {"p50": statistics.median(times), "p95": p95, "size": int(rows[0][1]), "codes": codes, "n": len(times)}


def main():
    res = Path(sys.argv[1])
    summary = json.loads((res / "summary.json").read_text())
    get = {(s["server"], s["page"], s["cache"]): s for s in summary}
    pop = json.loads((res / "populate_lathe.json").read_text())
    out = []
    w = out.append
    w(
        f"Data: one experiment of {pop['runs']:,} runs × {pop['metrics']} metrics (4 params, 2 tags each), "
        f"one run with a {pop['steps']:,}-step metric. Browser figures: medians of "
        f"{get[('lathe', 'runs-table', 'cold')]['reps']} visits after one warm-up."
    )
    w("")
    w("| page | figure | MLflow 3.17.2 UI | lathe UI | lathe vs MLflow |")
    w("|---|---|---|---|---|")
    names = {"runs-table": "runs table (first page)", "run-page": "run page, 100k-step chart"}
    for page in ["runs-table", "run-page"]:
        for cache in ["cold", "warm"]:
            m, l = get[("mlflow", page, cache)], get[("lathe", page, cache)]
            label = f"{names[page]}, {cache} cache"
            w(f"| {label} | content shown | {ms(m['content_ms'])} | {ms(l['content_ms'])} | {ratio(m['content_ms'], l['content_ms'], 'sooner')} |")
            w(f"| {label} | network idle | {ms(m['idle_ms'])} | {ms(l['idle_ms'])} | {ratio(m['idle_ms'], l['idle_ms'], 'sooner')} |")
            w(f"| {label} | bytes transferred | {kb(m['bytes'])} | {kb(l['bytes'])} | {ratio(m['bytes'], l['bytes'], 'lighter')} |")
            w(f"| {label} | requests | {m['requests']:.0f} | {l['requests']:.0f} | |")
    for name, label in [("lathe-runs", "runs table HTML"), ("lathe-run", "run page HTML")]:
        c = curl(res, name)
        if c:
            w(
                f"| {label} | lathe server time (curl, {c['n']}×: p50 / p95), size | | "
                f"{ms(c['p50'])} / {ms(c['p95'])}, {kb(c['size'])} (HTTP {', '.join(sorted(c['codes']))}) | |"
            )
    for name, label in [
        ("mlflow-runs-search", "runs table data (`runs/search`, 100 runs)"),
        ("mlflow-history", "run page data (`get-history-bulk-interval`, 320 points)"),
    ]:
        c = curl(res, name)
        if c:
            w(
                f"| {label} | MLflow server time (curl, {c['n']}×: p50 / p95), size | "
                f"{ms(c['p50'])} / {ms(c['p95'])}, {kb(c['size'])} (HTTP {', '.join(sorted(c['codes']))}) | | |"
            )
    problems = [
        f"{s['server']} {s['page']} {s['cache']}: {s['failed']} failed, {s['http_errors']} HTTP errors, "
        f"{s['idle_not_reached']} without network idle"
        for s in summary
        if s["failed"] or s["http_errors"] or s["idle_not_reached"]
    ]
    w("")
    w("Failed requests, HTTP errors ≥ 400, visits that never reached network idle: " + ("; ".join(problems) or "none."))
    for when in ["start", "end"]:
        p = res / f"loadavg_{when}.txt"
        if p.exists():
            w(f"Load at {when}: {p.read_text().strip()}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
