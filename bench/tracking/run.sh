#!/usr/bin/env bash
# Side-by-side tracking-server benchmark: the shared load.py (unmodified) against
#   mlflow     `mlflow server` default (4 uvicorn workers + job runner), SQLite, --serve-artifacts
#   mlflow-w1  the same with --workers 1
#   lathe      `lathe server` (release build), SQLite
#   fml        FastTrackML (`fml server`, pip package fasttrackml), SQLite
# one after the other, on the same machine, in one run. Loopback only.
#
# Per server and repetition ("main" pass): fresh data dir and free port; spawn;
# startup time (spawn -> first 200 on /health, and on experiments/search);
# idle memory after SETTLE_S (shared proc_mem.py); load.py --server-pid --db-file
# $LOAD_ARGS; memory after; keep-alive latency probe (TCP_NODELAY check); stop.
# Then a "big" pass per server in BIG_SERVERS: fresh server, load.py
# $LOAD_ARGS --runs $BIG_RUNS --only ad (runs/search over BIG_RUNS runs).
# Finally summarize.py prints one markdown table (medians over repetitions).
#
# Environment (all optional):
#   SHARED       the shared/ checkout (default: ../../../shared from here);
#                load.py and proc_mem.py are taken from $SHARED/bench/tracking
#   VENV         venv with mlflow 3.17.2 (default ~/.cache/lathe/venv; created if missing)
#   FML_VENV     venv for fasttrackml (default ~/.cache/lathe/venv-fml; created if missing)
#   FML_BIN      fml executable (default $FML_VENV/bin/fml)
#   LATHE_BIN    lathe binary (default: cargo build --release -p lathe-cli, target/release/lathe)
#   SERVERS      default "mlflow mlflow-w1 lathe fml"
#   REPS         repetitions of the main pass (default 1)
#   LOAD_ARGS    extra load.py arguments, for every server alike (quick mode:
#                "--runs 200 --batches 20 --calls 400 --search-reps 10 --history-reps 2")
#   BIG_RUNS     runs for the big search pass (default 10000; 0 = skip)
#   BIG_SERVERS  servers that get the big pass (default "mlflow-w1 lathe fml": MLflow's
#                default 4-worker server creates ~6.5 runs/s here, ~26 min for 10,000)
#   SETTLE_S     seconds between "answers" and the idle-memory reading (default 15)
#   RESULTS      where results go (default bench/tracking/results/<UTC date>)
#   WORK_DIR     scratch dir for server data (default: mktemp -d; removed at the end
#                unless KEEP_WORK=1)
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SHARED="${SHARED:-$(cd "$HERE/../../../shared" 2>/dev/null && pwd)}"
ANCHOR="$SHARED/bench/tracking"
[ -f "$ANCHOR/load.py" ] || { echo "no load.py under $ANCHOR (set SHARED=...)" >&2; exit 2; }

VENV="${VENV:-$HOME/.cache/lathe/venv}"
FML_VENV="${FML_VENV:-$HOME/.cache/lathe/venv-fml}"
SERVERS="${SERVERS:-mlflow mlflow-w1 lathe fml}"
REPS="${REPS:-1}"
LOAD_ARGS="${LOAD_ARGS:-}"
BIG_RUNS="${BIG_RUNS:-10000}"
BIG_SERVERS="${BIG_SERVERS:-mlflow-w1 lathe fml}"
SETTLE_S="${SETTLE_S:-15}"
RES="${RESULTS:-$HERE/results/$(date -u +%Y-%m-%d)}"
mkdir -p "$RES"
RES="$(cd "$RES" && pwd)"
WORK="${WORK_DIR:-$(mktemp -d /tmp/lathe-bench-tracking.XXXXXX)}"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"

log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$RES/run.log" >&2; }

# ---- tools -----------------------------------------------------------------
if [ ! -x "$VENV/bin/mlflow" ]; then
  log "creating $VENV with mlflow 3.17.2"
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q mlflow==3.17.2 || { log "mlflow venv failed"; exit 2; }
fi
PY="$VENV/bin/python"

has_server() { case " $SERVERS " in *" $1 "*) return 0 ;; esac; return 1; }
drop_server() {
  SERVERS="$(echo " $SERVERS " | sed "s/ $1 / /g; s/^ *//; s/ *$//")"
  BIG_SERVERS="$(echo " $BIG_SERVERS " | sed "s/ $1 / /g; s/^ *//; s/ *$//")"
}

if has_server fml; then
  FML_BIN="${FML_BIN:-$FML_VENV/bin/fml}"
  if [ ! -x "$FML_BIN" ]; then
    log "installing fasttrackml into $FML_VENV"
    { python3 -m venv "$FML_VENV" && "$FML_VENV/bin/pip" install fasttrackml; } >"$RES/fml_install.txt" 2>&1
  fi
  if [ ! -x "$FML_BIN" ] || ! "$FML_BIN" --version >/dev/null 2>&1; then
    log "FastTrackML unavailable (see fml_install.txt); continuing without it"
    echo "fml binary missing or not runnable: $FML_BIN" >>"$RES/fml_unavailable.txt"
    drop_server fml
  fi
fi

if has_server lathe; then
  LATHE_ORIGIN="built from the working tree of $REPO"
  if [ -n "${LATHE_BIN:-}" ]; then
    LATHE_ORIGIN="given as LATHE_BIN=$LATHE_BIN${LATHE_DESC:+ ($LATHE_DESC)}"
  else
    log "building lathe (cargo build --release -p lathe-cli)"
    (cd "$REPO" && cargo build --release -p lathe-cli) >"$WORK/build.log" 2>&1 \
      || { tail -30 "$WORK/build.log" >&2; log "lathe build failed"; exit 2; }
    LATHE_BIN="$REPO/target/release/lathe"
    LATHE_BUILT=1
  fi
  # a private copy, so concurrent rebuilds of target/ cannot swap it mid-run
  cp "$LATHE_BIN" "$WORK/lathe" && LATHE_RUN="$WORK/lathe"
fi

{
  echo "date_utc $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host $(uname -srm), $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "cpu $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  "$PY" -c 'import mlflow, sys; print("mlflow", mlflow.__version__, "python", sys.version.split()[0])'
  if has_server lathe; then
    echo "lathe $LATHE_ORIGIN"
    [ -n "${LATHE_BUILT:-}" ] && echo "repo commit $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" status --porcelain -- crates Cargo.toml Cargo.lock | grep -q . && echo ' + uncommitted changes in crates/')"
    echo "lathe binary sha256 $(sha256sum "$LATHE_RUN" | cut -c1-16), $(($(stat -c %s "$LATHE_RUN") / 1024)) KiB"
  fi
  has_server fml && echo "fasttrackml $("$FML_BIN" --version 2>&1 | head -1)"
  echo "SERVERS=$SERVERS REPS=$REPS BIG_RUNS=$BIG_RUNS BIG_SERVERS=$BIG_SERVERS SETTLE_S=$SETTLE_S"
  echo "LOAD_ARGS=$LOAD_ARGS"
} >"$RES/env.txt"
cat "$RES/env.txt" >&2

# ---- server lifecycle --------------------------------------------------------
SPID=""
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

stop_server() {
  local pid="${1:-$SPID}"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    pgrep -g "$pid" >/dev/null || { SPID=""; return 0; }
    sleep 0.5
  done
  log "server group $pid still alive after 30 s; SIGKILL to that group"
  kill -KILL -- "-$pid" 2>/dev/null || true
  SPID=""
}
trap 'stop_server' EXIT
trap 'exit 130' INT TERM

# start_server NAME TAG -> sets SPID, SURL, SDB; writes startup_TAG.json, idle_TAG.txt
start_server() {
  local name="$1" tag="$2" dir="$WORK/$2" port
  rm -rf "$dir"
  mkdir -p "$dir/artifacts"
  port="$(free_port)"
  local -a cmd
  case "$name" in
    mlflow | mlflow-w1)
      SDB="$dir/mlflow.db"
      cmd=("$VENV/bin/mlflow" server --backend-store-uri "sqlite:///$SDB" --serve-artifacts
        --artifacts-destination "$dir/artifacts" --host 127.0.0.1 --port "$port")
      [ "$name" = mlflow-w1 ] && cmd+=(--workers 1)
      ;;
    lathe)
      SDB="$dir/lathe.db"
      cmd=("$LATHE_RUN" server --backend-store-uri "sqlite:///$SDB"
        --artifacts-destination "$dir/artifacts" --host 127.0.0.1 --port "$port")
      ;;
    fml)
      SDB="$dir/fml.db"
      cmd=("$FML_BIN" server --database-uri "sqlite://$SDB"
        --default-artifact-root "$dir/artifacts" --listen-address "127.0.0.1:$port")
      ;;
    *) log "unknown server $name"; return 1 ;;
  esac
  SURL="http://127.0.0.1:$port"
  rm -f "$dir/server.pid"
  # spawn_wait.py: own process group (setsid), clock started right before the spawn
  if ! "$PY" "$HERE/spawn_wait.py" --port "$port" --log "$dir/server.log" --pidfile "$dir/server.pid" \
    --cwd "$dir" --timeout 180 -- "${cmd[@]}" >"$RES/startup_$tag.json" 2>"$RES/startup_$tag.err"; then
    SPID="$(cat "$dir/server.pid" 2>/dev/null || true)"
    log "$tag: server did not come up: $(cat "$RES/startup_$tag.err")"
    tail -40 "$dir/server.log" >"$RES/server_log_tail_$tag.txt"
    stop_server
    rm -f "$RES/startup_$tag.json"
    cp "$RES/startup_$tag.err" "$RES/FAILED_$tag.txt"
    return 1
  fi
  SPID="$(cat "$dir/server.pid")"
  rm -f "$RES/startup_$tag.err"
  log "$tag: up on port $port, pid $SPID: $(cat "$RES/startup_$tag.json")"
  sleep "$SETTLE_S"
  "$PY" "$ANCHOR/proc_mem.py" "$SPID" >"$RES/idle_$tag.txt"
}

# run_load NAME TAG EXTRA_ARGS... ; returns load.py's status
run_load() {
  local name="$1" tag="$2"
  shift 2
  local rc
  echo "before $(cat /proc/loadavg)" >"$RES/loadavg_$tag.txt"
  # shellcheck disable=SC2086
  "$PY" "$ANCHOR/load.py" --url "$SURL" --server-pid "$SPID" --db-file "$SDB" \
    --label "$tag" $LOAD_ARGS "$@" >"$RES/load_$tag.txt" 2>"$RES/load_$tag.err"
  rc=$?
  echo "after  $(cat /proc/loadavg)" >>"$RES/loadavg_$tag.txt"
  if [ "$rc" != 0 ]; then
    log "$tag: load.py FAILED (exit $rc): $(tail -3 "$RES/load_$tag.err")"
    tail -60 "$WORK/$tag/server.log" >"$RES/server_log_tail_$tag.txt"
    cp "$RES/load_$tag.err" "$RES/FAILED_$tag.txt"
  else
    log "$tag: load done: $(grep -E '^[a-e] ' "$RES/load_$tag.txt" | awk '{printf "%s ", $0} END {print ""}' | tr -s ' ' | cut -c1-400)"
  fi
  return "$rc"
}

# ---- the run -----------------------------------------------------------------
log "results -> $RES ; scratch -> $WORK"
for rep in $(seq 1 "$REPS"); do
  for name in $SERVERS; do
    tag="${name}_main_r$rep"
    log "=== $tag"
    start_server "$name" "$tag" || continue
    run_load "$name" "$tag"
    "$PY" "$ANCHOR/proc_mem.py" "$SPID" >"$RES/mem_after_$tag.txt"
    "$PY" "$HERE/nodelay_probe.py" "$SURL" --label "$tag" >"$RES/probe_$tag.json" 2>"$RES/probe_$tag.err" \
      && rm -f "$RES/probe_$tag.err" || log "$tag: keep-alive probe failed: $(tail -1 "$RES/probe_$tag.err")"
    stop_server
  done
  if [ "$BIG_RUNS" -gt 0 ]; then
    for name in $BIG_SERVERS; do
      has_server "$name" || continue
      tag="${name}_big_r$rep"
      log "=== $tag (--runs $BIG_RUNS --only ad)"
      start_server "$name" "$tag" || continue
      run_load "$name" "$tag" --runs "$BIG_RUNS" --only ad
      stop_server
    done
  fi
done

log "summary"
"$PY" "$HERE/summarize.py" "$RES" | tee "$RES/table.md"
[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"
ls "$RES"/FAILED_* >/dev/null 2>&1 && { log "some load.py runs FAILED: $(ls "$RES"/FAILED_*)"; exit 1; }
exit 0
