#!/usr/bin/env python3
"""Keep-alive latency probe: does the server stall ~40 ms per reused connection?

Usage: nodelay_probe.py URL [--n 50] [--label TEXT]

A server that leaves Nagle's algorithm on (no TCP_NODELAY) and writes a
response in two pieces makes the second piece wait for the client's delayed
ACK, i.e. ~40 ms per request on a reused connection on Linux loopback (the
MLflow 3.17.2 default with 4 uvicorn workers, see the shared anchor README).
This sends, on ONE keep-alive connection (stdlib http.client, which writes
each request in one send):
  health     N x GET /health
  create     N x POST runs/create (in a fresh experiment)
  logmetric  N x POST runs/log-metric
and, for comparison, N/2 x GET /health each on a NEW connection.
Prints one JSON line with min/median/max ms and the count over 30 ms per kind.
Every answer must be 200. Loopback only.
"""

import argparse
import http.client
import json
import statistics
import sys
import time
import uuid
from urllib.parse import urlsplit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    u = urlsplit(args.url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing non-loopback target {u.hostname}")
    host, port = u.hostname, u.port or 80

    conn = http.client.HTTPConnection(host, port, timeout=60)

    def call(c, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        t = time.perf_counter()
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        raw = r.read()
        dt = (time.perf_counter() - t) * 1000
        if r.status != 200:
            raise RuntimeError(f"{method} {path} -> HTTP {r.status}: {raw[:300]!r}")
        return dt, raw

    api = "/api/2.0/mlflow/"
    _, raw = call(conn, "POST", api + "experiments/create", {"name": f"nodelay-{uuid.uuid4().hex[:8]}"})
    exp_id = json.loads(raw)["experiment_id"]
    call(conn, "GET", "/health")  # warm the connection

    lat = {"health": [], "create": [], "logmetric": [], "health_new_conn": []}
    for _ in range(args.n):
        lat["health"].append(call(conn, "GET", "/health")[0])
    run_id = None
    for i in range(args.n):
        dt, raw = call(conn, "POST", api + "runs/create",
                       {"experiment_id": exp_id, "start_time": int(time.time() * 1000), "run_name": f"p{i}"})
        lat["create"].append(dt)
        run_id = json.loads(raw)["run"]["info"]["run_id"]
    for i in range(args.n):
        lat["logmetric"].append(call(conn, "POST", api + "runs/log-metric",
                                     {"run_id": run_id, "key": "k", "value": float(i),
                                      "timestamp": int(time.time() * 1000), "step": i})[0])
    conn.close()
    for _ in range(max(1, args.n // 2)):
        c = http.client.HTTPConnection(host, port, timeout=60)
        lat["health_new_conn"].append(call(c, "GET", "/health")[0])
        c.close()

    out = {"label": args.label, "url": args.url, "n": args.n}
    for k, v in lat.items():
        out[k] = {"min_ms": round(min(v), 2), "median_ms": round(statistics.median(v), 2),
                  "max_ms": round(max(v), 2), "over_30ms": sum(1 for x in v if x > 30)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
