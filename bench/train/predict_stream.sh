#!/usr/bin/env bash
# Streaming `lathe predict` on a CSV far larger than its chunks: trains a
# model on the shared adult table, repeats that table's rows into a big CSV
# (make_big_csv.py), scores it to Parquet in chunks under /usr/bin/time -v
# (wall time, peak RSS), then scores a smaller copy in one chunk holding the
# whole table, as the former whole-table path did, for comparison. The big
# files are deleted at the end.
#
# Environment (all optional):
#   LATHE      the lathe binary (default $CARGO_TARGET_DIR/release/lathe)
#   SHARED     the shared/ checkout (default ../shared next to the repository)
#   WORK       scratch directory (default a new one under /tmp)
#   SIZE_GB    size of the big CSV (default 2.5)
#   SMALL_GB   size of the one-chunk comparison (default 0.25)
#   CHUNK      --chunk-rows of the streaming run (default 100000)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
SHARED=${SHARED:-$root/../shared}
LATHE=${LATHE:-${CARGO_TARGET_DIR:-$root/target}/release/lathe}
WORK=${WORK:-$(mktemp -d /tmp/predict-stream.XXXXXX)}
SIZE_GB=${SIZE_GB:-2.5}
SMALL_GB=${SMALL_GB:-0.25}
CHUNK=${CHUNK:-100000}
trap 'rm -f "$WORK"/big.csv "$WORK"/small.csv "$WORK"/*.parquet' EXIT

uptime
"$LATHE" train --data "$SHARED/data/adult_income.csv" --target income \
  --tracking-uri "sqlite:///$WORK/lathe.db" --artifacts-destination "$WORK/artifacts" >"$WORK/train.out"
model=$(tail -1 "$WORK/train.out")
echo "model: $model"
python3 "$here/make_big_csv.py" "$SHARED/data/adult_income.csv" "$WORK/big.csv" "$SIZE_GB"
python3 "$here/make_big_csv.py" "$SHARED/data/adult_income.csv" "$WORK/small.csv" "$SMALL_GB"

score() { # name data out chunk
  local name=$1 data=$2 out=$3 chunk=$4
  /usr/bin/time -v "$LATHE" predict --model "$model" --data "$data" --out "$out" \
    --chunk-rows "$chunk" --tracking-uri "sqlite:///$WORK/lathe.db" \
    --artifacts-destination "$WORK/artifacts" 2>"$WORK/$name.time"
  local rows wall rss
  rows=$(grep -o 'wrote [0-9]* predictions' "$WORK/$name.time" | grep -o '[0-9]*')
  wall=$(grep 'Elapsed (wall clock)' "$WORK/$name.time" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$WORK/$name.time" | awk '{print $NF}')
  local bytes
  bytes=$(stat -c %s "$data")
  python3 - "$name" "$bytes" "$rows" "$wall" "$rss" "$chunk" <<'PY'
import sys
name, size, rows, wall, rss, chunk = sys.argv[1:]
parts = [float(p) for p in wall.split(":")]
secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
print(f"| {name} | {int(size) / 1e9:.2f} GB | {int(rows):,} | {chunk} | {secs:.1f} s "
      f"| {int(rows) / secs:,.0f} | {int(rss) / 1024:,.0f} MiB |")
PY
}

echo "| run | input | rows | --chunk-rows | wall | rows/s | peak RSS |"
echo "|---|---|---|---|---|---|---|"
score streaming "$WORK/big.csv" "$WORK/big_pred.parquet" "$CHUNK"
score one-chunk "$WORK/small.csv" "$WORK/small_pred.parquet" 1000000000
score streaming-small "$WORK/small.csv" "$WORK/small_pred_chunked.parquet" "$CHUNK"
uptime
