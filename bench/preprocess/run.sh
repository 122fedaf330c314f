#!/usr/bin/env bash
# lathe's fitted preprocessing beside scikit-learn's ColumnTransformer on the
# same table, same pipeline (median impute + standard scale + missing
# indicators; one-hot capped at 20 with an unknown bucket), alternating runs.
#
# usage: bench/preprocess/run.sh [RUNS] [FILE TARGET]
# needs: the venv of .ci/run (scikit-learn comes with mlflow); release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${1:-5}"
FILE="${2:-../shared/data/adult_income.csv}"
TARGET="${3:-income}"
PY="${LATHE_TEST_PYTHON:-$HOME/.cache/lathe/venv/bin/python}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lathe/target}"
cargo build --release -q -p lathe-data --example prep_timing
BIN="$CARGO_TARGET_DIR/release/examples/prep_timing"
OUT=$(mktemp -d)
for i in $(seq 1 "$RUNS"); do
    "$BIN" "$FILE" "$TARGET" 2>>"$OUT/lathe.txt"
    "$PY" bench/preprocess/sklearn_prep.py "$FILE" "$TARGET" >>"$OUT/sklearn.jsonl"
done
"$PY" - "$OUT" <<'PY'
import json, re, statistics, sys
out = sys.argv[1]
lathe = {"read": [], "fit": [], "transform": [], "row": []}
for line in open(f"{out}/lathe.txt"):
    m = re.search(r"read ([\d.]+) ms \| target\+fit ([\d.]+) ms \| transform ([\d.]+) ms \| transform_row ([\d.]+) µs/row", line)
    if m:
        for k, v in zip(lathe, m.groups()):
            lathe[k].append(float(v))
sk = [json.loads(l) for l in open(f"{out}/sklearn.jsonl")]
skm = {"read": [r["read_s"] * 1e3 for r in sk], "fit": [r["fit_s"] * 1e3 for r in sk],
       "transform": [r["transform_s"] * 1e3 for r in sk], "row": [r["row_us"] for r in sk]}
print(f"runs: {len(sk)}; medians")
print(f"| stage | scikit-learn | lathe | ratio |")
print(f"|---|---|---|---|")
for k, unit in [("read", "ms"), ("fit", "ms"), ("transform", "ms"), ("row", "µs/row")]:
    a, b = statistics.median(skm[k]), statistics.median(lathe[k])
    print(f"| {k} | {a:.2f} {unit} | {b:.2f} {unit} | {a / b:.1f}× |")
fit_tr_sk = statistics.median([f + t for f, t in zip(skm["fit"], skm["transform"])])
fit_tr_la = statistics.median([f + t for f, t in zip(lathe["fit"], lathe["transform"])])
print(f"| fit + transform | {fit_tr_sk:.1f} ms | {fit_tr_la:.1f} ms | {fit_tr_sk / fit_tr_la:.1f}× |")
PY
rm -rf "$OUT"
