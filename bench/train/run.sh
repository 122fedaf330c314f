#!/usr/bin/env bash
# lathe's Gbm (LightGBM-trained, predicted in pure Rust) beside LightGBM and
# XGBoost (Python, defaults) in one run, on adult-income (one-hot numeric) and
# a seeded synthetic table (make_data.py). Per dataset and tool: fit time,
# batch predict time on the test rows, single-row latency, peak RSS of the
# process, test ROC AUC. CSV reading is timed apart and not in fit time.
#
# Environment (all optional):
#   SHARED     the shared/ checkout (default ../shared next to the repository)
#   TRAIN_VENV venv with lightgbm, xgboost, scikit-learn, pandas
#              (default ~/.cache/lathe/venv-train; created if missing)
#   DATA       where the CSVs are kept between runs (default ~/.cache/lathe/bench-train)
#   ROWS       synthetic rows, train + test (default 1000000)
#   THREADS    training threads for every tool (default 2)
#   OUT        results directory (default bench/train/results/<date>)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
SHARED=${SHARED:-$root/../shared}
TRAIN_VENV=${TRAIN_VENV:-$HOME/.cache/lathe/venv-train}
DATA=${DATA:-$HOME/.cache/lathe/bench-train}
ROWS=${ROWS:-1000000}
THREADS=${THREADS:-2}
# LightGBM builds its binned dataset with OpenMP's default thread count (the
# Rust bindings pass it no parameters), so every tool gets the same cap.
export OMP_NUM_THREADS=$THREADS
OUT=${OUT:-$here/results/$(date +%F)}
mkdir -p "$OUT" "$DATA"

if ! "$TRAIN_VENV/bin/python" -c "import lightgbm, xgboost, sklearn, pandas" 2>/dev/null; then
    python3 -m venv "$TRAIN_VENV"
    "$TRAIN_VENV/bin/pip" install --quiet --disable-pip-version-check lightgbm xgboost scikit-learn pandas
fi
py="$TRAIN_VENV/bin/python"

if [ ! -f "$DATA/synthetic_test.csv" ] || [ "$(cat "$DATA/rows" 2>/dev/null)" != "$ROWS" ]; then
    "$py" "$here/make_data.py" "$SHARED/data" "$DATA" "$ROWS"
    echo "$ROWS" > "$DATA/rows"
fi

# LightGBM's C++ needs cmake >= 3.28 (see .ci/run).
export CMAKE=${CMAKE:-$HOME/.cache/lathe/venv-cmake/bin/cmake}
(cd "$root" && cargo build --release -q -p lathe-train --example fit_csv)
lathe="${CARGO_TARGET_DIR:-$root/target}/release/examples/fit_csv"

results="$OUT/results.jsonl"
: > "$results"
for ds in adult synthetic; do
    train="$DATA/${ds}_train.csv" test="$DATA/${ds}_test.csv"
    cat "$train" "$test" > /dev/null   # page cache warm for everyone
    for tool in lathe lightgbm xgboost; do
        echo "== $ds / $tool" >&2
        if [ "$tool" = lathe ]; then
            line=$("$lathe" "$train" "$test" target "num_threads=$THREADS")
        else
            line=$("$py" "$here/python_fit.py" "$tool" "$train" "$test" target "$THREADS")
        fi
        echo "$line" | "$py" -c "import json,sys; d=json.loads(sys.stdin.read()); d['dataset']='$ds'; print(json.dumps(d))" >> "$results"
    done
done
{ echo "machine: $(getconf _NPROCESSORS_ONLN) cores, $THREADS threads, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git -C "$root" rev-parse --short HEAD)"; "$py" "$here/summarize.py" "$results"; } | tee "$OUT/table.md"
