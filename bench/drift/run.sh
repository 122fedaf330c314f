#!/usr/bin/env bash
# `lathe monitor drift` against Evidently 0.7.23, side by side in one run, on the
# shared generator's data (../shared/bench/drift/gen_drift_data.py, seed 42,
# 20 numerical + 5 categorical columns), as CSV and as Parquet (the generator's
# own default format).
#
# Per size and format: both files are read once first (page cache warm for
# everyone); then
#   floor      CSV: `cat reference.csv current.csv > /dev/null` (bytes through
#              memory); Parquet: pyarrow.parquet.read_table of both files, every
#              column decoded once on all cores (timed inside Python, after an
#              untimed first read)
#   lathe      REPS runs of `lathe monitor drift --json` (release build): wall time
#              and peak RSS from /usr/bin/time, the read (CSV: parse + sort) and test
#              (Parquet: read a column pair, sort, test) phases from its own log; for
#              CSV its parse alone (one pass over each file, one thread per file,
#              the slower of the two) is the parse floor
#   evidently  one run of evidently_csv.py: pandas.read_csv/read_parquet both files, then
#              Report([DataDriftPreset()], include_tests=True).run (both timed),
#              wall time and peak RSS of the whole process from /usr/bin/time
#   compare    per column test, score and verdict (compare.py)
# then summarize.py prints the markdown table (medians over lathe's runs).
#
# Environment (all optional):
#   SIZES       rows per dataset (default "100000 1000000")
#   FORMATS     file formats (default "csv parquet")
#   REPS        lathe runs per size (default 3)
#   SHARED      the shared/ checkout (default ../shared next to the repository)
#   DRIFT_VENV  venv with evidently==0.7.23 and pandas<3 (default ~/.cache/lathe/venv-drift;
#               created if missing)
#   DATA        where the generated files are kept between runs (default ~/.cache/lathe/drift-data)
#   OUT         results directory (default bench/drift/results/<date>)
#   LATHE_BIN   lathe binary (default: cargo build --release -p lathe-cli)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
SIZES=${SIZES:-"100000 1000000"}
FORMATS=${FORMATS:-"csv parquet"}
REPS=${REPS:-3}
SHARED=${SHARED:-$root/../shared}
DRIFT_VENV=${DRIFT_VENV:-$HOME/.cache/lathe/venv-drift}
DATA=${DATA:-$HOME/.cache/lathe/drift-data}
OUT=${OUT:-$here/results/$(date +%F)}
gen=$SHARED/bench/drift/gen_drift_data.py
[ -f "$gen" ] || { echo "missing $gen (set SHARED)" >&2; exit 1; }

if ! "$DRIFT_VENV/bin/python" -c "import evidently, pyarrow, sys; sys.exit(evidently.__version__ != '0.7.23')" 2>/dev/null; then
    python3 -m venv "$DRIFT_VENV"
    "$DRIFT_VENV/bin/pip" install --quiet --disable-pip-version-check "evidently==0.7.23" "pandas<3" pyarrow
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
    "$DRIFT_VENV/bin/python" -c "import evidently, pandas, numpy, scipy, pyarrow, sys; print('evidently', evidently.__version__, 'pandas', pandas.__version__, 'pyarrow', pyarrow.__version__, 'numpy', numpy.__version__, 'scipy', scipy.__version__, 'python', sys.version.split()[0])"
} > "$OUT/env.txt"
cat "$OUT/env.txt" >&2

seconds() { # wall seconds of a command, bash's own clock
    local TIMEFORMAT=%R
    { time "$@" > /dev/null; } 2>&1
}

for n in $SIZES; do
for f in $FORMATS; do
    d=$DATA/$n
    if [ ! -f "$d/reference.$f" ]; then
        echo "== generating $n rows ($f) into $d" >&2
        "$DRIFT_VENV/bin/python" "$gen" --rows "$n" --seed 42 --out "$d" --format "$f" >&2
    fi
    ref=$d/reference.$f cur=$d/current.$f
    k=${n}_$f
    cat "$ref" "$cur" > /dev/null
    echo "== $n rows, $f: floor" >&2
    if [ "$f" = parquet ]; then
        # Read once untimed first: pyarrow's first call also starts its thread pool.
        floor=$("$DRIFT_VENV/bin/python" -c "import sys, time, pyarrow.parquet as pq
pq.read_table(sys.argv[1]); pq.read_table(sys.argv[2])
t = time.perf_counter(); pq.read_table(sys.argv[1]); pq.read_table(sys.argv[2]); print(round(time.perf_counter() - t, 3))" "$ref" "$cur")
        echo "{\"rows\": $n, \"bytes\": $(($(stat -c %s "$ref") + $(stat -c %s "$cur"))), \"decode_s\": $floor}" > "$OUT/floor_$k.json"
    else
        echo "{\"rows\": $n, \"bytes\": $(($(stat -c %s "$ref") + $(stat -c %s "$cur"))), \"cat_s\": $(seconds cat "$ref" "$cur")}" > "$OUT/floor_$k.json"
    fi
    for r in $(seq 1 "$REPS"); do
        echo "== $n rows, $f: lathe run $r (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
        LATHE_LOG=lathe=debug /usr/bin/time -f "%e %M" -o "$OUT/lathe_${k}_r$r.time" \
            "$LATHE_BIN" monitor drift --reference "$ref" --current "$cur" --json "$OUT/lathe_${k}.json" \
            > "$OUT/lathe_${k}_r$r.txt" 2> "$OUT/lathe_${k}_r$r.log"
        cut -d' ' -f1-3 /proc/loadavg > "$OUT/lathe_${k}_r$r.load"
    done
    echo "== $n rows, $f: evidently (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    /usr/bin/time -f "%e %M" -o "$OUT/evidently_${k}.time" \
        "$DRIFT_VENV/bin/python" "$here/evidently_csv.py" --reference "$ref" --current "$cur" \
        --out "$OUT/evidently_${k}.json" 2> "$OUT/evidently_${k}.log"
    cut -d' ' -f1-3 /proc/loadavg > "$OUT/evidently_${k}.load"
    "$DRIFT_VENV/bin/python" "$here/compare.py" "$OUT/lathe_${k}.json" "$OUT/evidently_${k}.json" \
        > "$OUT/compare_${k}.json"
    cat "$OUT/compare_${k}.json" >&2
done
done
FORMATS="$FORMATS" python3 "$here/summarize.py" "$OUT" $SIZES | tee "$OUT/summary.md"
