#!/usr/bin/env bash
# Ingest rate of lathe serve's prediction log into SQLite (rows/s, drops):
# the real PredictionLog and batch writer into a real SQLite store, release build.
#   bench/serving/predlog_ingest.sh            # ROWS="100000 1000000" CAPACITY=65536
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-"100000 1000000"}
CAPACITY=${CAPACITY:-65536}
cargo build -q --release -p lathe-serve --example predlog_ingest
bin="${CARGO_TARGET_DIR:-target}/release/examples/predlog_ingest"
for rows in $ROWS; do
  "$bin" "$rows" "$CAPACITY"
done
