#!/usr/bin/env bash
# The web UI at scale: lathe's UI beside MLflow 3.17.2's UI, on the same data,
# through the same browser script, in one run on one machine. Loopback only.
#
#   1. `lathe server` (LATHE_BIN) on a fresh SQLite file; populate.py fills it
#      over HTTP with the stock client. MLflow's SQLite file is filled by the
#      same populate.py through the stock client's own SQLAlchemy store
#      (`sqlite:///` tracking URI, the code MLflow's REST handlers call), then
#      `mlflow server --workers 1` opens it: over HTTP its server took ~26 min
#      for the 10,000 runs on this shared machine, in-process ~10 min.
#   2. curl: the server-side time of lathe's two HTML pages alone (and of the
#      main data request of MLflow's two pages), CURL_REPS times after one warm-up.
#   3. measure.cjs (playwright-core + Debian's chromium, headless): each of the
#      four pages, one warm-up then REPS visits, cold and warm cache.
#   4. summarize.py: the Markdown table (medians), also written to table.md.
#
# Environment (all optional):
#   LATHE_BIN   lathe binary (default /work/target-rel/release/lathe)
#   VENV        venv with mlflow 3.17.2 (default ~/.cache/lathe/bench/venv-serving)
#   PLAYWRIGHT  playwright-core directory (default ~/.cache/lathe/node/node_modules/playwright-core;
#               `npm install playwright-core@1` under ~/.cache/lathe/node when missing)
#   CHROMIUM    default /usr/bin/chromium (apt-get install chromium)
#   RUNS METRICS STEPS   data size (default 10000 20 100000)
#   REPS        measured browser visits per page (default 5); CURL_REPS (default 20)
#   RESULTS     where results go (default bench/ui/results/<UTC date>)
#   WORK_DIR    server data (default mktemp -d under /dev/shm, removed unless KEEP_WORK=1)
#   MLFLOW_DB   an MLflow SQLite file already filled by populate.py with the same
#               RUNS/METRICS/STEPS (copied, not changed; its populate.json beside it
#               as MLFLOW_DB.json): skips MLflow's populate
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
LATHE_BIN="${LATHE_BIN:-/work/target-rel/release/lathe}"
VENV="${VENV:-$HOME/.cache/lathe/bench/venv-serving}"
PLAYWRIGHT="${PLAYWRIGHT:-$HOME/.cache/lathe/node/node_modules/playwright-core}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
RUNS="${RUNS:-10000}"
METRICS="${METRICS:-20}"
STEPS="${STEPS:-100000}"
REPS="${REPS:-5}"
CURL_REPS="${CURL_REPS:-20}"
RES="${RESULTS:-$HERE/results/$(date -u +%Y-%m-%d)}"
mkdir -p "$RES"
RES="$(cd "$RES" && pwd)"
WORK="${WORK_DIR:-$(mktemp -d /dev/shm/lathe-bench-ui.XXXXXX)}"
mkdir -p "$WORK/lathe" "$WORK/mlflow"
WORK="$(cd "$WORK" && pwd)"
PY="$VENV/bin/python"

log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$RES/run.log" >&2; }
die() { log "error: $*"; exit 1; }

[ -x "$LATHE_BIN" ] || die "no lathe binary at $LATHE_BIN (set LATHE_BIN)"
[ -x "$VENV/bin/mlflow" ] || die "no mlflow in $VENV (python3 -m venv $VENV && $VENV/bin/pip install mlflow==3.17.2)"
[ -f "$PLAYWRIGHT/package.json" ] || die "no playwright-core at $PLAYWRIGHT (npm install playwright-core@1 under ~/.cache/lathe/node)"
[ -x "$CHROMIUM" ] || die "no chromium at $CHROMIUM (apt-get install chromium)"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null; done
  wait 2>/dev/null
  [ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 130" INT TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { # URL SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  return 1
}
json() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null)"
  echo "lathe: $("$LATHE_BIN" --version 2>&1) ($LATHE_BIN)"
  echo "mlflow: $("$VENV/bin/mlflow" --version 2>&1)"
  echo "chromium: $("$CHROMIUM" --version 2>&1)"
  echo "node: $(node --version); playwright-core $(node -p "require('$PLAYWRIGHT/package.json').version")"
  echo "cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo)"
  echo "data: RUNS=$RUNS METRICS=$METRICS STEPS=$STEPS REPS=$REPS CURL_REPS=$CURL_REPS WORK=$WORK"
} > "$RES/env.txt"
uptime > "$RES/loadavg_start.txt"
log "start: $(cat "$RES/loadavg_start.txt")"

# ---- lathe: start, populate over HTTP --------------------------------------
LPORT=$(free_port)
LURL="http://127.0.0.1:$LPORT"
LATHE_LOG=warn setsid "$LATHE_BIN" server --backend-store-uri "sqlite:///$WORK/lathe/lathe.db" \
  --artifacts-destination "$WORK/lathe/artifacts" --host 127.0.0.1 --port "$LPORT" \
  > "$RES/lathe-server.log" 2>&1 &
PIDS+=($!)
wait_up "$LURL/health" 30 || die "lathe server did not answer on $LURL"
log "lathe server up on $LURL; populating it ($RUNS runs x $METRICS metrics, $STEPS steps)"
"$PY" "$HERE/populate.py" "$LURL" --runs "$RUNS" --metrics "$METRICS" --steps "$STEPS" \
  --threads 4 --out "$RES/populate_lathe.json" > /dev/null 2> "$RES/populate_lathe.log" &
LPOP=$!

# ---- MLflow: populate its SQLite file in-process, then serve it ------------
MDB="$WORK/mlflow/mlflow.db"
if [ -n "${MLFLOW_DB:-}" ]; then
  log "reusing MLflow data from $MLFLOW_DB"
  cp "$MLFLOW_DB" "$MDB" && cp "$MLFLOW_DB.json" "$RES/populate_mlflow.json" || die "cannot copy $MLFLOW_DB"
else
  log "populating MLflow's SQLite file through the stock client's store"
  "$PY" "$HERE/populate.py" "sqlite:///$MDB" --runs "$RUNS" --metrics "$METRICS" --steps "$STEPS" \
    --threads 1 --out "$RES/populate_mlflow.json" > /dev/null 2> "$RES/populate_mlflow.log" \
    || die "MLflow populate failed (see populate_mlflow.log)"
fi
wait "$LPOP" || die "lathe populate failed (see populate_lathe.log)"
log "populated: lathe $(json "$RES/populate_lathe.json" populate_s) s, mlflow $(json "$RES/populate_mlflow.json" populate_s) s"
MPORT=$(free_port)
MURL="http://127.0.0.1:$MPORT"
setsid "$VENV/bin/mlflow" server --backend-store-uri "sqlite:///$MDB" \
  --artifacts-destination "$WORK/mlflow/artifacts" --host 127.0.0.1 --port "$MPORT" --workers 1 \
  > "$RES/mlflow-server.log" 2>&1 &
PIDS+=($!)
wait_up "$MURL/health" 180 || die "mlflow server did not answer on $MURL"
log "mlflow server up on $MURL"

L_EXP=$(json "$RES/populate_lathe.json" runs_experiment_id)
L_HEXP=$(json "$RES/populate_lathe.json" history_experiment_id)
L_RUN=$(json "$RES/populate_lathe.json" history_run_id)
M_EXP=$(json "$RES/populate_mlflow.json" runs_experiment_id)
M_HEXP=$(json "$RES/populate_mlflow.json" history_experiment_id)
M_RUN=$(json "$RES/populate_mlflow.json" history_run_id)
NEWEST=$(json "$RES/populate_lathe.json" newest_run)

# ---- curl: server-side time of one response --------------------------------
curl_times() { # NAME URL [curl args...]: warm-up, then CURL_REPS lines "time_total size code"
  local name=$1 url=$2 i
  shift 2
  curl -s -o /dev/null "$@" "$url"
  for ((i = 0; i < CURL_REPS; i++)); do
    curl -s -o /dev/null -w '%{time_total} %{size_download} %{http_code}\n' "$@" "$url"
  done > "$RES/curl_$name.txt"
}
log "curl: $CURL_REPS timed requests per page"
curl_times lathe-runs "$LURL/experiments/$L_EXP"
curl_times lathe-run "$LURL/runs/$L_RUN"
# What MLflow's two pages wait for: the runs search and the sampled chart history.
curl_times mlflow-runs-search "$MURL/ajax-api/2.0/mlflow/runs/search" -X POST -H 'Content-Type: application/json' \
  --data "{\"experiment_ids\":[\"$M_EXP\"],\"run_view_type\":\"ACTIVE_ONLY\",\"max_results\":100,\"order_by\":[\"attributes.start_time DESC\"]}"
curl_times mlflow-history "$MURL/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids=$M_RUN&metric_key=loss&max_results=320"

# ---- the browser -----------------------------------------------------------
ML="workflowType=machine_learning" # MLflow 3 opens in its GenAI view otherwise
cat > "$RES/measure-config.json" <<EOF
{
  "playwright": "$PLAYWRIGHT",
  "chromium": "$CHROMIUM",
  "out": "$RES",
  "reps": $REPS,
  "warmup": 1,
  "pages": [
    {"server": "lathe", "page": "runs-table", "url": "$LURL/experiments/$L_EXP",
     "ready": {"selector": "a", "text": "$NEWEST"}},
    {"server": "lathe", "page": "run-page", "url": "$LURL/runs/$L_RUN",
     "ready": {"selector": "path.line", "attr": "d", "min_len": 1000}},
    {"server": "mlflow", "page": "runs-table", "url": "$MURL/#/experiments/$M_EXP/runs?$ML",
     "ready": {"selector": "a", "text": "$NEWEST"}},
    {"server": "mlflow", "page": "run-page", "url": "$MURL/#/experiments/$M_HEXP/runs/$M_RUN/model-metrics?$ML",
     "ready": {"selector": ".js-plotly-plot path.js-line", "attr": "d", "min_len": 1000}}
  ]
}
EOF
log "browser: $REPS visits per page after one warm-up"
node "$HERE/measure.cjs" "$RES/measure-config.json" > "$RES/measure.json" 2> "$RES/measure.log" \
  || die "measure.cjs failed (see measure.log)"

uptime > "$RES/loadavg_end.txt"
log "end: $(cat "$RES/loadavg_end.txt")"
"$PY" "$HERE/summarize.py" "$RES" | tee "$RES/table.md"
