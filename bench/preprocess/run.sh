#!/usr/bin/env bash
# lathe's fitted preprocessing beside scikit-learn's ColumnTransformer on the
# same table, same pipeline (median impute + standard scale + missing
# indicators; one-hot capped at 20 with an unknown bucket), alternating runs,
# medians; one table per size.
#
# usage: bench/preprocess/run.sh [RUNS] [SIZE...]
#   SIZE: "full" (the table as it is) or a row count: a seeded resample of the
#   table's rows (resample.py), written once under ~/.cache/lathe/bench-prep.
#   Default sizes: full 1000000. The one-row-at-a-time timing runs on "full" only.
# env: PREP_FILE (../shared/data/adult_income.csv), PREP_TARGET (income),
#      PREP_SEED (0), LATHE_TEST_PYTHON (the .ci/run venv, which has scikit-learn).
# needs: a release build of crates/data/examples/prep_timing.rs (built here).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${1:-5}"
shift || true
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(full 1000000)
FILE="${PREP_FILE:-../shared/data/adult_income.csv}"
TARGET="${PREP_TARGET:-income}"
SEED="${PREP_SEED:-0}"
PY="${LATHE_TEST_PYTHON:-$HOME/.cache/lathe/venv/bin/python}"
CACHE="$HOME/.cache/lathe/bench-prep"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lathe/target}"
cargo build --release -q -p lathe-data --example prep_timing
BIN="$CARGO_TARGET_DIR/release/examples/prep_timing"
for size in "${SIZES[@]}"; do
    if [ "$size" = full ]; then
        data="$FILE"
        rows=()
    else
        data="$CACHE/$(basename "${FILE%.csv}")_${size}_seed${SEED}.csv"
        "$PY" bench/preprocess/resample.py "$FILE" "$size" "$SEED" "$data"
        rows=(--no-rows)
    fi
    OUT=$(mktemp -d)
    for i in $(seq 1 "$RUNS"); do
        "$BIN" "$data" "$TARGET" "${rows[@]}" 2>>"$OUT/lathe.txt"
        "$PY" bench/preprocess/sklearn_prep.py "$data" "$TARGET" "${rows[@]}" >>"$OUT/sklearn.jsonl"
    done
    echo "## $data ($size)"
    "$PY" - "$OUT" <<'PY'
import json, re, statistics, sys
out = sys.argv[1]
lathe = {"read": [], "fit": [], "transform": [], "row": []}
for line in open(f"{out}/lathe.txt"):
    m = re.search(r"(\d+) rows -> (\d+) features \| read ([\d.]+) ms \| target\+fit ([\d.]+) ms \| transform ([\d.]+) ms(?: \| transform_row ([\d.]+) µs/row)?", line)
    if m:
        shape = (int(m[1]), int(m[2]))
        for k, v in zip(lathe, m.groups()[2:]):
            if v is not None:
                lathe[k].append(float(v))
sk = [json.loads(l) for l in open(f"{out}/sklearn.jsonl")]
assert sk[0]["rows"] == shape[0], f"rows differ: sklearn {sk[0]['rows']}, lathe {shape[0]}"
skm = {"read": [r["read_s"] * 1e3 for r in sk], "fit": [r["fit_s"] * 1e3 for r in sk],
       "transform": [r["transform_s"] * 1e3 for r in sk],
       "row": [r["row_us"] for r in sk if r["row_us"] is not None]}
# lathe keeps an unknown bucket per categorical column even when training
# had no infrequent label; scikit-learn adds one only when it needs it.
print(f"{shape[0]} rows -> {sk[0]['features']} features (scikit-learn), {shape[1]} (lathe); runs: {len(sk)}; medians")
print("| stage | scikit-learn | lathe | ratio |")
print("|---|---|---|---|")
for k, unit in [("read", "ms"), ("fit", "ms"), ("transform", "ms"), ("row", "µs/row")]:
    if skm[k] and lathe[k]:
        a, b = statistics.median(skm[k]), statistics.median(lathe[k])
        print(f"| {k} | {a:.2f} {unit} | {b:.2f} {unit} | {a / b:.1f}× |")
fit_tr_sk = statistics.median([f + t for f, t in zip(skm["fit"], skm["transform"])])
fit_tr_la = statistics.median([f + t for f, t in zip(lathe["fit"], lathe["transform"])])
print(f"| fit + transform | {fit_tr_sk:.1f} ms | {fit_tr_la:.1f} ms | {fit_tr_sk / fit_tr_la:.1f}× |")
PY
    rm -rf "$OUT"
done
