#!/usr/bin/env bash
# The whole job as a user runs it, lathe beside Python, in one run on the same
# CSV: read, preprocess, fit gradient-boosted trees, evaluate (metrics and
# plots), log the run and the model to a tracking server.
#
#   lathe:  lathe train --data T.csv --target Y --tracking-uri http://lathe-server
#   Python: whole_job.py (pandas, scikit-learn ColumnTransformer, LightGBM,
#           scikit-learn metrics, matplotlib, mlflow.lightgbm.log_model) to an
#           `mlflow server` (default workers, SQLite, proxied artifacts)
#
# Each side logs to its own server, both started before the clock and left
# running; the timed process is the client alone (wall time and peak RSS from
# /usr/bin/time). Runs alternate lathe / Python, REPS times; medians.
#
# Environment (all optional):
#   SHARED   the shared/ checkout (default ../shared next to the repository)
#   JOB_VENV venv with mlflow 3.17.2 and lightgbm (default ~/.cache/lathe/venv-job; created if missing)
#   TABLES   which tables (default "adult synthetic"): adult = ../shared/data/adult_income.csv
#            without its `split` column (48,842 rows); synthetic = make_data.py's 1M x 50 train CSV
#   REPS     repetitions per tool and table (default 3)
#   THREADS  training threads for both (default 2)
#   LATHE    the lathe binary (default: release build of this checkout)
#   OUT      results directory (default bench/train/results/<date>-whole-job)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
SHARED=${SHARED:-$root/../shared}
JOB_VENV=${JOB_VENV:-$HOME/.cache/lathe/venv-job}
DATA=${DATA:-$HOME/.cache/lathe/bench-train}
TABLES=${TABLES:-adult synthetic}
REPS=${REPS:-3}
THREADS=${THREADS:-2}
export OMP_NUM_THREADS=$THREADS
OUT=${OUT:-$here/results/$(date +%F)-whole-job}
mkdir -p "$OUT" "$DATA"

if ! "$JOB_VENV/bin/python" -c "import mlflow, lightgbm, matplotlib" 2>/dev/null; then
    python3 -m venv "$JOB_VENV"
    "$JOB_VENV/bin/pip" install --quiet --disable-pip-version-check mlflow==3.17.2 lightgbm
fi
py="$JOB_VENV/bin/python"

if [ -z "${LATHE:-}" ]; then
    export CMAKE=${CMAKE:-$HOME/.cache/lathe/venv-cmake/bin/cmake}
    (cd "$root" && cargo build --release -q -p lathe-cli)
    LATHE="${CARGO_TARGET_DIR:-$root/target}/release/lathe"
fi

# The tables, with the target named `target` in the synthetic one (make_data.py).
"$py" - "$SHARED/data/adult_income.csv" "$DATA/adult_job.csv" <<'PY'
import os, sys
import pandas as pd
if not os.path.exists(sys.argv[2]):
    pd.read_csv(sys.argv[1]).drop(columns=["split"]).to_csv(sys.argv[2], index=False)
PY
if [[ " $TABLES " == *" synthetic "* ]] && [ ! -f "$DATA/synthetic_train.csv" ]; then
    "$py" "$here/make_data.py" "$SHARED/data" "$DATA" 1000000
fi
table_file() { case $1 in adult) echo "$DATA/adult_job.csv" ;; synthetic) echo "$DATA/synthetic_train.csv" ;; esac; }
table_target() { case $1 in adult) echo income ;; synthetic) echo target ;; esac; }

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
    for _ in $(seq 1 120); do
        curl -sf "$1" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "server at $1 did not answer" >&2
    return 1
}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

mlflow_port=$(free_port)
setsid "$JOB_VENV/bin/mlflow" server --backend-store-uri "sqlite:///$work/mlflow.db" \
    --serve-artifacts --artifacts-destination "$work/mlflow-artifacts" \
    --host 127.0.0.1 --port "$mlflow_port" >"$work/mlflow.log" 2>&1 &
pids+=($!)
lathe_port=$(free_port)
setsid "$LATHE" server --backend-store-uri "sqlite:///$work/lathe.db" \
    --artifacts-destination "$work/lathe-artifacts" \
    --host 127.0.0.1 --port "$lathe_port" >"$work/lathe.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$mlflow_port/health"
wait_http "http://127.0.0.1:$lathe_port/health"

results="$OUT/results.jsonl"
: > "$results"
for table in $TABLES; do
    file=$(table_file "$table") target=$(table_target "$table")
    cat "$file" > /dev/null   # page cache warm for both
    for rep in $(seq 1 "$REPS"); do
        for tool in lathe python; do
            echo "== $table / $tool / rep $rep" >&2
            mkdir -p "$work/cwd-$tool"
            if [ "$tool" = lathe ]; then
                (cd "$work/cwd-$tool" && /usr/bin/time -f "%e %M" -o "$work/time" \
                    "$LATHE" train --data "$file" --target "$target" --model gbm \
                    --params "num_threads=$THREADS" --experiment "job-$table" \
                    --tracking-uri "http://127.0.0.1:$lathe_port" \
                    >"$work/out" 2>"$work/err") || { cat "$work/err" >&2; exit 1; }
                run_id=$(head -n 1 "$work/out")
                auc=$("$py" - "http://127.0.0.1:$lathe_port" "$run_id" <<'PY'
import sys, mlflow
mlflow.set_tracking_uri(sys.argv[1])
m = mlflow.get_run(sys.argv[2]).data.metrics
print(m.get("test_roc_auc", m.get("roc_auc", float("nan"))))
PY
)
                line="{\"tool\": \"lathe\", \"run_id\": \"$run_id\", \"roc_auc\": $auc}"
            else
                line=$(cd "$work/cwd-$tool" && /usr/bin/time -f "%e %M" -o "$work/time" \
                    "$py" "$here/whole_job.py" "$file" "$target" \
                    "http://127.0.0.1:$mlflow_port" "job-$table" "$THREADS" 2>"$work/err") \
                    || { cat "$work/err" >&2; exit 1; }
                # mlflow prints a "View run" link on stdout too; the result is the JSON line.
                line=$(printf '%s\n' "$line" | grep '^{' | tail -n 1)
            fi
            read -r wall kb < <(tail -n 1 "$work/time")
            echo "$line" | "$py" -c "
import json, sys
d = json.loads(sys.stdin.read())
d.update(table='$table', rep=$rep, wall_s=$wall, peak_rss_mib=$kb / 1024)
print(json.dumps(d))" >> "$results"
            tail -n 1 "$results" >&2
        done
    done
done
uptime > "$OUT/uptime.txt"
"$py" "$here/whole_job_summary.py" "$results" | tee "$OUT/summary.md"
