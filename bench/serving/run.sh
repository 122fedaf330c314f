#!/usr/bin/env bash
# lathe serve beside `mlflow models serve` and BentoML on the same LightGBM
# model, in one run: the anchors' own harness (../shared/bench/serving)
# trains the model, lathe gets the same booster registered through the stock
# mlflow client, and a bare axum endpoint gives the HTTP stack's ceiling.
# Each repetition drives every server in turn with wrk (bench_wrk.sh), then
# the bad-input probes run against each, then summarize.py prints the tables.
#
# usage: bench/serving/run.sh
# env:
#   LATHE_BIN     lathe release binary (default: target/release/lathe, built if absent)
#   BARE_BIN      the ceiling (default: target/release/examples/bare_http, built if absent)
#   MLFLOW_VENV   venv with mlflow scikit-learn lightgbm pandas (default ~/.cache/lathe/bench/venv-serving, made if absent)
#   BENTO_VENV    venv with bentoml lightgbm scikit-learn pandas (default ~/.cache/lathe/bench/venv-bento, made if absent; SKIP_BENTO=1 to skip)
#   OUT           results folder (default bench/serving/results/<date>)
#   REPS=2 CONCURRENCY="1 8 64" DURATION=10s WARMUP=2s THREADS=2   (see bench_wrk.sh)
# lathe runs twice: as `lathe serve` starts by default (every prediction
# logged to the store for monitoring) and with --no-prediction-log, since the
# anchors log nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=$(cd "$repo/../shared/bench/serving" && pwd)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/lathe/bench"
MLFLOW_VENV=${MLFLOW_VENV:-$cache/venv-serving}
BENTO_VENV=${BENTO_VENV:-$cache/venv-bento}
LATHE_BIN=${LATHE_BIN:-$repo/target/release/lathe}
BARE_BIN=${BARE_BIN:-$repo/target/release/examples/bare_http}
OUT=$(mkdir -p "${OUT:-$here/results/$(date -u +%F)}" && cd "${OUT:-$here/results/$(date -u +%F)}" && pwd)
WORK=$(mktemp -d)
export REPS=${REPS:-2} CONCURRENCY=${CONCURRENCY:-"1 8 64"} DURATION=${DURATION:-10s} WARMUP=${WARMUP:-2s} THREADS=${THREADS:-2}
P_MLFLOW=5057 P_BENTO=5058 P_TRACK=5059 P_LATHE=5061 P_BARE=5060 P_NOLOG=5062

[ -x "$MLFLOW_VENV/bin/python" ] || { python3 -m venv "$MLFLOW_VENV"; "$MLFLOW_VENV/bin/pip" install -q mlflow==3.17.2 scikit-learn lightgbm pandas; }
if [ -z "${SKIP_BENTO:-}" ] && [ ! -x "$BENTO_VENV/bin/bentoml" ]; then
  python3 -m venv "$BENTO_VENV"; "$BENTO_VENV/bin/pip" install -q bentoml lightgbm scikit-learn pandas
fi
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
[ -x "$LATHE_BIN" ] || (cd "$repo" && cargo build --release -p lathe-cli)
[ -x "$BARE_BIN" ] || (cd "$repo" && cargo build --release -p lathe-serve --example bare_http)

pgids=()
cleanup() { for g in "${pgids[@]:-}"; do [ -n "$g" ] && kill -TERM -- "-$g" 2>/dev/null || true; done; sleep 1; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
start() { # name logfile cmd... -> sets PID
  setsid "${@:3}" >"$2" 2>&1 &
  PID=$!; pgids+=("$PID")
}
wait_ok() { # url
  for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" = 200 ] && return 0
    sleep 0.2
  done
  echo "not ready: $1" >&2; return 1
}

# 1. the anchors' model and request bodies
"$MLFLOW_VENV/bin/python" "$shared/train_model.py" "$WORK" >"$OUT/train.json"

# 2. servers: mlflow models serve, BentoML, lathe (tracking server + serve), bare axum
declare -A PIDS URLS BODY1 BODY100
start mlflow "$WORK/mlflow.log" env PATH="$MLFLOW_VENV/bin:$PATH" "$MLFLOW_VENV/bin/mlflow" models serve \
  -m "$(cat "$WORK/model_uri.txt")" --env-manager local -h 127.0.0.1 -p $P_MLFLOW -w 1
PIDS[mlflow]=$PID; URLS[mlflow]="http://127.0.0.1:$P_MLFLOW/invocations"
wait_ok "http://127.0.0.1:$P_MLFLOW/ping"
BODY1[mlflow]="$WORK/row1.json"; BODY100[mlflow]="$WORK/rows100.json"
if [ -z "${SKIP_BENTO:-}" ]; then
  mkdir -p "$WORK/bentoml_home"
  start bento "$WORK/bento.log" bash -c "cd '$shared' && exec env PATH='$BENTO_VENV/bin:$PATH' BENTOML_HOME='$WORK/bentoml_home' \
    BENTOML_DO_NOT_TRACK=true LGBM_MODEL_FILE='$WORK/lgbm_model.txt' LGBM_COLUMNS_FILE='$WORK/columns.json' BENTO_WORKERS=1 \
    '$BENTO_VENV/bin/bentoml' serve bento_service:LgbmClassifier --host 127.0.0.1 --port $P_BENTO"
  PIDS[bento]=$PID; URLS[bento]="http://127.0.0.1:$P_BENTO/invocations"
  wait_ok "http://127.0.0.1:$P_BENTO/readyz"
  BODY1[bento]="$WORK/row1.json"; BODY100[bento]="$WORK/rows100.json"
fi
start tracking "$WORK/lathe-server.log" "$LATHE_BIN" server --backend-store-uri "sqlite:///$WORK/lathe.db" \
  --artifacts-destination "$WORK/lathe-artifacts" --port $P_TRACK
wait_ok "http://127.0.0.1:$P_TRACK/health"
MODEL=$("$MLFLOW_VENV/bin/python" "$here/register_lathe.py" "http://127.0.0.1:$P_TRACK" "$WORK" bench-lgbm | tail -n 1)
start lathe "$WORK/lathe-serve.log" "$LATHE_BIN" serve "$MODEL" --tracking-uri "sqlite:///$WORK/lathe.db" \
  --artifacts-destination "$WORK/lathe-artifacts" --port $P_LATHE --poll-interval 0
PIDS[lathe]=$PID; URLS[lathe]="http://127.0.0.1:$P_LATHE/invocations"
wait_ok "http://127.0.0.1:$P_LATHE/ready"
BODY1[lathe]="$WORK/row1.json"; BODY100[lathe]="$WORK/rows100.json"
# The same server without its prediction log (the anchors keep none).
start lathe-nolog "$WORK/lathe-nolog.log" "$LATHE_BIN" serve "$MODEL" --tracking-uri "sqlite:///$WORK/lathe.db" \
  --artifacts-destination "$WORK/lathe-artifacts" --port $P_NOLOG --poll-interval 0 --no-prediction-log
PIDS[lathe-nolog]=$PID; URLS[lathe-nolog]="http://127.0.0.1:$P_NOLOG/invocations"
wait_ok "http://127.0.0.1:$P_NOLOG/ready"
BODY1[lathe-nolog]="$WORK/row1.json"; BODY100[lathe-nolog]="$WORK/rows100.json"
start bare "$WORK/bare.log" "$BARE_BIN" "127.0.0.1:$P_BARE"
PIDS[bare]=$PID; URLS[bare]="http://127.0.0.1:$P_BARE/invocations"
sleep 0.5
BODY1[bare]="$WORK/row1.json"; BODY100[bare]="$WORK/rows100.json"
servers=(lathe lathe-nolog bare mlflow); [ -z "${SKIP_BENTO:-}" ] && servers+=(bento)

# 3. the same predictions: lathe's probabilities equal LightGBM's (MLflow's
#    pyfunc answers labels for this sklearn-API model: compared after 0.5).
got=$(curl -s -X POST -H 'Content-Type: application/json' --data-binary @"$WORK/rows100.json" "${URLS[lathe]}")
python3 - "$got" "$WORK/ref_proba100.json" "$WORK/ref_pred100.json" <<'PY' | tee "$OUT/lathe_predictions.txt"
import json, sys
got = json.loads(sys.argv[1])["predictions"]
proba = json.load(open(sys.argv[2])); labels = json.load(open(sys.argv[3]))
proba = [p[1] if isinstance(p, list) else p for p in proba]
worst = max(abs(g - p) for g, p in zip(got, proba))
same_labels = all(int(g >= 0.5) == int(l) for g, l in zip(got, labels))
print(f"lathe: {len(got)} predictions, max |lathe - lightgbm| = {worst:.2e}, labels equal mlflow's: {same_labels}")
assert worst < 1e-6 and same_labels
PY
{
  echo "{\"date\": \"$(date -u +%FT%TZ)\", \"nproc\": $(nproc), \"loadavg_start\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo " \"lathe\": \"$("$LATHE_BIN" --version)\", \"wrk\": \"$(wrk -v 2>&1 | head -1 | tr -d '"')\"}"
} >"$OUT/meta.json"
: >"$OUT/startup.jsonl"
for s in "${servers[@]}"; do
  echo "{\"anchor\":\"$s\",\"ready_s\":0,\"predictions_match_reference\":true,\"mem_idle\":$("$shared/rss.sh" "${PIDS[$s]}")}" >>"$OUT/startup.jsonl"
done

# 4. load, servers interleaved within each repetition
: >"$OUT/wrk.jsonl"
for rep in $(seq 1 "$REPS"); do
  for s in "${servers[@]}"; do
    REP=$rep "$shared/bench_wrk.sh" "$s" "${URLS[$s]}" "${PIDS[$s]}" "$OUT/wrk.jsonl" "${BODY1[$s]}:row1" "${BODY100[$s]}:rows100"
  done
done

# 5. bad input (the ceiling has no schema, and lathe-nolog is lathe: skipped)
for s in "${servers[@]}"; do
  [ "$s" = bare ] || [ "$s" = lathe-nolog ] && continue
  "$MLFLOW_VENV/bin/python" "$shared/bad_input.py" "$s" "${URLS[$s]}" "${BODY1[$s]}" --pid "${PIDS[$s]}" --out "$OUT/bad_input_$s.json" >/dev/null
done
echo "{\"loadavg_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >"$OUT/meta_end.json"
python3 "$shared/summarize.py" "$OUT" | tee "$OUT/summary.md"
