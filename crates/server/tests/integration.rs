//! The HTTP API in-process (`app(state)` + `oneshot`): every bad input the
//! server must refuse, with MLflow's error code and status, and nothing written.

// Test code: a failed unwrap is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::{
    body::Body,
    http::{Request, StatusCode},
    Router,
};
use lathe_server::{app, AppState};
use lathe_store::{LocalArtifactStore, Store};
use serde_json::{json, Value};
use tower::ServiceExt;

struct Server {
    app: Router,
    store: Arc<dyn Store>,
    dir: tempfile::TempDir,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        lathe_store_sqlite::open(&dir.path().join("t.db"), "mlflow-artifacts:/").await.unwrap(),
    );
    let artifacts = Arc::new(LocalArtifactStore::open(dir.path().join("artifacts")).unwrap());
    Server { app: app(AppState { store: store.clone(), artifacts }), store, dir }
}

impl Server {
    async fn raw(&self, method: &str, uri: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.raw("POST", &format!("/api/2.0/mlflow/{path}"), body.to_string().into_bytes()).await
    }

    async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
        self.raw("GET", &format!("/api/2.0/mlflow/{path_and_query}"), vec![]).await
    }

    async fn new_run(&self) -> String {
        let (s, v) = self.post("runs/create", json!({"experiment_id": "0"})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["run"]["info"]["run_id"].as_str().unwrap().to_string()
    }
}

/// Asserts an MLflow error answer and returns its message.
fn error(got: (StatusCode, Value), status: StatusCode, code: &str) -> String {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error_code"], code, "{}", got.1);
    got.1["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn malformed_json_is_malformed_request() {
    let s = server().await;
    let got = s.raw("POST", "/api/2.0/mlflow/experiments/create", b"{\"name\": ".to_vec()).await;
    error(got, StatusCode::BAD_REQUEST, "MALFORMED_REQUEST");
    let got = s.raw("POST", "/api/2.0/mlflow/runs/log-batch", b"not json".to_vec()).await;
    error(got, StatusCode::BAD_REQUEST, "MALFORMED_REQUEST");
}

#[tokio::test]
async fn missing_required_fields_are_named() {
    let s = server().await;
    let msg = error(
        s.post("experiments/create", json!({})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("'name'"), "{msg}");
    let run = s.new_run().await;
    let msg = error(
        s.post("runs/log-metric", json!({"run_id": run, "key": "m", "timestamp": 1})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("'value'"), "{msg}");
    let msg = error(s.get("runs/get").await, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    assert!(msg.contains("run_id"), "{msg}");
    let msg = error(
        s.get("model-versions/get?name=m").await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("'version'"), "{msg}");
}

#[tokio::test]
async fn wrong_types_name_the_field() {
    let s = server().await;
    let run = s.new_run().await;
    let msg = error(
        s.post(
            "runs/log-metric",
            json!({"run_id": run, "key": "m", "value": "high", "timestamp": 1}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("value"), "{msg}");
    let msg = error(
        s.post(
            "runs/log-batch",
            json!({"run_id": run, "metrics": [{"key": "m", "value": 1, "timestamp": "noon"}]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("metrics[0].timestamp"), "{msg}");
    let msg = error(
        s.post("runs/search", json!({"experiment_ids": ["0"], "max_results": "many"})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("max_results"), "{msg}");
    error(
        s.post("runs/update", json!({"run_id": run, "status": "DONE"})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    let run_now = s.store.get_run(&run).await.unwrap();
    assert!(run_now.metrics.is_empty(), "a refused write left data behind");
}

#[tokio::test]
async fn unknown_ids_are_404_resource_does_not_exist() {
    let s = server().await;
    for path in [
        "runs/get?run_id=0123456789abcdef0123456789abcdef",
        "experiments/get?experiment_id=424242",
        "experiments/get?experiment_id=not-a-number",
        "experiments/get-by-name?experiment_name=nope",
        "registered-models/get?name=nope",
        "model-versions/get?name=nope&version=1",
        "metrics/get-history?run_id=nope&metric_key=m",
        "logged-models/m-0000",
    ] {
        error(s.get(path).await, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
    }
    let got = s
        .post(
            "runs/log-batch",
            json!({"run_id": "nope", "metrics": [{"key": "m", "value": 1, "timestamp": 1}]}),
        )
        .await;
    error(got, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
    let got = s.post("runs/create", json!({"experiment_id": "999"})).await;
    error(got, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
}

#[tokio::test]
async fn over_limit_batches_and_values_write_nothing() {
    let s = server().await;
    let run = s.new_run().await;
    let metrics: Vec<Value> =
        (0..1001).map(|i| json!({"key": "m", "value": i, "timestamp": 1, "step": i})).collect();
    let msg = error(
        s.post("runs/log-batch", json!({"run_id": run, "metrics": metrics})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("at most 1000 metrics"), "{msg}");
    let params: Vec<Value> =
        (0..101).map(|i| json!({"key": format!("p{i}"), "value": "v"})).collect();
    error(
        s.post("runs/log-batch", json!({"run_id": run, "params": params})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    let tags: Vec<Value> =
        (0..101).map(|i| json!({"key": format!("t{i}"), "value": "v"})).collect();
    error(
        s.post("runs/log-batch", json!({"run_id": run, "tags": tags})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    let long_param = "x".repeat(6001);
    let msg = error(
        s.post(
            "runs/log-batch",
            json!({"run_id": run,
            "metrics": [{"key": "ok", "value": 1, "timestamp": 1}],
            "params": [{"key": "p", "value": long_param}]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("6000"), "{msg}");
    let msg = error(
        s.post("runs/set-tag", json!({"run_id": run, "key": "t", "value": "x".repeat(5001)})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("5000"), "{msg}");
    error(
        s.post("runs/log-parameter", json!({"run_id": run, "key": "k".repeat(251), "value": "v"}))
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    // Just over MLflow's 1 MB limit for a batch body.
    let big: Vec<Value> =
        (0..20).map(|i| json!({"key": format!("t{i}"), "value": "y".repeat(60_000)})).collect();
    let msg = error(
        s.post("runs/log-batch", json!({"run_id": run, "tags": big})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("bytes"), "{msg}");
    let after = s.store.get_run(&run).await.unwrap();
    assert!(after.metrics.is_empty() && after.params.is_empty(), "{after:?}");
    assert_eq!(after.tags.len(), 1, "only mlflow.runName: {:?}", after.tags);
    // A param cannot change value; the batch that tries writes nothing.
    assert_eq!(
        s.post("runs/log-parameter", json!({"run_id": run, "key": "lr", "value": "0.1"})).await.0,
        StatusCode::OK
    );
    error(
        s.post(
            "runs/log-batch",
            json!({"run_id": run,
            "metrics": [{"key": "after", "value": 1, "timestamp": 1}],
            "params": [{"key": "lr", "value": "0.2"}]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(s.store.get_run(&run).await.unwrap().metrics.is_empty());
}

#[tokio::test]
async fn deleted_runs_cannot_be_written() {
    let s = server().await;
    let run = s.new_run().await;
    assert_eq!(s.post("runs/delete", json!({"run_id": run})).await.0, StatusCode::OK);
    let msg = error(
        s.post("runs/log-metric", json!({"run_id": run, "key": "m", "value": 1, "timestamp": 1}))
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("active"), "{msg}");
}

#[tokio::test]
async fn invalid_filters_say_where_they_fail() {
    let s = server().await;
    let msg = error(
        s.post("runs/search", json!({"experiment_ids": ["0"], "filter": "metrics.acc >> 0.9"}))
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("position"), "{msg}");
    let msg = error(
        s.get("registered-models/search?filter=name%20%3D%20%27unterminated").await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("unterminated") || msg.contains("position"), "{msg}");
    error(
        s.post("runs/search", json!({"experiment_ids": ["0"], "max_results": 50001})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    error(
        s.post("experiments/search", json!({"order_by": ["bogus DESC"]})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let s = server().await;
    let body = format!("{{\"name\": \"{}\"}}", "x".repeat(lathe_server::MAX_JSON_BODY_BYTES + 1));
    let got = s.raw("POST", "/api/2.0/mlflow/experiments/create", body.into_bytes()).await;
    error(got, StatusCode::PAYLOAD_TOO_LARGE, "REQUEST_LIMIT_EXCEEDED");
    let page = s.post("experiments/search", json!({})).await.1;
    assert_eq!(page["experiments"].as_array().unwrap().len(), 1, "only Default: {page}");
}

#[tokio::test]
async fn artifact_paths_cannot_escape_the_root() {
    let s = server().await;
    let outside = s.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "secret").unwrap();
    let root = s.dir.path().join("artifacts");
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    let base = "/api/2.0/mlflow-artifacts/artifacts";
    for path in [
        "../outside/secret.txt",
        "a/../../outside/secret.txt",
        "%2e%2e%2foutside%2fsecret.txt",
        "%252e%252e%252foutside%252fsecret.txt",
        "C:/Windows/win.ini",
        "a%3Fb",
        "a%23b",
        "a%00b",
        "link/secret.txt",
        "%2Fetc%2Fpasswd",
    ] {
        for method in ["GET", "PUT", "DELETE"] {
            let got = s.raw(method, &format!("{base}/{path}"), b"pwned".to_vec()).await;
            assert!(got.0.is_client_error(), "{method} {path}: {:?}", got);
            assert_ne!(got.1, Value::String("secret".into()), "{method} {path} leaked the file");
        }
    }
    for query in ["../outside", "%2e%2e%2f", "/etc", "link", "a%23b"] {
        let got = s.raw("GET", &format!("{base}?path={query}"), vec![]).await;
        error(got, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    }
    assert_eq!(std::fs::read_to_string(outside.join("secret.txt")).unwrap(), "secret");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1, "something was written outside");
    assert!(!s.dir.path().join("x").exists());
}

#[tokio::test]
async fn server_filesystem_locations_are_refused() {
    let s = server().await;
    for location in [
        "file:///etc",
        "file://host/../../",
        "//proc/self/root",
        "http:///#/../../etc/",
        "/tmp/x",
        "mlflow-artifacts:/a/../../b",
    ] {
        let got = s
            .post(
                "experiments/create",
                json!({"name": format!("e-{location}"), "artifact_location": location}),
            )
            .await;
        error(got, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    }
    let names: Vec<Value> =
        s.post("experiments/search", json!({})).await.1["experiments"].as_array().unwrap().clone();
    assert_eq!(names.len(), 1, "a refused experiment was created");

    let run = s.new_run().await;
    assert_eq!(s.post("registered-models/create", json!({"name": "m"})).await.0, StatusCode::OK);
    for source in [
        "file:///etc",
        "file://host/../../",
        "//proc/self/root",
        "http:///#/../../etc/",
        "/etc/passwd",
        "mlflow-artifacts:/0/other-run/artifacts/model",
        &format!("mlflow-artifacts:/0/{run}/artifacts/../../x"),
        &format!("mlflow-artifacts:/0/{run}/artifacts/%2e%2e/%2e%2e/x"),
        "runs:/someone-else/model",
    ] {
        let got = s
            .post("model-versions/create", json!({"name": "m", "source": source, "run_id": run}))
            .await;
        error(got, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    }
    let versions = s.get("model-versions/search?filter=name%3D%27m%27").await.1;
    assert!(versions["model_versions"].as_array().unwrap().is_empty(), "{versions}");
    let ok = s
        .post(
            "model-versions/create",
            json!({"name": "m", "source": format!("runs:/{run}/model"), "run_id": run}),
        )
        .await;
    assert_eq!(ok.0, StatusCode::OK, "{}", ok.1);
}

#[tokio::test]
async fn unknown_endpoints_and_methods_answer_json() {
    let s = server().await;
    error(s.get("runs/nope").await, StatusCode::NOT_FOUND, "ENDPOINT_NOT_FOUND");
    let got = s.raw("DELETE", "/api/2.0/mlflow/runs/get", vec![]).await;
    error(got, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn ajax_alias_and_nan_round_trip() {
    let s = server().await;
    let run = s.new_run().await;
    let body = json!({"run_id": run, "metrics": [
        {"key": "nan", "value": "NaN", "timestamp": 1, "step": 0},
        {"key": "inf", "value": "Infinity", "timestamp": 1, "step": 0}]});
    let got =
        s.raw("POST", "/ajax-api/2.0/mlflow/runs/log-batch", body.to_string().into_bytes()).await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    let run_json = s.get(&format!("runs/get?run_id={run}")).await.1;
    let metrics = run_json["run"]["data"]["metrics"].as_array().unwrap().clone();
    let value = |k: &str| metrics.iter().find(|m| m["key"] == k).unwrap()["value"].clone();
    assert_eq!(value("nan"), json!("NaN"));
    assert_eq!(value("inf"), json!("Infinity"));
}
