//! The store conformance story against the SQLite backend, plus what only
//! SQLite needs checking: reopening a file (migrations run once, data
//! stays, the file is sound) and concurrent writers without `SQLITE_BUSY`.

// Test code: a failed unwrap is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use lathe_core::{Metric, Tag};
use lathe_store::{conformance, conformance_monitoring, Store};

const ARTIFACT_ROOT: &str = "file:///tmp/x";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_story() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = lathe_store_sqlite::open(&dir.path().join("lathe.db"), ARTIFACT_ROOT)
        .await
        .expect("open a fresh SQLite store");
    conformance::run_all(&store).await;
    // The story leaves unique names behind, so it runs again on the same data.
    conformance::run_all(&store).await;
    assert_eq!(lathe_store_sqlite::integrity_check(&store).await.expect("integrity check"), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitoring_conformance_story() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = lathe_store_sqlite::open(&dir.path().join("lathe.db"), ARTIFACT_ROOT)
        .await
        .expect("open a fresh SQLite store");
    conformance_monitoring::run_all(&store).await;
    conformance_monitoring::run_all(&store).await;
    assert_eq!(lathe_store_sqlite::integrity_check(&store).await.expect("integrity check"), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_keeps_data_and_migrates_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A directory that does not exist yet is created.
    let path = dir.path().join("nested").join("lathe.db");
    let (experiment_id, run_id) = {
        let store = lathe_store_sqlite::open(&path, ARTIFACT_ROOT).await.expect("first open");
        let experiment_id = store
            .create_experiment("survives-reopen", None, &[Tag::new("k", "v")])
            .await
            .expect("create experiment");
        let run = store
            .create_run(lathe_store::CreateRun {
                experiment_id: experiment_id.clone(),
                run_name: Some("kept".into()),
                ..Default::default()
            })
            .await
            .expect("create run");
        let point = Metric { key: "m".into(), value: f64::NAN, timestamp: 1, step: 0 };
        store.log_batch(&run.info.run_id, &[point], &[], &[]).await.expect("log");
        store.pool().close().await;
        (experiment_id, run.info.run_id)
    };
    let store = lathe_store_sqlite::open(&path, ARTIFACT_ROOT).await.expect("second open");
    let exp = store.get_experiment(&experiment_id).await.expect("experiment survives");
    assert_eq!(exp.name, "survives-reopen");
    assert_eq!(exp.tags, vec![Tag::new("k", "v")]);
    assert!(exp.artifact_location.starts_with(ARTIFACT_ROOT), "{}", exp.artifact_location);
    let run = store.get_run(&run_id).await.expect("run survives");
    assert_eq!(run.info.run_name, "kept");
    assert!(run.metrics[0].value.is_nan(), "NaN survives a reopen");
    let default = store.get_experiment("0").await.expect("default experiment");
    assert_eq!(default.name, "Default");
    let (migrations,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM lathe_migrations")
        .fetch_one(store.pool())
        .await
        .expect("count migrations");
    assert_eq!(migrations as usize, lathe_store_sqlite::MIGRATIONS.len(), "each applied once");
    assert_eq!(lathe_store_sqlite::integrity_check(&store).await.expect("integrity check"), "ok");
    // The story still passes on a reopened file.
    conformance::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_log_batch_never_busy() {
    const TASKS: i64 = 8;
    const BATCHES: i64 = 25;
    const POINTS: i64 = 10;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        lathe_store_sqlite::open(&dir.path().join("lathe.db"), ARTIFACT_ROOT)
            .await
            .expect("open store"),
    );
    let experiment_id =
        store.create_experiment("concurrent", None, &[]).await.expect("create experiment");
    let shared = store
        .create_run(lathe_store::CreateRun {
            experiment_id: experiment_id.clone(),
            ..Default::default()
        })
        .await
        .expect("create run")
        .info
        .run_id;
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = Arc::clone(&store);
        let shared = shared.clone();
        let experiment_id = experiment_id.clone();
        handles.push(tokio::spawn(async move {
            // Each task also has a run of its own, created concurrently.
            let own = store
                .create_run(lathe_store::CreateRun { experiment_id, ..Default::default() })
                .await
                .expect("create run concurrently")
                .info
                .run_id;
            for batch in 0..BATCHES {
                let points: Vec<Metric> = (0..POINTS)
                    .map(|i| Metric {
                        key: "shared".into(),
                        value: i as f64,
                        timestamp: batch,
                        step: task * 10_000 + batch * POINTS + i,
                    })
                    .collect();
                store
                    .log_batch(&shared, &points, &[], &[Tag::new(format!("task{task}"), "ran")])
                    .await
                    .expect("log_batch on the shared run");
                let mine = Metric { key: "own".into(), value: 1.0, timestamp: batch, step: batch };
                store.log_batch(&own, &[mine], &[], &[]).await.expect("log_batch on own run");
                // Readers run alongside the writers.
                store.get_run(&shared).await.expect("read while others write");
            }
            own
        }));
    }
    let mut own_runs = Vec::new();
    for handle in handles {
        own_runs.push(handle.await.expect("task finished without panicking"));
    }
    let history = store.get_metric_history(&shared, "shared", None, None).await.expect("history");
    assert_eq!(history.items.len() as i64, TASKS * BATCHES * POINTS, "every point is in history");
    let mut steps: Vec<i64> = history.items.iter().map(|m| m.step).collect();
    let sorted = {
        let mut s = steps.clone();
        s.sort_unstable();
        s
    };
    assert_eq!(steps, sorted, "history is ordered by step");
    steps.dedup();
    assert_eq!(steps.len() as i64, TASKS * BATCHES * POINTS, "each point once");
    let run = store.get_run(&shared).await.expect("get shared run");
    for task in 0..TASKS {
        assert!(run.tags.iter().any(|t| t.key == format!("task{task}")), "tag of task {task}");
    }
    for own in own_runs {
        let h = store.get_metric_history(&own, "own", None, None).await.expect("own history");
        assert_eq!(h.items.len() as i64, BATCHES);
    }
    assert_eq!(lathe_store_sqlite::integrity_check(&store).await.expect("integrity check"), "ok");
}
