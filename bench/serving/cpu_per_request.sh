#!/usr/bin/env bash
# Requests/s and the server's own CPU time per request under wrk: user and
# system time read from /proc/PID/stat before and after one wrk run. Run it
# against lathe serve and the bare ceiling in turn, with nothing else busy,
# to compare what each request costs rather than what a noisy machine allows.
#
# usage: bench/serving/cpu_per_request.sh SERVER_PID PORT BODY.json [CONNECTIONS=64] [SECONDS=5]
set -euo pipefail
pid=${1:?server pid}; port=${2:?port}; body=${3:?body file}; c=${4:-64}; d=${5:-5}
lua=$(cd "$(dirname "$0")/../../../shared/bench/serving" && pwd)/post_json.lua
tick=$(getconf CLK_TCK)
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
out=$(wrk -t2 -c"$c" -d"${d}s" -s "$lua" "http://127.0.0.1:$port/invocations" -- "$body" | grep WRK_JSON | sed 's/WRK_JSON //')
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
python3 - "$out" "$u0" "$s0" "$u1" "$s1" "$tick" <<'PY'
import json, sys
o = json.loads(sys.argv[1]); n = o["requests"]
u0, s0, u1, s1, tick = map(float, sys.argv[2:7])
print(f"req/s {o['rps']:.0f}  p50 {o['lat_ms']['p50']} ms  p99 {o['lat_ms']['p99']} ms  "
      f"CPU per request: user {(u1 - u0) / tick * 1e6 / n:.1f} us, system {(s1 - s0) / tick * 1e6 / n:.1f} us")
PY
