//! ONNX models logged as MLflow's `onnx` flavor, registered in a SQLite
//! store and served in-process: scikit-learn's probabilities through
//! `/invocations` and `/v1`, and what is refused (at load, naming the model
//! URI; per request, with a 400 from the signature check).

#![cfg(feature = "onnx")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::{
    body::Body,
    http::{Request, StatusCode},
    Router,
};
use lathe_serve::{load, Options, Served};
use lathe_store::{ArtifactStore, CreateModelVersion, CreateRun, LocalArtifactStore, Store};
use serde_json::{json, Value};
use tower::ServiceExt;

/// StandardScaler + 3-class LogisticRegression exported by skl2onnx
/// (`test_data/onnx/make_fixtures.py`), and scikit-learn's probabilities.
const CLASSIFIER: &[u8] = include_bytes!("../test_data/onnx/classifier.onnx");
const REFERENCE: &str = include_str!("../test_data/onnx/reference.json");
const COLUMNS: [&str; 4] = ["sepal length", "sepal width", "petal length", "petal width"];

struct Registry {
    store: Arc<dyn Store>,
    artifacts: Arc<dyn ArtifactStore>,
    experiment: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    async fn new() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            lathe_store_sqlite::open(&dir.path().join("lathe.db"), "mlflow-artifacts:/")
                .await
                .unwrap(),
        );
        let artifacts: Arc<dyn ArtifactStore> =
            Arc::new(LocalArtifactStore::open(dir.path().join("artifacts")).unwrap());
        let experiment = store.create_experiment("onnx", None, &[]).await.unwrap();
        Registry { store, artifacts, experiment, _dir: dir }
    }

    /// Logs `MLmodel` (as `mlflow.onnx.log_model` writes it, with a signature
    /// of `columns`) and `model.onnx` to a new run; registers them under `name`.
    async fn register(&self, name: &str, columns: &[&str], onnx: &[u8]) -> String {
        self.register_with(name, columns, onnx, &[]).await
    }

    /// As [`Registry::register`], with `beside` logged next to `model.onnx`.
    async fn register_with(
        &self,
        name: &str,
        columns: &[&str],
        onnx: &[u8],
        beside: &[(&str, &[u8])],
    ) -> String {
        let run = self
            .store
            .create_run(CreateRun {
                experiment_id: self.experiment.clone(),
                user_id: "test".into(),
                ..CreateRun::default()
            })
            .await
            .unwrap();
        let prefix =
            run.info.artifact_uri.strip_prefix("mlflow-artifacts:/").unwrap().trim_matches('/');
        let mut files =
            vec![("MLmodel", mlmodel(columns).into_bytes()), ("model.onnx", onnx.to_vec())];
        files.extend(beside.iter().map(|(file, bytes)| (*file, bytes.to_vec())));
        for (file, bytes) in files {
            let body: lathe_store::artifacts::ByteStream = Box::pin(std::io::Cursor::new(bytes));
            self.artifacts.put(&format!("{prefix}/model/{file}"), body).await.unwrap();
        }
        if self.store.get_registered_model(name).await.is_err() {
            self.store.create_registered_model(name, &[], None).await.unwrap();
        }
        let version = self
            .store
            .create_model_version(CreateModelVersion {
                name: name.into(),
                source: format!("runs:/{}/model", run.info.run_id),
                run_id: Some(run.info.run_id.clone()),
                ..CreateModelVersion::default()
            })
            .await
            .unwrap()
            .version;
        format!("models:/{name}/{version}")
    }

    async fn load_error(&self, uri: &str) -> String {
        match load(uri, &self.store, &self.artifacts).await {
            Ok(model) => panic!("{uri} loaded as {:?}", model.scorer),
            Err(e) => e.to_string(),
        }
    }
}

/// What MLflow 3.17's `mlflow.onnx.save_model` writes, signature included.
fn mlmodel(columns: &[&str]) -> String {
    let specs: Vec<String> = columns
        .iter()
        .map(|c| format!("{{\"type\": \"double\", \"name\": \"{c}\", \"required\": true}}"))
        .collect();
    format!(
        "flavors:\n  onnx:\n    code: null\n    data: model.onnx\n    onnx_session_options: null\n    \
         onnx_version: 1.23.2\n    providers:\n    - CUDAExecutionProvider\n    - \
         CPUExecutionProvider\n  python_function:\n    data: model.onnx\n    loader_module: \
         mlflow.onnx\nmlflow_version: 3.17.2\nsignature:\n  inputs: '[{}]'\n  outputs: null\n",
        specs.join(", ")
    )
}

async fn post(app: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_scikit_learn_model_exported_to_onnx_answers_as_scikit_learn() {
    let registry = Registry::new().await;
    let uri = registry.register("flowers", &COLUMNS, CLASSIFIER).await;
    let loaded = load(&uri, &registry.store, &registry.artifacts).await.unwrap();
    assert_eq!(loaded.scorer.kind(), "onnx");
    let app = Served::new(vec![loaded]).router(Options::default());
    let reference: Value = serde_json::from_str(REFERENCE).unwrap();
    let rows = reference["rows"].clone();

    let split = json!({"dataframe_split": {"columns": COLUMNS, "data": rows}});
    let (status, answer) = post(&app, "/invocations", split).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let got = answer["predictions"].as_array().unwrap();
    let want = reference["probabilities"].as_array().unwrap();
    assert_eq!(got.len(), want.len());
    for (r, (got, want)) in got.iter().zip(want).enumerate() {
        let (got, want) = (got.as_array().unwrap(), want.as_array().unwrap());
        assert_eq!(got.len(), 3, "row {r}");
        for (g, w) in got.iter().zip(want) {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!((g - w).abs() <= 1e-5, "row {r}: {got:?} vs scikit-learn's {want:?}");
        }
    }

    // lathe's own route labels each row with the exported classes.
    let records: Vec<Value> = rows.as_array().unwrap()[..3]
        .iter()
        .map(|row| {
            let cells = row.as_array().unwrap();
            Value::Object(
                COLUMNS.iter().map(|c| c.to_string()).zip(cells.iter().cloned()).collect(),
            )
        })
        .collect();
    let (status, answer) = post(&app, "/v1/models/flowers/predict", json!(records)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    for r in 0..3 {
        let ps: Vec<f64> =
            want[r].as_array().unwrap().iter().map(|p| p.as_f64().unwrap()).collect();
        let best = (0..3).fold(0, |b, c| if ps[c] > ps[b] { c } else { b });
        assert_eq!(answer["predictions"][r], reference["classes"][best], "{answer}");
    }

    // A row of the wrong width is the client's mistake: 400, naming the row.
    let short = json!({"instances": [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]]});
    let (status, answer) = post(&app, "/invocations", short).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer.to_string().contains("row 0: 3 values, expected 4"), "{answer}");
    let missing = json!({"dataframe_split": {"columns": &COLUMNS[..3], "data": [[1.0, 2.0, 3.0]]}});
    let (status, answer) = post(&app, "/invocations", missing).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer.to_string().contains("missing column 'petal width'"), "{answer}");
}

#[tokio::test]
async fn an_onnx_model_lathe_cannot_serve_is_refused_at_load_naming_it() {
    let registry = Registry::new().await;

    let uri = registry.register("garbage", &COLUMNS, b"not a model at all").await;
    let err = registry.load_error(&uri).await;
    assert!(err.contains("cannot load models:/garbage/1"), "{err}");
    assert!(err.contains("model.onnx: not an ONNX model"), "{err}");

    let two = include_bytes!("../test_data/onnx/two_inputs.onnx");
    let uri = registry.register("two", &["x", "y"], two).await;
    let err = registry.load_error(&uri).await;
    assert!(err.contains("cannot load models:/two/1"), "{err}");
    assert!(err.contains("a: float[?, 2], b: int64[?]"), "{err}");

    let zipmap = include_bytes!("../test_data/onnx/zipmap.onnx");
    let uri = registry.register("zipped", &COLUMNS, zipmap).await;
    let err = registry.load_error(&uri).await;
    assert!(err.contains("\"zipmap\": False"), "{err}");

    // Weights kept beside the model (ONNX's external data) are read from the
    // model's directory; without them the load names the missing file.
    let regressor = include_bytes!("../test_data/onnx/regressor.onnx");
    let weights = include_bytes!("../test_data/onnx/regressor.weights");
    let uri = registry.register("external", &["x", "y", "z"], regressor).await;
    let err = registry.load_error(&uri).await;
    assert!(err.contains("cannot load models:/external/1"), "{err}");
    assert!(err.contains("regressor.weights"), "{err}");
    let beside = [("regressor.weights", &weights[..])];
    let uri = registry.register_with("external", &["x", "y", "z"], regressor, &beside).await;
    let loaded = load(&uri, &registry.store, &registry.artifacts).await.unwrap();
    assert!(loaded.scorer.classes().is_empty());

    // The signature feeds the input tensor column by column: its width must match.
    let uri = registry.register("narrow", &COLUMNS[..3], CLASSIFIER).await;
    let err = registry.load_error(&uri).await;
    assert!(err.contains("signature has 3 columns but the graph's input takes 4"), "{err}");
}
