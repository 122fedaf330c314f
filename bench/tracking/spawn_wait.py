#!/usr/bin/env python3
"""Spawn a tracking server, wait until it answers, report how long it took.

Usage: spawn_wait.py --port PORT --log FILE --pidfile FILE [--cwd DIR] [--timeout S] -- CMD ARGS...

Starts CMD in its own session/process group (like setsid, so the whole tree
can be found and stopped by the leader PID, written to --pidfile at once),
stdout+stderr to --log. The clock starts immediately before the spawn, in this
process, so the figure does not include any interpreter start-up. Then polls
(every 5 ms, loopback only) GET /health until the first 200, and POST
/api/2.0/mlflow/experiments/search {"max_results": 1} until the first 200.
Prints one JSON line: pid, startup_to_health_s, startup_to_first_api_s.
Exits non-zero (leaving the server to the caller to stop) if it dies or does
not answer within --timeout seconds.
"""

import argparse
import json
import subprocess
import sys
import time
import urllib.request


def ok(url, data=None):
    try:
        req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status == 200
    except Exception:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--pidfile", required=True)
    ap.add_argument("--cwd")
    ap.add_argument("--timeout", type=float, default=180)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    base = f"http://127.0.0.1:{args.port}"

    with open(args.log, "wb") as log:
        t0 = time.time()
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             cwd=args.cwd, start_new_session=True)
    with open(args.pidfile, "w") as f:
        f.write(f"{p.pid}\n")
    deadline = t0 + args.timeout

    def wait(fn):
        while not fn():
            if p.poll() is not None:
                sys.exit(f"server pid {p.pid} exited (status {p.returncode}) before answering")
            if time.time() > deadline:
                sys.exit(f"server pid {p.pid} did not answer on port {args.port} within {args.timeout:g} s")
            time.sleep(0.005)
        return time.time() - t0

    t_health = wait(lambda: ok(base + "/health"))
    t_api = wait(lambda: ok(base + "/api/2.0/mlflow/experiments/search",
                            json.dumps({"max_results": 1}).encode()))
    print(json.dumps({"pid": p.pid, "port": args.port,
                      "startup_to_health_s": round(t_health, 3),
                      "startup_to_first_api_s": round(t_api, 3)}))


if __name__ == "__main__":
    main()
