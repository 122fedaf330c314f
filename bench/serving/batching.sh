#!/usr/bin/env bash
# lathe serve with micro-batching on and off, alone on the machine (no
# anchors): the quickstart's breast-cancer champion (lathe's own pipeline,
# scoring JSON records), served three ways from one store:
#   batch     the defaults (--max-batch-size 64 --max-batch-wait-us 200)
#   nowait    --max-batch-wait-us 0: batches only form while a batch is scored
#   batch256  --max-batch-size 256, so 100-row requests are grouped too
#   nobatch   --max-batch-size 1, every request scored on its own (the old path)
# all with --no-prediction-log, driven in turn by the shared bench_wrk.sh
# (1 and 100 rows, c=1/8/64); after each server's pass its /metrics gives the
# scorer calls and rows, hence the mean batch size.
#
# usage: bench/serving/batching.sh
# env:
#   LATHE_BIN  lathe release binary (default: target/release/lathe)
#   OUT        results folder (default bench/serving/results/<date>/batching)
#   SHARED     the shared serving harness (default ../shared/bench/serving beside the repository)
#   REPS=1 CONCURRENCY="1 8 64" DURATION=6s WARMUP=2s THREADS=2   (see bench_wrk.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=$(cd "${SHARED:-$repo/../shared/bench/serving}" && pwd)
LATHE_BIN=${LATHE_BIN:-$repo/target/release/lathe}
OUT=${OUT:-$here/results/$(date -u +%F)/batching}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
export REPS=${REPS:-1} CONCURRENCY=${CONCURRENCY:-"1 8 64"} DURATION=${DURATION:-6s} WARMUP=${WARMUP:-2s} THREADS=${THREADS:-2}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null

pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done; sleep 1; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
wait_ok() { # url
  for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" = 200 ] && return 0
    sleep 0.2
  done
  echo "not ready: $1" >&2; return 1
}

# 1. the model: the quickstart's champion, in its own store
"$LATHE_BIN" quickstart --example breast-cancer --no-serve --dir "$WORK/qs" >"$WORK/quickstart.log" 2>&1

# 2. bodies: the bundled CSV's first 1 and 100 rows, diagnosis dropped
python3 - "$repo/crates/cli/data/breast_cancer_wisconsin.csv" "$WORK" <<'PY'
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1])))
header, data = rows[0], rows[1:]
keep = [i for i, c in enumerate(header) if c != "diagnosis"]
cols = [header[i] for i in keep]
for n, name in [(1, "row1"), (100, "rows100")]:
    body = {"dataframe_split": {"columns": cols, "data": [[float(r[i]) for i in keep] for r in data[:n]]}}
    json.dump(body, open(f"{sys.argv[2]}/{name}.json", "w"))
PY

# 3. servers
declare -A PIDS PORTS
PORTS=([batch]=5071 [nowait]=5074 [batch256]=5072 [nobatch]=5073)
declare -A FLAGS=([batch]="" [nowait]="--max-batch-wait-us 0" [batch256]="--max-batch-size 256" [nobatch]="--max-batch-size 1")
servers=(batch nowait batch256 nobatch)
for s in "${servers[@]}"; do
  # shellcheck disable=SC2086
  "$LATHE_BIN" serve models:/breast-cancer@champion --tracking-uri "sqlite:///$WORK/qs/lathe.db" \
    --artifacts-destination "$WORK/qs/artifacts" --port "${PORTS[$s]}" --poll-interval 0 \
    --no-prediction-log ${FLAGS[$s]} >"$WORK/$s.log" 2>&1 &
  PIDS[$s]=$!; pids+=("$!")
  wait_ok "http://127.0.0.1:${PORTS[$s]}/ready"
done
{
  echo "{\"date\": \"$(date -u +%FT%TZ)\", \"nproc\": $(nproc), \"loadavg_start\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo " \"lathe\": \"$("$LATHE_BIN" --version)\", \"commit\": \"$(git -C "$repo" rev-parse --short HEAD)\"}"
} >"$OUT/meta.json"

# 4. load, servers interleaved within each repetition; after each payload's
#    pass, the scorer calls and rows it added (warm-up runs included)
: >"$OUT/wrk.jsonl"; : >"$OUT/batches.jsonl"
scorer_totals() { # port -> "calls rows"
  curl -s "http://127.0.0.1:$1/metrics" | awk '
    /^lathe_serve_batch_size_rows_count\{/ { c += $NF }
    /^lathe_serve_batch_size_rows_sum\{/ { r += $NF }
    END { print c + 0, r + 0 }'
}
for rep in $(seq 1 "$REPS"); do
  for s in "${servers[@]}"; do
    for payload in row1 rows100; do
      read -r c0 r0 < <(scorer_totals "${PORTS[$s]}")
      REP=$rep "$shared/bench_wrk.sh" "$s" "http://127.0.0.1:${PORTS[$s]}/invocations" "${PIDS[$s]}" \
        "$OUT/wrk.jsonl" "$WORK/$payload.json:$payload"
      read -r c1 r1 < <(scorer_totals "${PORTS[$s]}")
      echo "{\"server\":\"$s\",\"payload\":\"$payload\",\"rep\":$rep,\"scorer_calls\":$((c1 - c0)),\"rows\":$((r1 - r0))}" >>"$OUT/batches.jsonl"
    done
  done
done
echo "{\"loadavg_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >"$OUT/meta_end.json"

# 5. the table
python3 - "$OUT" <<'PY' | tee "$OUT/summary.md"
import json, sys, collections
out = sys.argv[1]
points = collections.defaultdict(list)
for line in open(f"{out}/wrk.jsonl"):
    d = json.loads(line)
    if d["wrk"]:
        points[(d["anchor"], d["payload"], d["conc"])].append(d["wrk"])
print("| server | payload | c | req/s | p50 ms | p99 ms | errors |")
print("|---|---|---:|---:|---:|---:|---:|")
for (s, p, c), ws in sorted(points.items(), key=lambda k: (k[0][1], k[0][2], k[0][0])):
    best = max(ws, key=lambda w: w["rps"])
    errs = sum(sum(w["errors"].values()) for w in ws)
    print(f"| {s} | {p} | {c} | {best['rps']:,.0f} | {best['lat_ms']['p50']:.2f} | {best['lat_ms']['p99']:.2f} | {errs} |")
print()
print("| server | payload | scorer calls | rows | mean rows per call |")
print("|---|---|---:|---:|---:|")
for line in open(f"{out}/batches.jsonl"):
    b = json.loads(line)
    mean = b["rows"] / b["scorer_calls"] if b["scorer_calls"] else 0
    print(f"| {b['server']} | {b['payload']} | {b['scorer_calls']:,} | {b['rows']:,} | {mean:.2f} |")
PY
