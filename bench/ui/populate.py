"""Fill a tracking server with the web UI scale data, through the stock client.

    python populate.py URL [--runs 10000] [--metrics 20] [--steps 100000] [--threads 4]
                           [--prefix ui-scale] [--out FILE]

URL is a tracking server (http://HOST:PORT) or MLflow's own store
(sqlite:///FILE, then --threads 1): the stock client either way.

Makes two experiments (the same data, value for value, on any server: every
value comes from a generator seeded per run, never from thread timing):

* ``ui-scale-runs``: RUNS runs named ``run-00000`` ... (start times one second
  apart, so ``run-09999`` is the newest and heads both UIs' default order),
  each with METRICS metrics ``m00`` ... (one point each), 4 params and 2 tags,
  logged with one ``log_batch`` (two requests a run; the runs stay RUNNING:
  a third request per run would add a third to MLflow's populate time).
* ``ui-scale-history``: one run ``long-history`` whose metric ``loss`` has
  STEPS steps, logged with ``log_batch`` in chunks of 1,000 points.

Prints one JSON line on stdout: the experiment ids, the long run's id and
the names of the newest and oldest runs (what the browser waits for).
"""

import argparse
import json
import math
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

SEED = 42
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, in ms
CHUNK = 1000
OPTIMIZERS = ["adam", "sgd", "adamw", "rmsprop"]


def run_name(i):
    return f"run-{i:05d}"


def one_run(client, exp_id, i, n_metrics):
    rng = random.Random(SEED * 1_000_003 + i)
    start = T0 + i * 1000
    run = client.create_run(
        exp_id,
        start_time=start,
        run_name=run_name(i),
        tags={"team": f"team-{i % 7}", "stage": "sweep" if i % 3 else "baseline"},
    )
    run_id = run.info.run_id
    metrics = [Metric(f"m{k:02d}", round(rng.random(), 6), start + 500, 0) for k in range(n_metrics)]
    params = [
        Param("lr", f"{10 ** rng.uniform(-4, -1):.6f}"),
        Param("depth", str(rng.randint(2, 12))),
        Param("optimizer", rng.choice(OPTIMIZERS)),
        Param("seed", str(i)),
    ]
    client.log_batch(run_id, metrics=metrics, params=params)


def long_run(client, exp_id, steps):
    run = client.create_run(exp_id, start_time=T0, run_name="long-history", tags={"team": "team-0"})
    run_id = run.info.run_id
    client.log_batch(run_id, params=[Param("lr", "0.001"), Param("optimizer", "adamw")])
    rng = random.Random(SEED)
    for lo in range(0, steps, CHUNK):
        pts = []
        for s in range(lo, min(lo + CHUNK, steps)):
            value = 2.0 / (1.0 + s / 2000.0) + 0.05 * math.sin(s / 700.0) + rng.gauss(0, 0.02)
            pts.append(Metric("loss", round(value, 6), T0 + s, s))
        client.log_batch(run_id, metrics=pts)
    client.set_terminated(run_id, status="FINISHED", end_time=T0 + steps)
    return run_id


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url")
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--metrics", type=int, default=20)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--prefix", default="ui-scale", help="experiment name prefix")
    ap.add_argument("--out", help="write the JSON line here too")
    args = ap.parse_args()

    client = MlflowClient(tracking_uri=args.url)
    t = time.monotonic()
    runs_exp = client.create_experiment(f"{args.prefix}-runs")
    hist_exp = client.create_experiment(f"{args.prefix}-history")
    with ThreadPoolExecutor(args.threads) as pool:
        long_future = pool.submit(long_run, client, hist_exp, args.steps)
        futures = [pool.submit(one_run, client, runs_exp, i, args.metrics) for i in range(args.runs)]
        for done, f in enumerate(futures, 1):
            f.result()  # re-raises the first failure
            if done % 1000 == 0:
                print(f"{args.url}: {done}/{args.runs} runs, {time.monotonic() - t:.0f} s", file=sys.stderr)
        history_run = long_future.result()
    line = json.dumps(
            {
                "runs_experiment_id": runs_exp,
                "history_experiment_id": hist_exp,
                "history_run_id": history_run,
                "history_metric": "loss",
                "newest_run": run_name(args.runs - 1),
                "oldest_run": run_name(0),
                "runs": args.runs,
                "metrics": args.metrics,
                "steps": args.steps,
                "populate_s": round(time.monotonic() - t, 1),
            }
    )
    print(line)
    if args.out:
        with open(args.out, "w") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
