#!/usr/bin/env python3
"""What the shared compat workflow does not cover, driven by the stock mlflow client.

Usage: MLFLOW_TRACKING_URI=http://127.0.0.1:PORT python extra_workflow.py
Last line: "N passed, N failed"; exit 1 on any failure.
"""
import math
import sys
import tempfile
import traceback
import uuid

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

PASSED = FAILED = 0


def check(name, cond, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
    else:
        FAILED += 1
        print(f"FAIL {name} {detail}", flush=True)


def eq(name, got, want):
    check(name, got == want, f"got={got!r} want={want!r}")


def raises(name, code, fn):
    try:
        fn()
        check(name, False, "no exception")
    except MlflowException as e:
        eq(name, e.error_code, code)


def main():
    c = MlflowClient()
    uid = uuid.uuid4().hex[:8]
    exp = c.create_experiment(f"extra-{uid}", tags={"k": "v"})
    raises("duplicate experiment", "RESOURCE_ALREADY_EXISTS", lambda: c.create_experiment(f"extra-{uid}"))

    run = c.create_run(exp, run_name="batchy", tags={"t": "1"})
    rid = run.info.run_id
    pts = [Metric("curve", float(i) / 10, 1000 + i, i) for i in range(1000)]
    c.log_batch(rid, metrics=pts, params=[Param("a", "1")], tags=[RunTag("b", "2")])
    for start in range(1000, 30000, 1000):
        c.log_batch(rid, metrics=[Metric("long", float(s), 1, s) for s in range(start, start + 1000)])
    hist = c.get_metric_history(rid, "long")
    eq("history over 25k points (paged by the client)", len(hist), 29000)
    eq("history order", [m.step for m in hist[:3]], [1000, 1001, 1002])
    c.log_metric(rid, "nan", float("nan"))
    c.log_metric(rid, "inf", float("inf"))
    got = c.get_run(rid).data.metrics
    check("nan round trip", math.isnan(got["nan"]))
    eq("inf round trip", got["inf"], float("inf"))
    eq("latest of curve", got["curve"], 99.9)
    raises("param change refused", "INVALID_PARAMETER_VALUE", lambda: c.log_param(rid, "a", "2"))
    c.delete_tag(rid, "t")
    check("tag deleted", "t" not in c.get_run(rid).data.tags)
    c.set_terminated(rid, status="FAILED")
    eq("terminated status", c.get_run(rid).info.status, "FAILED")

    other = c.create_run(exp, run_name="other").info.run_id
    c.log_param(other, "model", "GBM")
    c.set_terminated(other)
    found = c.search_runs([exp], "params.model ILIKE 'gbm'")
    eq("ILIKE", [r.info.run_id for r in found], [other])
    found = c.search_runs([exp], "params.model LIKE 'gbm'")
    eq("LIKE is case-sensitive", found, [])
    found = c.search_runs([exp], f"attributes.run_id IN ('{rid}', '{other}')", order_by=["attributes.run_name ASC"])
    eq("IN on run_id, ordered by name", [r.info.run_name for r in found], ["batchy", "other"])
    found = c.search_runs([exp], "attributes.status = 'FAILED'")
    eq("status filter", [r.info.run_id for r in found], [rid])
    found = c.search_runs([exp], "metrics.curve >= 99.9 and tags.b = '2'")
    eq("metric + tag", [r.info.run_id for r in found], [rid])
    raises("bad filter", "INVALID_PARAMETER_VALUE", lambda: c.search_runs([exp], "metrics.curve >>> 1"))

    d = tempfile.mkdtemp()
    with open(f"{d}/weights.bin", "wb") as f:
        f.write(bytes(range(256)) * 4000)
    c.log_artifact(rid, f"{d}/weights.bin", "model")
    out = c.download_artifacts(rid, "model/weights.bin", tempfile.mkdtemp())
    with open(out, "rb") as f:
        eq("binary artifact round trip", f.read(), bytes(range(256)) * 4000)

    name = f"extra-model-{uid}"
    c.create_registered_model(name)
    for _ in range(3):
        c.create_model_version(name, f"runs:/{rid}/model", run_id=rid)
    c.transition_model_version_stage(name, "2", "Production")
    c.transition_model_version_stage(name, "3", "Production", archive_existing_versions=True)
    eq("archived by transition", c.get_model_version(name, "2").current_stage, "Archived")
    c.update_model_version(name, "1", description="first")
    eq("version description", c.get_model_version(name, "1").description, "first")
    c.delete_model_version(name, "1")
    raises("deleted version", "RESOURCE_DOES_NOT_EXIST", lambda: c.get_model_version(name, "1"))
    c.set_registered_model_alias(name, "champion", "3")
    c.rename_registered_model(name, name + "-renamed")
    eq("alias follows rename", c.get_model_version_by_alias(name + "-renamed", "champion").version, "3")
    raises("old name gone", "RESOURCE_DOES_NOT_EXIST", lambda: c.get_registered_model(name))
    raises("reserved alias", "INVALID_PARAMETER_VALUE", lambda: c.set_registered_model_alias(name + "-renamed", "latest", "3"))
    local = mlflow.artifacts.download_artifacts(f"models:/{name}-renamed@champion")
    check("models:/ alias download", local is not None)
    c.delete_registered_model(name + "-renamed")
    raises("deleted model", "RESOURCE_DOES_NOT_EXIST", lambda: c.get_registered_model(name + "-renamed"))

    c.delete_experiment(exp)
    eq("deleted experiment stage", c.get_experiment(exp).lifecycle_stage, "deleted")
    deleted = [e.experiment_id for e in c.search_experiments(view_type=ViewType.DELETED_ONLY)]
    check("deleted-only experiments", exp in deleted)
    raises("run in deleted experiment", "INVALID_PARAMETER_VALUE", lambda: c.create_run(exp))
    c.restore_experiment(exp)
    eq("restored experiment", c.get_experiment(exp).lifecycle_stage, "active")
    eq("runs restored with it", c.get_run(rid).info.lifecycle_stage, "active")


if __name__ == "__main__":
    try:
        main()
    except Exception:
        FAILED += 1
        print(traceback.format_exc())
    print(f"{PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED else 0)
