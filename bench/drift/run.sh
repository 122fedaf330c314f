#!/usr/bin/env bash
# `lathe monitor drift` against Evidently 0.7.23, side by side in one run, on the
# shared generator's data (../shared/bench/drift/gen_drift_data.py, seed 42,
# 20 numerical + 5 categorical columns, CSV).
#
# Per size: both CSVs are read once first (page cache warm for everyone); then
#   floor      `cat reference.csv current.csv > /dev/null` (bytes through memory)
#   lathe      REPS runs of `lathe monitor drift --json` (release build): wall time
#              and peak RSS from /usr/bin/time, the read (parse + sort) and test
#              phases from its own log; its parse alone (one pass over each file,
#              one thread per file, the slower of the two) is the parse floor
#   evidently  one run of evidently_csv.py: pandas.read_csv both files, then
#              Report([DataDriftPreset()], include_tests=True).run (both timed),
#              wall time and peak RSS of the whole process from /usr/bin/time
#   compare    per column test, score and verdict (compare.py)
# then summarize.py prints the markdown table (medians over lathe's runs).
#
# Environment (all optional):
#   SIZES       rows per dataset (default "100000 1000000")
#   REPS        lathe runs per size (default 3)
#   SHARED      the shared/ checkout (default ../shared next to the repository)
#   DRIFT_VENV  venv with evidently==0.7.23 and pandas<3 (default ~/.cache/lathe/venv-drift;
#               created if missing)
#   DATA        where the generated CSVs are kept between runs (default ~/.cache/lathe/drift-data)
#   OUT         results directory (default bench/drift/results/<date>)
#   LATHE_BIN   lathe binary (default: cargo build --release -p lathe-cli)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
SIZES=${SIZES:-"100000 1000000"}
REPS=${REPS:-3}
SHARED=${SHARED:-$root/../shared}
DRIFT_VENV=${DRIFT_VENV:-$HOME/.cache/lathe/venv-drift}
DATA=${DATA:-$HOME/.cache/lathe/drift-data}
OUT=${OUT:-$here/results/$(date +%F)}
gen=$SHARED/bench/drift/gen_drift_data.py
[ -f "$gen" ] || { echo "missing $gen (set SHARED)" >&2; exit 1; }

if ! "$DRIFT_VENV/bin/python" -c "import evidently, sys; sys.exit(evidently.__version__ != '0.7.23')" 2>/dev/null; then
    python3 -m venv "$DRIFT_VENV"
    "$DRIFT_VENV/bin/pip" install --quiet --disable-pip-version-check "evidently==0.7.23" "pandas<3"
fi
if [ -z "${LATHE_BIN:-}" ]; then
    (cd "$root" && cargo build --release -p lathe-cli)
    LATHE_BIN=${CARGO_TARGET_DIR:-$root/target}/release/lathe
fi
mkdir -p "$OUT"
{
    echo "date: $(date -Is)"; echo "host: $(uname -srm), $(nproc) CPUs"
    grep -m1 "model name" /proc/cpuinfo || true
    echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
    echo "lathe: $("$LATHE_BIN" --version)"
    "$DRIFT_VENV/bin/python" -c "import evidently, pandas, numpy, scipy, sys; print('evidently', evidently.__version__, 'pandas', pandas.__version__, 'numpy', numpy.__version__, 'scipy', scipy.__version__, 'python', sys.version.split()[0])"
} > "$OUT/env.txt"
cat "$OUT/env.txt" >&2

seconds() { # wall seconds of a command, bash's own clock
    local TIMEFORMAT=%R
    { time "$@" > /dev/null; } 2>&1
}

for n in $SIZES; do
    d=$DATA/$n
    if [ ! -f "$d/reference.csv" ]; then
        echo "== generating $n rows into $d" >&2
        "$DRIFT_VENV/bin/python" "$gen" --rows "$n" --seed 42 --out "$d" --format csv >&2
    fi
    ref=$d/reference.csv cur=$d/current.csv
    cat "$ref" "$cur" > /dev/null
    echo "== $n rows: floor" >&2
    echo "{\"rows\": $n, \"bytes\": $(($(stat -c %s "$ref") + $(stat -c %s "$cur"))), \"cat_s\": $(seconds cat "$ref" "$cur")}" > "$OUT/floor_$n.json"
    for r in $(seq 1 "$REPS"); do
        echo "== $n rows: lathe run $r (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
        LATHE_LOG=lathe=debug /usr/bin/time -f "%e %M" -o "$OUT/lathe_${n}_r$r.time" \
            "$LATHE_BIN" monitor drift --reference "$ref" --current "$cur" --json "$OUT/lathe_${n}.json" \
            > "$OUT/lathe_${n}_r$r.txt" 2> "$OUT/lathe_${n}_r$r.log"
        cut -d' ' -f1-3 /proc/loadavg > "$OUT/lathe_${n}_r$r.load"
    done
    echo "== $n rows: evidently (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    /usr/bin/time -f "%e %M" -o "$OUT/evidently_${n}.time" \
        "$DRIFT_VENV/bin/python" "$here/evidently_csv.py" --reference "$ref" --current "$cur" \
        --out "$OUT/evidently_${n}.json" 2> "$OUT/evidently_${n}.log"
    cut -d' ' -f1-3 /proc/loadavg > "$OUT/evidently_${n}.load"
    "$DRIFT_VENV/bin/python" "$here/compare.py" "$OUT/lathe_${n}.json" "$OUT/evidently_${n}.json" \
        > "$OUT/compare_${n}.json"
    cat "$OUT/compare_${n}.json" >&2
done
python3 "$here/summarize.py" "$OUT" $SIZES | tee "$OUT/summary.md"
