#!/usr/bin/env python3
"""Evidently 0.7.23's drift report on two CSV or Parquet files, the way its user would run it.

usage: evidently_csv.py --reference REF.csv|.parquet --current CUR.csv|.parquet --out OUT.json

Loads both files with pandas.read_csv or pandas.read_parquet (timed), declares num_* numerical and
cat_* categorical (as the shared reference runs do), runs
Report([DataDriftPreset()], include_tests=True) (timed), and writes per column
the test, score and verdict in lathe's JSON shape so the two can be compared.
Peak memory is measured from outside (/usr/bin/time).
"""
import argparse
import json
import time

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

# Evidently's display names -> the test names both tools use in JSON.
NAMES = {"K-S p_value": "ks", "chi-square p_value": "chisquare", "Z-test p_value": "z",
         "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon",
         "PSI": "psi"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", required=True)
    ap.add_argument("--current", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    t0 = time.perf_counter()
    read = pd.read_parquet if a.reference.endswith(".parquet") else pd.read_csv
    ref = read(a.reference)
    cur = read(a.current)
    t1 = time.perf_counter()
    num = [c for c in ref.columns if c.startswith("num_")]
    cat = [c for c in ref.columns if c.startswith("cat_")]
    dd = DataDefinition(numerical_columns=num, categorical_columns=cat)
    snap = Report([DataDriftPreset()], include_tests=True).run(
        Dataset.from_pandas(cur, data_definition=dd), Dataset.from_pandas(ref, data_definition=dd))
    t2 = time.perf_counter()
    d = snap.dict()

    verdict = {}
    for t in d["tests"]:
        params = (t.get("metric_config") or {}).get("params") or {}
        if params.get("type", "").endswith("ValueDrift"):
            verdict[params["column"]] = t["status"] == "FAIL"
    columns, share = {}, None
    for m in d["metrics"]:
        kind = m["config"]["type"]
        if kind.endswith("DriftedColumnsCount"):
            share = m["value"]["share"]
        elif kind.endswith("ValueDrift"):
            col = m["config"]["column"]
            columns[col] = {"method": NAMES.get(m["config"]["method"], m["config"]["method"]),
                            "threshold": m["config"]["threshold"], "score": m["value"],
                            "drift": verdict.get(col)}
    out = {"load_s": round(t1 - t0, 3), "run_s": round(t2 - t1, 3), "drift_share": share,
           "dataset_drift": share is not None and share >= 0.5, "columns": columns}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1, default=float)


if __name__ == "__main__":
    main()
