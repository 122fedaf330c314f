//! `lathe quickstart --no-serve` with the default example: the closed loop
//! on the Adult census table, checked in the tracking store afterwards: the
//! pipeline run and its step runs (params, metrics, lineage, the search's
//! trials), the registered model and its `champion`, the monitoring windows
//! with drift on the drifted columns, the alert, the retrain run and the
//! gate's recorded decision; then `lathe run --dry-run` finds nothing to do.

use std::{collections::HashMap, path::Path, process::Output};

use lathe_core::Run;
use lathe_store::{SearchQuery, SearchRuns, Store};
use serde_json::Value;

use super::harness::lathe;

fn tag<'a>(run: &'a Run, key: &str) -> Option<&'a str> {
    run.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

fn stdout_of(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

async fn check_store(db: &Path) {
    let store = lathe_store_sqlite::open(db, "mlflow-artifacts:/").await.unwrap();
    let exp = store.get_experiment_by_name("quickstart").await.unwrap();
    let search = SearchRuns {
        experiment_ids: vec![exp.experiment_id],
        query: SearchQuery { max_results: Some(1000), ..SearchQuery::default() },
    };
    let runs = store.search_runs(&search).await.unwrap().items;
    assert!(runs.iter().all(|r| r.info.status.as_str() == "FINISHED"));
    let by_id: HashMap<&str, &Run> = runs.iter().map(|r| (r.info.run_id.as_str(), r)).collect();

    // Two pipeline runs: the first, and the retrain the alert triggered.
    let mut pipelines: Vec<&Run> =
        runs.iter().filter(|r| tag(r, "lathe.pipeline") == Some("adult-income")).collect();
    pipelines.sort_by_key(|r| r.info.start_time);
    assert_eq!(pipelines.len(), 2);
    let (first, retrain) = (pipelines[0], pipelines[1]);
    assert_eq!(tag(first, "lathe.trigger"), None);
    assert_eq!(tag(retrain, "lathe.trigger"), Some("alert"));
    assert_eq!(tag(retrain, "lathe.trigger.rule"), Some("feature_drift(age)"));
    assert_eq!(tag(retrain, "lathe.trigger.production_rows"), Some("5000"));

    // Every step of each is a child run, with the lineage on the parent.
    for pipeline in [first, retrain] {
        for step in ["profile", "split", "baseline", "gbm", "evaluate", "register", "promote"] {
            let lineage = tag(pipeline, &format!("lathe.pipeline.step.{step}")).unwrap();
            let id = lineage.strip_prefix("ran ").unwrap();
            let run = by_id[id];
            assert_eq!(tag(run, "mlflow.parentRunId"), Some(pipeline.info.run_id.as_str()));
            assert_eq!(tag(run, "lathe.pipeline.step"), Some(step));
        }
    }
    let step = |pipeline: &Run, name: &str| -> &Run {
        let lineage = tag(pipeline, &format!("lathe.pipeline.step.{name}")).unwrap();
        by_id[lineage.strip_prefix("ran ").unwrap()]
    };
    let split = step(first, "split");
    assert_eq!(split.inputs[0].dataset.name, "adult");
    let param = |run: &Run, key: &str| {
        run.params.iter().find(|p| p.key == key).map(|p| p.value.clone()).unwrap_or_default()
    };
    assert_eq!(param(split, "strategy"), "hash");
    let rows = |run: &Run| -> usize {
        param(run, "train_rows").parse::<usize>().unwrap()
            + param(run, "test_rows").parse::<usize>().unwrap()
    };
    assert_eq!(rows(step(retrain, "split")), rows(split) + 5000);

    // The search: 9 + 3 + 1 halving trials, children of the gbm step's run.
    let gbm = step(first, "gbm");
    let trials: Vec<&Run> = runs
        .iter()
        .filter(|r| tag(r, "mlflow.parentRunId") == Some(gbm.info.run_id.as_str()))
        .collect();
    assert_eq!(trials.len(), 13);
    assert_eq!(param(gbm, "search_strategy"), "halving");
    let metric = |run: &Run, key: &str| run.metrics.iter().find(|m| m.key == key).map(|m| m.value);
    let best = metric(gbm, "search_best_valid_roc_auc").unwrap();
    assert!(trials.iter().all(|t| metric(t, "valid_roc_auc").unwrap() <= best + 1e-12));
    let auc = metric(step(first, "evaluate"), "gbm.test_roc_auc").unwrap();
    assert!(auc > 0.9, "gbm test roc_auc {auc}");

    // The registry: v1 from the first run, v2 from the retrain, promoted.
    let model = store.get_registered_model("adult-income").await.unwrap();
    assert_eq!(model.aliases, vec![("champion".to_string(), 2)]);
    let v2 = store.get_model_version("adult-income", 2).await.unwrap();
    let tags: HashMap<String, String> = v2.tags.into_iter().map(|t| (t.key, t.value)).collect();
    assert_eq!(tags["lathe.gate.decision"], "promoted");
    assert_eq!(tags["lathe.gate.champion"], "1");
    assert_eq!(tags["lathe.previous.champion"], "1");
    assert!(tags["lathe.gate.reason"].contains("log_loss"), "{tags:?}");
    let promote = step(retrain, "promote");
    assert!(metric(promote, "ci_low").unwrap() > 0.0);

    // Monitoring: the first window is like the training data, the rest drift on age.
    let windows = store.list_windows("adult-income", Some(1)).await.unwrap();
    let windows: Vec<_> = windows.into_iter().filter(|w| w.kind == "count:1000").collect();
    assert_eq!(windows.len(), 5);
    let age_drift = |w: &lathe_store::MonitoringWindow| {
        let drift: Value = serde_json::from_str(&w.drift).unwrap();
        drift["columns"]["age"]["drift"].as_bool().unwrap()
    };
    assert!(!age_drift(&windows[0]));
    assert!(windows[1..].iter().all(age_drift));
    for w in &windows {
        let perf: Value = serde_json::from_str(&w.performance).unwrap();
        assert_eq!(w.labeled_rows, 1000);
        assert!(perf["roc_auc"].as_f64().unwrap() > 0.8, "{perf}");
    }
    let alerts = store.list_alerts(Some("adult-income")).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].rule, "feature_drift(age)");
}

#[test]
fn the_default_quickstart_closes_the_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("qs");
    let out = lathe()
        .args(["quickstart", "--no-serve", "--dir"])
        .arg(&dir)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("lathe runs");
    let stdout = stdout_of(&out);
    assert!(stdout.contains("alert fired: feature_drift(age) on adult-income"), "{stdout}");
    assert!(stdout.contains("champion: adult-income v2, served by lathe serve as v2"), "{stdout}");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(check_store(&dir.join("lathe.db")));

    // The project is a plain lathe.toml project: nothing changed, nothing to run.
    let uri = format!("sqlite:///{}", dir.join("lathe.db").display());
    let out = lathe()
        .args(["run", "--dry-run", "--tracking-uri", &uri])
        .current_dir(&dir)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("lathe runs");
    let plan = stdout_of(&out);
    assert!(plan.contains("0 of 7 steps would run"), "{plan}");
}
