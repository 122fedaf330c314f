//! The prediction log and `POST /feedback` of `lathe-serve`, in-process: a
//! model trained with `lathe_train` and registered in a SQLite store is
//! served with a log; every scored row reaches the store with its inputs,
//! outputs and latency, labels join it, and what cannot be logged (a full
//! queue, a store that refuses) is counted in `/metrics` while every
//! request still succeeds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::{body::Body, http::Request, Router};
use lathe_serve::{
    load, Limits, LogOptions, Options, PredictionLog, PredictionLogWriter, Served,
    PREDICTION_ID_HEADER,
};
use lathe_store::{
    ArtifactStore, CreateModelVersion, CreateRun, LocalArtifactStore, PredictionQuery, Store,
};
use lathe_train::{Dataset, Learner, LogisticRegression, MlmodelInfo, NoopRecorder};
use serde_json::Value;
use tower::ServiceExt;

const CSV: &[u8] = b"x,z,y\n0.1,5,no\n0.3,4,no\n0.2,6,no\n0.9,1,yes\n0.7,2,yes\n0.8,0,yes\n";

struct Fixture {
    served: Served,
    store: Arc<dyn Store>,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lathe.db");
    let store: Arc<dyn Store> =
        Arc::new(lathe_store_sqlite::open(&db, "mlflow-artifacts:/").await.unwrap());
    let artifacts: Arc<dyn ArtifactStore> =
        Arc::new(LocalArtifactStore::open(dir.path().join("artifacts")).unwrap());
    let exp = store.create_experiment("serve", None, &[]).await.unwrap();
    store.create_registered_model("tiny", &[], None).await.unwrap();
    let run = store
        .create_run(CreateRun { experiment_id: exp, user_id: "t".into(), ..CreateRun::default() })
        .await
        .unwrap();
    let prefix = run.info.artifact_uri.strip_prefix("mlflow-artifacts:/").unwrap();
    let prefix = prefix.trim_matches('/').to_string();
    let data = Dataset::from_csv(CSV, "y", "yes").unwrap();
    let model = LogisticRegression::default().fit(&data, &mut NoopRecorder).unwrap();
    let info = MlmodelInfo {
        artifact_path: "model",
        run_id: &run.info.run_id,
        model_uuid: "0123",
        utc_time_created: "2024-01-02 03:04:05.000000",
        lathe_version: "0.1.0",
    };
    for (file, text) in
        [("model.json", model.to_json().unwrap()), ("MLmodel", model.mlmodel(&info))]
    {
        let body: lathe_store::artifacts::ByteStream =
            Box::pin(std::io::Cursor::new(text.into_bytes()));
        artifacts.put(&format!("{prefix}/model/{file}"), body).await.unwrap();
    }
    store
        .create_model_version(CreateModelVersion {
            name: "tiny".into(),
            source: format!("runs:/{}/model", run.info.run_id),
            run_id: Some(run.info.run_id.clone()),
            ..CreateModelVersion::default()
        })
        .await
        .unwrap();
    let loaded = load("models:/tiny/1", &store, &artifacts).await.unwrap();
    Fixture { served: Served::new(vec![loaded]), store, db, _dir: dir }
}

fn app(
    f: &Fixture,
    store: Arc<dyn Store>,
    options: LogOptions,
) -> (Router, PredictionLog, PredictionLogWriter) {
    let (log, writer) = PredictionLog::spawn(store, options);
    let app = f.served.router_with_log(Limits::new(Options::default()), log.clone());
    (app, log, writer)
}

async fn call(app: &Router, uri: &str, body: &str) -> (u16, String, Value) {
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let id = resp.headers()[PREDICTION_ID_HEADER].to_str().unwrap().to_string();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, id, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn metrics(app: &Router) -> String {
    let req = Request::builder().uri("/metrics").body(Body::empty()).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scored_row_is_logged_and_labels_join_it() {
    let f = fixture().await;
    let (app, log, writer) = app(&f, Arc::clone(&f.store), LogOptions::default());
    let (status, one, body) =
        call(&app, "/v1/models/tiny/predict", r#"[{"x": 0.9, "z": 1}]"#).await;
    assert_eq!(status, 200, "{body}");
    let (status, two, _) = call(
        &app,
        "/invocations",
        r#"{"dataframe_records": [{"x": 0.1, "z": 5}, {"x": 0.8, "z": 0}]}"#,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = call(&app, "/invocations", r#"{"dataframe_records": [{"x": "a"}]}"#).await;
    assert_eq!(status, 400, "a refused request logs nothing");

    // Feedback right after the prediction finds it: the log is flushed first.
    let (status, _, answer) = call(
        &app,
        "/feedback",
        &format!(
            r#"[{{"prediction_id": "{one}", "label": "yes"}},
                {{"prediction_id": "{two}:1", "label": "no"}},
                {{"prediction_id": "never-served", "label": "no"}},
                {{"prediction_id": "{one}", "label": "no"}}]"#
        ),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["stored"], 2);
    assert_eq!(answer["unknown"], serde_json::json!(["never-served"]));
    assert_eq!(answer["kept_first"], serde_json::json!([one.clone()]));

    // A label of the wrong type is refused naming the record; nothing is stored.
    let (status, _, answer) = call(
        &app,
        "/feedback?overwrite=true",
        &format!(r#"[{{"prediction_id": "{two}:0", "label": "no"}}, {{"prediction_id": "{one}", "label": 3.5}}]"#),
    )
    .await;
    assert_eq!(status, 400);
    let problems = answer["problems"].to_string();
    assert!(problems.contains("record 1") && problems.contains("'3.5' is not a class"), "{answer}");
    // With overwrite the new label replaces the first.
    let body = format!(r#"{{"prediction_id": "{one}", "label": "no"}}"#);
    let (status, _, answer) = call(&app, "/feedback?overwrite=true", &body).await;
    assert_eq!((status, answer["stored"].as_i64()), (200, Some(1)));

    log.flush().await;
    let logged = f
        .store
        .read_predictions(&PredictionQuery {
            model_name: "tiny".into(),
            model_version: 1,
            limit: 100,
            ..PredictionQuery::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = logged.iter().map(|p| p.record.prediction_id.as_str()).collect();
    assert_eq!(ids, vec![one.clone(), format!("{two}:0"), format!("{two}:1")]);
    let first = &logged[0];
    let inputs: Value = serde_json::from_str(&first.record.inputs).unwrap();
    assert_eq!(inputs, serde_json::json!({"x": 0.9, "z": 1.0}));
    let outputs: Value = serde_json::from_str(&first.record.outputs).unwrap();
    assert_eq!(outputs["prediction"], "yes");
    let p_yes = outputs["probabilities"]["yes"].as_f64().unwrap();
    let p_no = outputs["probabilities"]["no"].as_f64().unwrap();
    assert!(p_yes > 0.5 && (p_yes + p_no - 1.0).abs() < 1e-12, "{outputs}");
    assert_eq!(first.label.as_deref(), Some("\"no\""), "overwritten");
    assert_eq!(logged[1].label, None);
    assert_eq!(logged[2].label.as_deref(), Some("\"no\""));
    assert!(first.record.latency_us >= 0 && first.label_received_at.is_some());

    let text = metrics(&app).await;
    assert!(text.contains("lathe_serve_prediction_log_written_total 3\n"), "{text}");
    assert!(text.contains("lathe_serve_prediction_log_dropped_total{reason=\"queue_full\"} 0\n"));
    writer.shutdown().await;
    assert_eq!(log.dropped(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_store_costs_counted_rows_never_requests() {
    let f = fixture().await;
    // Another process holds SQLite's write lock: the writer stalls on it.
    let blocker = lathe_store_sqlite::open(&f.db, "mlflow-artifacts:/").await.unwrap();
    let mut tx = blocker.pool().begin().await.unwrap();
    sqlx::query("INSERT INTO experiments (name, artifact_location, creation_time, last_update_time) VALUES ('lock', 'x', 0, 0)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let options = LogOptions { capacity: 4, max_batch: 2, attempts: 4 };
    let (app, log, writer) = app(&f, Arc::clone(&f.store), options);
    for _ in 0..20 {
        let (status, _, body) =
            call(&app, "/v1/models/tiny/predict", r#"[{"x": 0.5, "z": 3}]"#).await;
        assert_eq!(status, 200, "{body}");
    }
    let text = metrics(&app).await;
    let full: u64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("lathe_serve_prediction_log_dropped_total{reason=\"queue_full\"} ")
        })
        .unwrap()
        .parse()
        .unwrap();
    // At most 2 taken by the writer and 4 queued: the rest are dropped and counted.
    assert!(full >= 14, "{text}");
    tx.rollback().await.unwrap();
    writer.shutdown().await;
    assert_eq!(log.written() + log.dropped(), 20, "every row written or counted");
    assert!(log.written() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_refuses_the_log_counts_failed_writes() {
    let f = fixture().await;
    // A tracking server URL keeps no prediction log: each write is refused.
    let rest: Arc<dyn Store> =
        Arc::new(lathe_store_rest::RestStore::new("http://127.0.0.1:9").unwrap());
    let options = LogOptions { attempts: 1, ..LogOptions::default() };
    let (app, log, writer) = app(&f, rest, options);
    for _ in 0..3 {
        assert_eq!(call(&app, "/invocations", r#"{"inputs": [[0.2, 4]]}"#).await.0, 200);
    }
    log.flush().await;
    let text = metrics(&app).await;
    assert!(
        text.contains("lathe_serve_prediction_log_dropped_total{reason=\"write_failed\"} 3\n"),
        "{text}"
    );
    writer.shutdown().await;
}

#[tokio::test]
async fn without_a_log_there_is_no_feedback_endpoint() {
    let f = fixture().await;
    let app = f.served.router(Options::default());
    let (status, _, body) =
        call(&app, "/feedback", r#"{"prediction_id": "a", "label": "yes"}"#).await;
    assert_eq!(status, 404, "{body}");
}
