//! `lathe-serve` in-process (`router` + `oneshot`): a model trained with
//! `lathe_train`, logged to a run and registered in a SQLite store, loaded
//! through its alias and served; every scoring format and every bad input,
//! hot swaps when the alias moves, and canary and shadow challengers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use axum::{
    body::Body,
    http::{Request, StatusCode},
    Router,
};
use lathe_serve::{
    load,
    watch::{self, Outcome},
    Challenger, Limits, Options, Policy, Served, MODEL_VERSION_HEADER, PREDICTION_ID_HEADER,
};
use lathe_store::{ArtifactStore, CreateModelVersion, CreateRun, LocalArtifactStore, Store};
use lathe_train::{Dataset, Learner, LogisticRegression, MlmodelInfo, NoopRecorder};
use serde_json::{json, Value};
use tower::ServiceExt;

const CSV: &[u8] = b"x,z,y\n0.1,5,no\n0.3,4,no\n0.2,6,no\n0.9,1,yes\n0.7,2,yes\n0.8,0,yes\n";

struct Fixture {
    app: Router,
    served: Served,
    store: Arc<dyn Store>,
    artifacts: Arc<dyn ArtifactStore>,
    experiment: String,
    _dir: tempfile::TempDir,
}

async fn put(artifacts: &dyn ArtifactStore, path: &str, text: String) {
    let body: lathe_store::artifacts::ByteStream =
        Box::pin(std::io::Cursor::new(text.into_bytes()));
    artifacts.put(path, body).await.unwrap();
}

/// Trains, logs and registers `tiny` (version 1, alias `champion`) and serves it.
async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        lathe_store_sqlite::open(&dir.path().join("lathe.db"), "mlflow-artifacts:/").await.unwrap(),
    );
    let artifacts: Arc<dyn ArtifactStore> =
        Arc::new(LocalArtifactStore::open(dir.path().join("artifacts")).unwrap());
    let exp = store.create_experiment("serve", None, &[]).await.unwrap();
    store.create_registered_model("tiny", &[], None).await.unwrap();
    assert_eq!(register(&store, &*artifacts, &exp, false).await, 1);
    store.set_registered_model_alias("tiny", "champion", 1).await.unwrap();
    let loaded = load("models:/tiny@champion", &store, &artifacts).await.unwrap();
    assert_eq!(
        (loaded.name.as_str(), loaded.version, loaded.alias.as_deref()),
        ("tiny", 1, Some("champion"))
    );
    let by_version = load("models:/tiny/1", &store, &artifacts).await.unwrap();
    assert_eq!(by_version.scorer, loaded.scorer);
    for (uri, want) in [
        ("models:/nope@champion", "cannot load"),
        ("runs:/x/model", "cannot serve"),
        ("x", "cannot serve"),
    ] {
        let err = load(uri, &store, &artifacts).await.unwrap_err().to_string();
        assert!(err.contains(want), "{uri}: {err}");
    }
    let served = Served::new(vec![loaded]);
    let app = served.router(Options { max_body_bytes: 1024 * 1024, ..Options::default() });
    Fixture { app, served, store, artifacts, experiment: exp, _dir: dir }
}

/// Logs a model to a new run and registers it as the next version of
/// `tiny`; with `broken`, its `model.json` is not a model.
async fn register(
    store: &Arc<dyn Store>,
    artifacts: &dyn ArtifactStore,
    exp: &str,
    broken: bool,
) -> i64 {
    let run = store
        .create_run(CreateRun {
            experiment_id: exp.to_string(),
            user_id: "test".into(),
            ..CreateRun::default()
        })
        .await
        .unwrap();
    let prefix = run
        .info
        .artifact_uri
        .strip_prefix("mlflow-artifacts:/")
        .unwrap()
        .trim_matches('/')
        .to_string();
    let data = Dataset::from_csv(CSV, "y", "yes").unwrap();
    let model = LogisticRegression::default().fit(&data, &mut NoopRecorder).unwrap();
    let info = MlmodelInfo {
        artifact_path: "model",
        run_id: &run.info.run_id,
        model_uuid: "0123",
        utc_time_created: "2024-01-02 03:04:05.000000",
        lathe_version: "0.1.0",
    };
    let json = if broken { "{\"not\": \"a model\"}".to_string() } else { model.to_json().unwrap() };
    put(artifacts, &format!("{prefix}/model/model.json"), json).await;
    put(artifacts, &format!("{prefix}/model/MLmodel"), model.mlmodel(&info)).await;
    store
        .create_model_version(CreateModelVersion {
            name: "tiny".into(),
            source: format!("runs:/{}/model", run.info.run_id),
            run_id: Some(run.info.run_id.clone()),
            ..CreateModelVersion::default()
        })
        .await
        .unwrap()
        .version
}

struct Answer {
    status: StatusCode,
    id: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

impl Fixture {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = self.app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = resp.status();
        let id = resp
            .headers()
            .get(PREDICTION_ID_HEADER)
            .expect("every response has an id")
            .to_str()
            .unwrap()
            .to_string();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        Answer { status, id, body: String::from_utf8(bytes.to_vec()).unwrap() }
    }

    async fn json(&self, uri: &str, body: &str) -> Answer {
        self.call("POST", uri, Some("application/json"), body.as_bytes().to_vec()).await
    }
}

fn probabilities(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .iter()
        .map(|p| p.as_f64().unwrap())
        .collect()
}

#[tokio::test]
async fn every_scoring_format_gives_the_same_predictions() {
    let f = fixture().await;
    let bodies = [
        r#"{"dataframe_split": {"columns": ["x", "z"], "data": [[0.1, 5], [0.9, 1]]}}"#,
        r#"{"dataframe_split": {"columns": ["z", "x"], "data": [[5, 0.1], [1, 0.9]], "index": [0, 1]}}"#,
        r#"{"dataframe_records": [{"x": 0.1, "z": 5}, {"x": 0.9, "z": 1}]}"#,
        r#"{"instances": [{"x": 0.1, "z": 5}, {"z": 1, "x": 0.9}]}"#,
        r#"{"instances": [[0.1, 5], [0.9, 1]]}"#,
        r#"{"inputs": {"x": [0.1, 0.9], "z": [5, 1]}}"#,
        r#"{"inputs": [{"x": 0.1, "z": 5}, {"x": 0.9, "z": 1}], "params": {}}"#,
    ];
    let mut seen = Vec::new();
    for body in bodies {
        let a = f.json("/invocations", body).await;
        assert_eq!(a.status, StatusCode::OK, "{body}: {}", a.body);
        assert_eq!(a.id.len(), 32);
        seen.push(probabilities(&a.json(), "predictions"));
    }
    let csv =
        f.call("POST", "/invocations", Some("text/csv"), b"x,z\n0.1,5\n0.9,1\n".to_vec()).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    seen.push(probabilities(&csv.json(), "predictions"));
    let first = seen[0].clone();
    assert!(first[0] < 0.5 && first[1] > 0.5, "{first:?}");
    for p in &seen {
        assert_eq!(p, &first);
    }

    let v1 = f.json("/v1/models/tiny/predict", r#"[{"x": 0.1, "z": 5}, {"x": 0.9, "z": 1}]"#).await;
    assert_eq!(v1.status, StatusCode::OK, "{}", v1.body);
    let body = v1.json();
    assert_eq!(body["prediction_id"], json!(v1.id));
    assert_eq!(body["model"], json!({"name": "tiny", "version": 1}));
    assert_eq!(body["predictions"], json!(["no", "yes"]));
    assert_eq!(probabilities(&body, "probabilities"), first);

    let list = f.call("GET", "/v1/models", None, Vec::new()).await.json();
    assert_eq!(list["models"][0]["alias"], json!("champion"));
    assert_eq!(
        list["models"][0]["signature"]["inputs"][1],
        json!({"name": "z", "type": "double", "required": true})
    );
    assert_eq!(f.call("GET", "/health", None, Vec::new()).await.status, StatusCode::OK);
    assert_eq!(f.call("GET", "/ready", None, Vec::new()).await.status, StatusCode::OK);
}

#[tokio::test]
async fn bad_inputs_get_a_4xx_that_lists_every_problem_and_quotes_nothing() {
    let f = fixture().await;
    let secret = "SECRET-1234";
    let cases: Vec<(Option<&str>, String, StatusCode, Vec<&str>)> = vec![
        (
            Some("application/json"),
            format!("{{\"dataframe_records\": [{{\"x\": \"{secret}"),
            StatusCode::BAD_REQUEST,
            vec!["malformed JSON"],
        ),
        (
            Some("application/json"),
            String::new(),
            StatusCode::BAD_REQUEST,
            vec!["empty request body"],
        ),
        (
            Some("application/json"),
            r#"{"dataframe_records": [{"x": 0.1}]}"#.into(),
            StatusCode::BAD_REQUEST,
            vec!["missing column 'z'"],
        ),
        (
            Some("application/json"),
            format!(
                r#"{{"dataframe_records": [{{"x": 0.1, "z": 1}}, {{"x": "{secret}", "z": null}}]}}"#
            ),
            StatusCode::BAD_REQUEST,
            vec![
                "row 1: column 'x' expected double got string",
                "row 1: column 'z' expected double got null",
            ],
        ),
        (
            Some("application/json"),
            r#"{"dataframe_records": [{"x": 0.1, "z": 1, "extra": 2}]}"#.into(),
            StatusCode::BAD_REQUEST,
            vec!["unknown column 'extra'"],
        ),
        (
            Some("application/json"),
            format!(r#"{{"{secret}": []}}"#),
            StatusCode::BAD_REQUEST,
            vec!["dataframe_split"],
        ),
        (
            Some("application/json"),
            r#"{"instances": []}"#.into(),
            StatusCode::BAD_REQUEST,
            vec!["no rows"],
        ),
        (
            Some("text/plain"),
            "x,z\n1,2\n".into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            vec!["unsupported content type"],
        ),
        (None, "{}".into(), StatusCode::UNSUPPORTED_MEDIA_TYPE, vec!["missing content type"]),
    ];
    for (ct, body, status, wants) in cases {
        let a = f.call("POST", "/invocations", ct, body.clone().into_bytes()).await;
        assert_eq!(a.status, status, "{body}: {}", a.body);
        assert!(!a.body.contains(secret), "{}", a.body);
        let json = a.json();
        assert_eq!(json["prediction_id"], json!(a.id));
        let text = format!("{} {}", json["message"], json["problems"]);
        for want in wants {
            assert!(text.contains(want), "{body}: wanted {want} in {text}");
        }
    }

    let unknown = f.json("/v1/models/nope/predict", r#"[{"x": 1, "z": 1}]"#).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json()["error_code"], json!("RESOURCE_DOES_NOT_EXIST"));
    let nowhere = f.call("GET", "/nowhere", None, Vec::new()).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert_eq!(nowhere.json()["prediction_id"], json!(nowhere.id));
    for uri in ["/invocations", "/v1/models/tiny/predict"] {
        let get = f.call("GET", uri, None, Vec::new()).await;
        assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED, "{uri}");
        assert_eq!(get.json()["prediction_id"], json!(get.id), "{uri}");
    }

    let mut big = Vec::with_capacity(50 * 1024 * 1024 + 32);
    big.extend_from_slice(br#"{"instances": [[0.1, "#);
    big.resize(50 * 1024 * 1024, b'1');
    big.extend_from_slice(b"]]}");
    let huge = f.call("POST", "/invocations", Some("application/json"), big).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(huge.body.len() < 1024, "{}", huge.body.len());

    // Still serving afterwards.
    let ok = f.json("/invocations", r#"{"instances": [[0.5, 3]]}"#).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_count_requests_and_errors() {
    let f = fixture().await;
    let text = |a: Answer| {
        assert_eq!(a.status, StatusCode::OK);
        a.body
    };
    let before = text(f.call("GET", "/metrics", None, Vec::new()).await);
    for line in [
        "# TYPE lathe_serve_requests_total counter",
        "# TYPE lathe_serve_errors_total counter",
        "# TYPE lathe_serve_request_duration_seconds histogram",
        "# TYPE lathe_serve_loaded_versions gauge",
        "lathe_serve_loaded_versions 1",
        "lathe_serve_requests_total{model=\"tiny\",version=\"1\"} 0",
    ] {
        assert!(before.lines().any(|l| l == line), "{line} not in\n{before}");
    }
    f.json("/invocations", r#"{"instances": [[0.5, 3]]}"#).await;
    f.json("/v1/models/tiny/predict", r#"[{"x": 0.5, "z": 3}]"#).await;
    f.json("/invocations", r#"{"instances": [["a", 3]]}"#).await;
    let after = text(f.call("GET", "/metrics", None, Vec::new()).await);
    for line in [
        "lathe_serve_requests_total{model=\"tiny\",version=\"1\"} 3",
        "lathe_serve_errors_total{model=\"tiny\",version=\"1\"} 1",
        "lathe_serve_request_duration_seconds_bucket{model=\"tiny\",version=\"1\",le=\"+Inf\"} 3",
        "lathe_serve_request_duration_seconds_count{model=\"tiny\",version=\"1\"} 3",
    ] {
        assert!(after.lines().any(|l| l == line), "{line} not in\n{after}");
    }
    for line in after.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

/// One `/v1` prediction: its status and the version that answered.
async fn predict_version(app: &Router) -> (StatusCode, Option<i64>) {
    let req = Request::builder()
        .method("POST")
        .uri("/v1/models/tiny/predict")
        .header("content-type", "application/json")
        .body(Body::from(r#"[{"x": 0.9, "z": 1}]"#))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body["model"]["version"].as_i64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_the_alias_swaps_versions_under_load_without_a_failed_request() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

    let f = fixture().await;
    assert_eq!(register(&f.store, &*f.artifacts, &f.experiment, false).await, 2);
    let sent = Arc::new(AtomicUsize::new(0));
    let swapped = Arc::new(AtomicBool::new(false));
    let mut streams = Vec::new();
    for _ in 0..4 {
        let (app, sent, swapped) = (f.app.clone(), Arc::clone(&sent), Arc::clone(&swapped));
        streams.push(tokio::spawn(async move {
            // (status, version, whether it started after the swap); bounded
            // both by a cap and by 50 requests after the swap.
            let mut answers = Vec::new();
            let mut after = 0;
            while answers.len() < 20_000 && after < 50 {
                let started_after = swapped.load(SeqCst);
                after += usize::from(started_after);
                let (status, version) = predict_version(&app).await;
                answers.push((status, version, started_after));
                sent.fetch_add(1, SeqCst);
                tokio::task::yield_now().await;
            }
            answers
        }));
    }
    for _ in 0..10_000 {
        if sent.load(SeqCst) >= 40 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert!(sent.load(SeqCst) >= 40, "the request stream never started");
    f.store.set_registered_model_alias("tiny", "champion", 2).await.unwrap();
    let outcomes = watch::check_once(&f.served, &f.store, &f.artifacts).await;
    assert_eq!(outcomes, vec![Outcome::Swapped { name: "tiny".into(), from: 1, to: 2 }]);
    swapped.store(true, SeqCst);

    let mut total = 0;
    let mut seen = std::collections::BTreeSet::new();
    for stream in streams {
        let answers = stream.await.unwrap();
        total += answers.len();
        let mut last = 0;
        for (status, version, started_after) in &answers {
            assert_eq!(*status, StatusCode::OK, "a request failed during the swap");
            let version = version.expect("every answer names its version");
            assert!(version >= last, "version went back from {last} to {version}");
            if *started_after {
                assert_eq!(version, 2, "a request after the swap was answered by {version}");
            }
            last = version;
            seen.insert(version);
        }
        assert_eq!(answers.iter().filter(|a| a.2).count(), 50, "the stream ended before the swap");
    }
    assert!(seen.contains(&1) && seen.contains(&2), "{seen:?}");
    assert_eq!(f.served.versions(), vec![("tiny".to_string(), 2)]);

    let list = f.call("GET", "/v1/models", None, Vec::new()).await.json();
    assert_eq!(list["models"][0]["version"], json!(2));
    assert_eq!(list["models"][0]["alias"], json!("champion"));
    assert_eq!(list["models"][0]["uri"], json!("models:/tiny@champion"));
    let metrics = f.call("GET", "/metrics", None, Vec::new()).await.body;
    let count = |version: i64, metric: &str| -> u64 {
        let prefix = format!("{metric}{{model=\"tiny\",version=\"{version}\"}} ");
        let line = metrics.lines().find_map(|l| l.strip_prefix(prefix.as_str()));
        line.unwrap_or_else(|| panic!("no {prefix} in\n{metrics}")).parse().unwrap()
    };
    let (v1, v2) = (count(1, "lathe_serve_requests_total"), count(2, "lathe_serve_requests_total"));
    assert!(v1 > 0 && v2 >= 200, "{v1} {v2}");
    assert_eq!(usize::try_from(v1 + v2).unwrap(), total);
    assert_eq!(count(1, "lathe_serve_errors_total") + count(2, "lathe_serve_errors_total"), 0);
    for line in ["lathe_serve_swaps_total 1", "lathe_serve_loaded_versions 1"] {
        assert!(metrics.lines().any(|l| l == line), "{line} not in\n{metrics}");
    }
}

#[tokio::test]
async fn an_alias_moved_to_a_broken_version_keeps_the_old_one_serving() {
    let f = fixture().await;
    assert_eq!(register(&f.store, &*f.artifacts, &f.experiment, true).await, 2);
    f.store.set_registered_model_alias("tiny", "champion", 2).await.unwrap();
    let outcomes = watch::check_once(&f.served, &f.store, &f.artifacts).await;
    assert!(
        matches!(&outcomes[..], [Outcome::Failed { name, reason }]
            if name == "tiny" && reason.contains("version 2 failed to load")),
        "{outcomes:?}"
    );
    assert_eq!(f.served.versions(), vec![("tiny".to_string(), 1)]);
    assert_eq!(predict_version(&f.app).await, (StatusCode::OK, Some(1)));
    let metrics = f.call("GET", "/metrics", None, Vec::new()).await.body;
    assert!(metrics.lines().any(|l| l == "lathe_serve_swaps_total 0"), "{metrics}");

    // Back to the served version: nothing to do.
    f.store.set_registered_model_alias("tiny", "champion", 1).await.unwrap();
    let outcomes = watch::check_once(&f.served, &f.store, &f.artifacts).await;
    assert_eq!(outcomes, vec![Outcome::Unchanged]);

    // The background watcher picks up a good version on its own.
    assert_eq!(register(&f.store, &*f.artifacts, &f.experiment, false).await, 3);
    f.store.set_registered_model_alias("tiny", "champion", 3).await.unwrap();
    let watcher = watch::spawn(
        f.served.clone(),
        Arc::clone(&f.store),
        Arc::clone(&f.artifacts),
        std::time::Duration::from_millis(10),
    );
    for _ in 0..3_000 {
        if f.served.versions() == vec![("tiny".to_string(), 3)] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    watcher.abort();
    assert_eq!(f.served.versions(), vec![("tiny".to_string(), 3)]);
    assert_eq!(predict_version(&f.app).await, (StatusCode::OK, Some(3)));
}

/// A router over `f`'s models that groups up to `max_batch_size` rows per
/// scorer call, waiting long for requests on their way (so concurrent
/// requests do meet), with room for 64 requests at once.
fn batching(f: &Fixture, max_batch_size: usize) -> Router {
    f.served.router(Options {
        max_concurrency: 64,
        max_batch_size: Some(max_batch_size),
        max_batch_wait: Duration::from_millis(20),
        ..Options::default()
    })
}

/// Request `i` of a round: 1 to 3 rows of its own, as `/invocations` or `/v1` rows.
fn request_rows(i: usize) -> Vec<[f64; 2]> {
    (0..1 + i % 3).map(|r| [(i * 3 + r) as f64 / 100.0, ((i + r) % 7) as f64]).collect()
}

/// POSTs request `i`'s rows and returns its probabilities.
async fn post_rows(app: &Router, i: usize) -> Vec<f64> {
    let rows = request_rows(i);
    let (uri, body) = if i.is_multiple_of(2) {
        ("/invocations", json!({ "instances": rows }))
    } else {
        let records: Vec<Value> = rows.iter().map(|[x, z]| json!({"x": x, "z": z})).collect();
        ("/v1/models/tiny/predict", json!(records))
    };
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    probabilities(&body, if i.is_multiple_of(2) { "predictions" } else { "probabilities" })
}

/// Sends requests `0..n` at once (released together by a barrier) and
/// returns each one's probabilities, in order.
async fn concurrently(app: &Router, n: usize) -> Vec<Vec<f64>> {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (app, barrier) = (app.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                post_rows(&app, i).await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(n);
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// `lathe_serve_batch_size_rows` of tiny version `version`: (scorer calls, rows).
fn batches(text: &str, version: i64) -> (u64, u64) {
    let calls = metric(text, "lathe_serve_batch_size_rows_count", version);
    (calls, metric(text, "lathe_serve_batch_size_rows_sum", version))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_are_batched_and_each_gets_its_own_rows() {
    let f = fixture().await;
    // Every row alone, through the unbatched path: the reference answers.
    let alone = batching(&f, 1);
    let mut expected = Vec::new();
    for i in 0..32 {
        let mut per_row = Vec::new();
        for row in request_rows(i) {
            let body = json!({ "instances": [row] }).to_string();
            let req = Request::builder()
                .method("POST")
                .uri("/invocations")
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap();
            let resp = alone.clone().oneshot(req).await.unwrap();
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
            per_row.extend(probabilities(&serde_json::from_slice(&bytes).unwrap(), "predictions"));
        }
        expected.push(per_row);
    }
    let rows_per_round: u64 = (0..32).map(|i| request_rows(i).len() as u64).sum();
    let unbatched = batches(&get_text(&alone, "/metrics").await, 1);
    assert_eq!(unbatched, (rows_per_round, rows_per_round), "one scorer call per lone row");

    // 32 requests at once, in rounds until some met in a batch (the first
    // round nearly always does; the scheduler decides).
    let app = batching(&f, 64);
    let mut rounds = 0;
    let text = loop {
        rounds += 1;
        assert_eq!(concurrently(&app, 32).await, expected, "round {rounds}");
        let text = get_text(&app, "/metrics").await;
        let (calls, rows) = batches(&text, 1);
        assert_eq!(rows, unbatched.1 + rows_per_round * rounds, "every row scored once");
        if calls < unbatched.0 + 32 * rounds || rounds == 50 {
            break text;
        }
    };
    let (calls, _) = batches(&text, 1);
    assert!(calls < unbatched.0 + 32 * rounds, "no two requests met in {rounds} rounds:\n{text}");
    assert_eq!(metric(&text, "lathe_serve_batch_queue_depth", 1), 0);
    assert_eq!(metric(&text, "lathe_serve_errors_total", 1), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_batch_size_1_each_request_is_one_scorer_call_as_before() {
    let f = fixture().await;
    let app = batching(&f, 1);
    let answers = concurrently(&app, 32).await;
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer.len(), request_rows(i).len());
    }
    let rows: u64 = (0..32).map(|i| request_rows(i).len() as u64).sum();
    let text = get_text(&app, "/metrics").await;
    assert_eq!(batches(&text, 1), (32, rows));
    assert_eq!(metric(&text, "lathe_serve_batch_queue_depth", 1), 0);
    // A batch larger than the limit is never formed, but a request larger
    // than it is still scored whole.
    let app = batching(&f, 2);
    assert_eq!(post_rows(&app, 2).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_a_row_by_row_model_scores_each_request_on_its_own() {
    // The tiny model is linear: one call over many rows costs what many
    // calls do, so the default does not group its requests.
    let f = fixture().await;
    let app = f.served.router(Options { max_concurrency: 64, ..Options::default() });
    for _ in 0..3 {
        concurrently(&app, 32).await;
    }
    let rows: u64 = (0..32).map(|i| request_rows(i).len() as u64).sum();
    let text = get_text(&app, "/metrics").await;
    assert_eq!(batches(&text, 1), (3 * 32, 3 * rows), "{text}");
    assert_eq!(metric(&text, "lathe_serve_batch_queue_depth", 1), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_swap_under_batched_load_loses_no_request() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

    let f = fixture().await;
    assert_eq!(register(&f.store, &*f.artifacts, &f.experiment, false).await, 2);
    let app = batching(&f, 64);
    let sent = Arc::new(AtomicUsize::new(0));
    let swapped = Arc::new(AtomicBool::new(false));
    let mut streams = Vec::new();
    for _ in 0..32 {
        let (app, sent, swapped) = (app.clone(), Arc::clone(&sent), Arc::clone(&swapped));
        streams.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            let mut after = 0;
            while answers.len() < 5_000 && after < 20 {
                let started_after = swapped.load(SeqCst);
                after += usize::from(started_after);
                let (status, version) = predict_version(&app).await;
                answers.push((status, version, started_after));
                sent.fetch_add(1, SeqCst);
            }
            answers
        }));
    }
    for _ in 0..10_000 {
        if sent.load(SeqCst) >= 320 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    f.store.set_registered_model_alias("tiny", "champion", 2).await.unwrap();
    let outcomes = watch::check_once(&f.served, &f.store, &f.artifacts).await;
    assert_eq!(outcomes, vec![Outcome::Swapped { name: "tiny".into(), from: 1, to: 2 }]);
    swapped.store(true, SeqCst);

    let mut total = 0;
    for stream in streams {
        let answers = stream.await.unwrap();
        total += answers.len() as u64;
        let mut last = 0;
        for (status, version, started_after) in &answers {
            assert_eq!(*status, StatusCode::OK, "a request failed during the swap");
            let version = version.expect("every answer names its version");
            assert!(version >= last, "version went back from {last} to {version}");
            if *started_after {
                assert_eq!(version, 2, "a request after the swap was answered by {version}");
            }
            last = version;
        }
    }
    let text = get_text(&app, "/metrics").await;
    let requests = |v| metric(&text, "lathe_serve_requests_total", v);
    assert_eq!(requests(1) + requests(2), total, "every request was answered and counted");
    assert!(requests(1) > 0 && requests(2) >= 32 * 20, "{text}");
    let ((calls_1, rows_1), (calls_2, rows_2)) = (batches(&text, 1), batches(&text, 2));
    assert_eq!(rows_1 + rows_2, total, "each request's row scored once");
    assert!(calls_1 + calls_2 < total, "32 streams never met in a batch:\n{text}");
    for version in [1, 2] {
        assert_eq!(metric(&text, "lathe_serve_batch_queue_depth", version), 0, "{text}");
        assert_eq!(metric(&text, "lathe_serve_errors_total", version), 0);
    }
}

/// A fixture whose prediction routes are bounded by `limits`, kept by the test.
async fn limited(max_concurrency: usize, max_queue: usize, timeout_ms: u64) -> (Fixture, Limits) {
    let mut f = fixture().await;
    let limits = Limits::new(Options {
        max_concurrency,
        max_queue,
        request_timeout: Duration::from_millis(timeout_ms),
        ..Options::default()
    });
    f.app = f.served.router_with_limits(limits.clone());
    (f, limits)
}

/// Whether `/metrics` has `line`.
async fn metrics_have(f: &Fixture, line: &str) -> bool {
    let text = f.call("GET", "/metrics", None, Vec::new()).await.body;
    text.lines().any(|l| l == line)
}

#[tokio::test]
async fn a_full_server_answers_503_with_retry_after_and_keeps_serving() {
    let (f, limits) = limited(1, 0, 10_000).await;
    assert!(metrics_have(&f, "lathe_serve_rejected_total{reason=\"overload\"} 0").await);
    let held = Arc::clone(limits.semaphore()).acquire_owned().await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let app = f.app.clone();
        let (uri, body) = if i % 2 == 0 {
            ("/invocations", r#"{"instances": [[0.5, 3]]}"#)
        } else {
            ("/v1/models/tiny/predict", r#"[{"x": 0.5, "z": 3}]"#)
        };
        tasks.push(tokio::spawn(async move {
            let req = Request::builder()
                .method("POST")
                .uri(uri)
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap();
            let resp = app.oneshot(req).await.unwrap();
            let retry = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
            (status, retry, serde_json::from_slice::<Value>(&bytes).unwrap())
        }));
    }
    for task in tasks {
        let (status, retry, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(retry.as_deref(), Some("1"));
        assert_eq!(body["error_code"], "TEMPORARILY_UNAVAILABLE", "{body}");
    }
    assert_eq!(limits.rejected_overload(), 8);
    assert!(metrics_have(&f, "lathe_serve_rejected_total{reason=\"overload\"} 8").await);
    // Health, readiness and metrics are never limited.
    assert_eq!(f.call("GET", "/ready", None, Vec::new()).await.status, StatusCode::OK);
    drop(held);
    let ok = f.json("/invocations", r#"{"instances": [[0.5, 3]]}"#).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(limits.rejected_overload(), 8);
}

#[tokio::test]
async fn a_queued_request_waits_for_a_slot_and_the_next_one_is_refused() {
    let (f, limits) = limited(1, 1, 10_000).await;
    let held = Arc::clone(limits.semaphore()).acquire_owned().await.unwrap();
    let app = f.app.clone();
    let queued = tokio::spawn(async move {
        let req = Request::builder()
            .method("POST")
            .uri("/v1/models/tiny/predict")
            .header("content-type", "application/json")
            .body(Body::from(r#"[{"x": 0.9, "z": 1}]"#))
            .unwrap();
        app.oneshot(req).await.unwrap().status()
    });
    // Bounded wait for the request to take its place in the queue.
    let mut waited = 0;
    while !metrics_have(&f, "lathe_serve_queue_depth 1").await {
        assert!(waited < 1000, "the request never queued");
        waited += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(limits.queue_depth(), 1);
    let refused = f.json("/invocations", r#"{"instances": [[0.5, 3]]}"#).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{}", refused.body);
    drop(held);
    assert_eq!(queued.await.unwrap(), StatusCode::OK);
    assert_eq!(limits.queue_depth(), 0);
    assert!(metrics_have(&f, "lathe_serve_queue_depth 0").await);
    assert!(metrics_have(&f, "lathe_serve_rejected_total{reason=\"overload\"} 1").await);
    assert!(metrics_have(&f, "lathe_serve_rejected_total{reason=\"timeout\"} 0").await);
}

#[tokio::test]
async fn a_request_that_waits_past_its_timeout_gets_504_and_is_counted() {
    let (f, limits) = limited(1, 4, 1).await;
    let held = Arc::clone(limits.semaphore()).acquire_owned().await.unwrap();
    let rows: Vec<String> =
        (0..5000).map(|i| format!("[{}, {}]", f64::from(i % 10) / 10.0, i % 7)).collect();
    let body = format!(r#"{{"instances": [{}]}}"#, rows.join(","));
    let slow = f.json("/invocations", &body).await;
    assert_eq!(slow.status, StatusCode::GATEWAY_TIMEOUT, "{}", slow.body);
    let v = slow.json();
    assert_eq!(v["error_code"], "DEADLINE_EXCEEDED", "{v}");
    assert_eq!(v["prediction_id"], slow.id.as_str());
    assert!(slow.body.len() < 500, "the request is never quoted: {}", slow.body);
    let v1 = f.json("/v1/models/tiny/predict", r#"[{"x": 0.9, "z": 1}]"#).await;
    assert_eq!(v1.status, StatusCode::GATEWAY_TIMEOUT, "{}", v1.body);
    assert_eq!(limits.rejected_timeout(), 2);
    assert_eq!(limits.queue_depth(), 0);
    assert!(metrics_have(&f, "lathe_serve_rejected_total{reason=\"timeout\"} 2").await);
    assert!(metrics_have(&f, "lathe_serve_queue_depth 0").await);
    drop(held);
    // With the slot free, a small request is scored well within a generous timeout.
    let (f, _) = limited(1, 0, 10_000).await;
    let ok = f.json("/invocations", r#"{"instances": [[0.5, 3]]}"#).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn with_no_model_loaded_ready_and_predictions_answer_503() {
    let app = Served::new(Vec::new()).router(Options::default());
    for (method, uri, body) in [
        ("GET", "/ready", ""),
        ("POST", "/invocations", r#"{"instances": [[0.5, 3]]}"#),
        ("POST", "/v1/models/tiny/predict", r#"[{"x": 0.5, "z": 3}]"#),
    ] {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["error_code"], "UNAVAILABLE", "{uri}: {v}");
    }
    let req = Request::builder().uri("/health").body(Body::empty()).unwrap();
    assert_eq!(app.oneshot(req).await.unwrap().status(), StatusCode::OK);
}

/// Serves `tiny@champion` (version 1) with version 2, as `challenger`, under `policy`.
async fn with_challenger(policy: Policy) -> (Fixture, Router) {
    let f = fixture().await;
    assert_eq!(register(&f.store, &*f.artifacts, &f.experiment, false).await, 2);
    f.store.set_registered_model_alias("tiny", "challenger", 2).await.unwrap();
    let champion = load("models:/tiny@champion", &f.store, &f.artifacts).await.unwrap();
    let challenger = load("models:/tiny@challenger", &f.store, &f.artifacts).await.unwrap();
    let served = Served::with_challengers(
        vec![champion.clone()],
        vec![Challenger { model: challenger.clone(), policy }],
    )
    .unwrap();
    assert_eq!(served.len(), 1, "a challenger is not a served model of its own");
    let refused = Served::with_challengers(
        vec![champion.clone()],
        vec![
            Challenger { model: challenger.clone(), policy },
            Challenger { model: challenger.clone(), policy },
        ],
    )
    .unwrap_err();
    assert!(refused.contains("two challengers"), "{refused}");
    let mut other = challenger;
    other.name = "other".into();
    let refused =
        Served::with_challengers(vec![champion], vec![Challenger { model: other, policy }])
            .unwrap_err();
    assert!(refused.contains("model 'other' is not served"), "{refused}");
    let app = served.router(Options::default());
    (f, app)
}

/// The value of `metric{model="tiny",version="V"}` in a /metrics text.
fn metric(text: &str, metric: &str, version: i64) -> u64 {
    let prefix = format!("{metric}{{model=\"tiny\",version=\"{version}\"}} ");
    let line = text.lines().find_map(|l| l.strip_prefix(prefix.as_str()));
    line.unwrap_or_else(|| panic!("no {prefix} in\n{text}")).parse().unwrap()
}

async fn get_text(app: &Router, uri: &str) -> String {
    let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn a_canary_answers_its_share_and_each_version_is_counted() {
    let (_f, app) = with_challenger(Policy::Canary { share: 0.2 }).await;
    let n = 2_000;
    let mut by_version = std::collections::BTreeMap::<i64, u64>::new();
    for i in 0..n {
        let version = if i % 2 == 0 {
            let (status, version) = predict_version(&app).await;
            assert_eq!(status, StatusCode::OK);
            version.unwrap()
        } else {
            let req = Request::builder()
                .method("POST")
                .uri("/invocations")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"dataframe_records": [{"x": 0.2, "z": 5}]}"#))
                .unwrap();
            let resp = app.clone().oneshot(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let header = resp.headers().get(MODEL_VERSION_HEADER).expect("the answering version");
            header.to_str().unwrap().parse().unwrap()
        };
        *by_version.entry(version).or_default() += 1;
    }
    assert_eq!(by_version.keys().copied().collect::<Vec<_>>(), [1, 2]);
    // 0.2 ± 5 standard deviations (0.0089 each at n = 2,000).
    let share = by_version[&2] as f64 / f64::from(n);
    assert!((share - 0.2).abs() < 0.045, "the canary answered {share} of the requests");
    let text = get_text(&app, "/metrics").await;
    for (version, count) in &by_version {
        assert_eq!(metric(&text, "lathe_serve_requests_total", *version), *count);
        assert_eq!(metric(&text, "lathe_serve_shadow_predictions_total", *version), 0);
    }
    let listed = get_text(&app, "/v1/models").await;
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["models"].as_array().unwrap().len(), 1, "{listed}");
}

#[tokio::test]
async fn a_shadow_scores_every_request_and_is_never_returned() {
    let (_f, app) = with_challenger(Policy::Shadow).await;
    let n = 300;
    for _ in 0..n {
        let (status, version) = predict_version(&app).await;
        assert_eq!((status, version), (StatusCode::OK, Some(1)), "only the champion answers");
    }
    // A refused request is not shadowed: the shadow sees only what the champion scored.
    let refused = app
        .clone()
        .oneshot(
            Request::builder()
                .method("POST")
                .uri("/v1/models/tiny/predict")
                .header("content-type", "application/json")
                .body(Body::from(r#"[{"x": "high"}]"#))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let mut text = String::new();
    for _ in 0..500 {
        text = get_text(&app, "/metrics").await;
        if metric(&text, "lathe_serve_shadow_predictions_total", 2) == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metric(&text, "lathe_serve_shadow_predictions_total", 2), n);
    assert_eq!(metric(&text, "lathe_serve_requests_total", 2), n);
    assert_eq!(metric(&text, "lathe_serve_errors_total", 2), 0);
    assert_eq!(metric(&text, "lathe_serve_requests_total", 1), n + 1);
    assert_eq!(metric(&text, "lathe_serve_shadow_predictions_total", 1), 0);
}

/// Prometheus' own linter on `/metrics` after traffic on two versions
/// (one a shadow): `promtool check metrics` from Debian's `prometheus`
/// package, found through `LATHE_TEST_PROMTOOL` or on the PATH.
#[tokio::test]
async fn metrics_pass_promtool_check() {
    use std::io::Write;
    let promtool = std::env::var("LATHE_TEST_PROMTOOL").unwrap_or_else(|_| "promtool".into());
    if std::process::Command::new(&promtool).arg("--version").output().is_err() {
        eprintln!("skipping: no promtool (apt-get install prometheus, or run .ci/run once)");
        return;
    }
    let (_f, app) = with_challenger(Policy::Shadow).await;
    for _ in 0..20 {
        assert_eq!(predict_version(&app).await.0, StatusCode::OK);
    }
    let text = get_text(&app, "/metrics").await;
    let mut child = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool: {said}\n{text}");
}

/// Logs `files` under a new run's `model/` and registers them as the next version of `name`.
async fn register_files(f: &Fixture, name: &str, files: &[(&str, String)]) -> i64 {
    let run = f
        .store
        .create_run(CreateRun {
            experiment_id: f.experiment.clone(),
            user_id: "test".into(),
            ..CreateRun::default()
        })
        .await
        .unwrap();
    let prefix =
        run.info.artifact_uri.strip_prefix("mlflow-artifacts:/").unwrap().trim_matches('/');
    for (file, text) in files {
        put(&*f.artifacts, &format!("{prefix}/model/{file}"), text.clone()).await;
    }
    if f.store.get_registered_model(name).await.is_err() {
        f.store.create_registered_model(name, &[], None).await.unwrap();
    }
    f.store
        .create_model_version(CreateModelVersion {
            name: name.into(),
            source: format!("runs:/{}/model", run.info.run_id),
            run_id: Some(run.info.run_id.clone()),
            ..CreateModelVersion::default()
        })
        .await
        .unwrap()
        .version
}

/// An MLmodel as MLflow writes it for `flavor` with `data: FILE` and a
/// signature of optional doubles (PyYAML folds the long line), plus `extra`
/// flavor settings.
fn booster_mlmodel(flavor: &str, file: &str, extra: &str, features: &[&str]) -> String {
    let specs: Vec<String> = features
        .iter()
        .map(|f| format!("{{\"type\": \"double\", \"name\": \"{f}\", \"required\": false}}"))
        .collect();
    let inputs = specs.join(", ");
    let mut folded = String::new();
    for (i, word) in inputs.split(' ').enumerate() {
        folded.push_str(if i == 0 {
            ""
        } else if i % 7 == 0 {
            "\n    "
        } else {
            " "
        });
        folded.push_str(word);
    }
    format!(
        "artifact_path: model\nflavors:\n  python_function:\n    data: {file}\n    \
         loader_module: mlflow.{flavor}\n  {flavor}:\n    code: null\n    data: {file}\n{extra}\
         mlflow_version: 3.17.2\nsignature:\n  inputs: '[{folded}]'\n  outputs: null\n"
    )
}

/// Registers a booster under `name`, serves it, and checks that
/// `/invocations` answers each reference row with the library's own
/// prediction (within 1e-6) and `/v1` labels them.
async fn check_booster(
    f: &Fixture,
    name: &str,
    files: &[(&str, String)],
    reference: &Value,
    want: impl Fn(usize) -> f64,
) {
    let v = register_files(f, name, files).await;
    let loaded = load(&format!("models:/{name}/{v}"), &f.store, &f.artifacts).await.unwrap();
    let app = Served::new(vec![loaded]).router(Options::default());
    let features: Vec<&str> =
        reference["features"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let rows = reference["rows"].as_array().unwrap();
    let records: Vec<Value> = rows
        .iter()
        .map(|row| {
            let cells = row.as_array().unwrap();
            Value::Object(
                features.iter().map(|f| f.to_string()).zip(cells.iter().cloned()).collect(),
            )
        })
        .collect();
    let body = json!({ "dataframe_records": records }).to_string();
    let req = Request::builder()
        .method("POST")
        .uri("/invocations")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    let got = probabilities(&serde_json::from_slice(&bytes).unwrap(), "predictions");
    assert_eq!(got.len(), rows.len());
    for (i, g) in got.iter().enumerate() {
        let want = want(i);
        assert!((g - want).abs() <= 1e-6, "{name} row {i}: {g} vs the library's {want}");
    }
    let req = Request::builder()
        .method("POST")
        .uri(format!("/v1/models/{name}/predict"))
        .header("content-type", "application/json")
        .body(Body::from(json!(records[..2]).to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let answer: Value = serde_json::from_slice(&bytes).unwrap();
    for i in 0..2 {
        let p = answer["probabilities"][i].as_f64().unwrap();
        assert_eq!(answer["predictions"][i], json!(if p >= 0.5 { "1" } else { "0" }), "{answer}");
    }
}

fn reversed(reference: &Value) -> Vec<&str> {
    let mut features: Vec<&str> =
        reference["features"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    features.reverse();
    features
}

#[tokio::test]
async fn an_xgboost_booster_logged_with_mlflow_is_served_with_its_own_predictions() {
    let f = fixture().await;
    let model = include_str!("../../train/test_data/xgboost/binary.json").to_string();
    let reference: Value =
        serde_json::from_str(include_str!("../../train/test_data/xgboost/binary_reference.json"))
            .unwrap();
    // The signature lists the columns in another order than the booster: matched by name.
    let json_format = "    model_class: xgboost.core.Booster\n    model_format: json\n";
    let mlmodel = booster_mlmodel("xgboost", "model.json", json_format, &reversed(&reference));
    let files = [("MLmodel", mlmodel), ("model.json", model.clone())];
    check_booster(&f, "boosted", &files, &reference, |i| {
        reference["predictions"][i][1].as_f64().unwrap()
    })
    .await;

    // What lathe cannot serve is refused at load, naming the reason.
    let xgb_format = "    model_class: xgboost.core.Booster\n    model_format: xgb\n";
    let mlmodel = booster_mlmodel("xgboost", "model.xgb", xgb_format, &reversed(&reference));
    let v = register_files(&f, "boosted", &[("MLmodel", mlmodel), ("model.xgb", model)]).await;
    let err = load(&format!("models:/boosted/{v}"), &f.store, &f.artifacts).await.unwrap_err();
    assert!(err.to_string().contains("model_format=\"json\""), "{err}");
    let sklearn =
        "artifact_path: model\nflavors:\n  sklearn:\n    pickled_model: model.pkl\n".to_string();
    let v = register_files(&f, "boosted", &[("MLmodel", sklearn)]).await;
    let err = load(&format!("models:/boosted/{v}"), &f.store, &f.artifacts).await.unwrap_err();
    assert!(err.to_string().contains("no flavor lathe can serve (it has: sklearn"), "{err}");
}

#[tokio::test]
async fn a_lightgbm_booster_logged_with_mlflow_is_served_with_its_own_predictions() {
    let f = fixture().await;
    let model = include_str!("../test_data/lightgbm/model.lgb").to_string();
    let reference: Value =
        serde_json::from_str(include_str!("../test_data/lightgbm/reference.json")).unwrap();
    // Signature names have spaces, the booster's underscores: still matched.
    let booster = "    model_class: lightgbm.basic.Booster\n";
    let mlmodel = booster_mlmodel("lightgbm", "model.lgb", booster, &reversed(&reference));
    let files = [("MLmodel", mlmodel), ("model.lgb", model.clone())];
    check_booster(&f, "lgbm", &files, &reference, |i| {
        reference["predictions"][i].as_f64().unwrap()
    })
    .await;

    let skops =
        "    model_class: lightgbm.sklearn.LGBMClassifier\n    serialization_format: skops\n";
    let mlmodel = booster_mlmodel("lightgbm", "model.skops", skops, &reversed(&reference));
    let v = register_files(&f, "lgbm", &[("MLmodel", mlmodel), ("model.skops", model)]).await;
    let err = load(&format!("models:/lgbm/{v}"), &f.store, &f.artifacts).await.unwrap_err();
    assert!(err.to_string().contains("log the booster"), "{err}");
}
