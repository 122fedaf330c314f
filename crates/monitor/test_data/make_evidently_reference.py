"""Evidently's own drift results on the generator's data at other seeds and sizes.

Run with the drift bench venv (evidently 0.7.23, pandas<3), from the repository root:

    ~/.cache/lathe/venv-drift/bin/python crates/monitor/test_data/make_evidently_reference.py \
        > crates/monitor/test_data/evidently_other_seeds.json

It runs ../shared/bench/drift/run_evidently.py (Report([DataDriftPreset()]) on
gen_drift_data.py's frames, columns declared num_*/cat_*) once per (rows, seed)
below and keeps, per column, what lathe must reproduce: the test, threshold,
score and verdict. The cli's end-to-end suite regenerates the same data with
the same script and compares `lathe monitor drift` with these.
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "../../../../shared/bench/drift"))
CASES = [(1000, 7), (1000, 3), (5000, 7)]


def one(rows, seed):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        subprocess.run([sys.executable, os.path.join(SHARED, "run_evidently.py"), "--rows", str(rows),
                        "--seed", str(seed), "--reps", "1", "--no-recompute", "--out", out],
                       check=True, stdout=subprocess.DEVNULL)
        doc = json.load(open(out))
    return {
        "rows": rows,
        "seed": seed,
        "versions": doc["versions"],
        "dataset_drift": doc["dataset_drift"],
        "drifted_columns_count": doc["drifted_columns_count"],
        "columns": {name: {k: c[k] for k in ("type", "method", "threshold", "score", "drift")}
                    for name, c in doc["columns"].items()},
    }


json.dump({"cases": [one(r, s) for r, s in CASES]}, sys.stdout, indent=1)
sys.stdout.write("\n")
