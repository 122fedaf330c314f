#!/usr/bin/env python3
"""Compare lathe's and Evidently's drift JSON (same shape); print one JSON line.

usage: compare.py LATHE.json EVIDENTLY.json
"""
import json
import sys

lathe, evidently = (json.load(open(p)) for p in sys.argv[1:3])
same_test = same_verdict = 0
worst = 0.0
for name, e in evidently["columns"].items():
    got = lathe["columns"][name]
    same_test += got["method"] == e["method"]
    same_verdict += got["drift"] == e["drift"]
    if abs(e["score"]) > 1e-12:
        worst = max(worst, abs(got["score"] - e["score"]) / abs(e["score"]))
n = len(evidently["columns"])
print(json.dumps({"columns": n, "same_test": same_test, "same_verdict": same_verdict,
                  "worst_rel_score_diff": worst,
                  "same_dataset_verdict": lathe["dataset_drift"] == evidently["dataset_drift"],
                  "drifted": sorted(c for c, v in lathe["columns"].items() if v["drift"])}))
