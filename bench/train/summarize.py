"""Markdown table from bench/train's results.jsonl (one JSON object per line,
each with `dataset` added by run.sh)."""

import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| dataset | tool | fit s | batch predict s | single-row µs | peak RSS MiB | test AUC |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    print(
        f"| {r['dataset']} | {r['tool']} {r.get('version', '')} | {r['fit_s']:.2f} | {r['predict_s']:.3f} "
        f"| {r['single_row_us']:.1f} | {r['peak_rss_mb']:.0f} | {r['auc']:.4f} |"
    )
