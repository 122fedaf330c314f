//! ONNX models from Python, served by the real binary without Python:
//! scikit-learn models exported by skl2onnx and logged with the stock
//! mlflow client to `lathe server`, then `lathe serve models:/NAME/1`
//! answers `/invocations` with scikit-learn's own predictions (within 1e-5).

use std::process::Command;

use serde_json::{json, Value};

use super::{
    harness::{python, Server},
    serve::{request, start_serving_model},
};

#[test]
fn scikit_learn_models_exported_to_onnx_are_served_with_scikit_learns_answers() {
    let Some(python) = python() else {
        eprintln!("skipping: no Python with mlflow (set LATHE_TEST_PYTHON or run .ci/run once)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:///{}", dir.path().join("lathe.db").display());
    let server = Server::start(&db, &dir.path().join("artifacts"));
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let answers = dir.path().join("sklearn.json");
    let out = Command::new(python)
        .arg(manifest.join("tests/client/onnx_sklearn.py"))
        .arg(manifest.join("data/breast_cancer_wisconsin.csv"))
        .arg(&answers)
        .env("MLFLOW_TRACKING_URI", server.url())
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    if let Some(why) = stdout.lines().find_map(|l| l.strip_prefix("skip: ")) {
        eprintln!(
            "skipping: the test venv lacks skl2onnx or onnxruntime ({why}); .ci/run installs them"
        );
        return;
    }
    drop(server);
    let answers: Value = serde_json::from_str(&std::fs::read_to_string(answers).unwrap()).unwrap();

    for name in ["cancer-onnx", "diabetes-onnx"] {
        let model = &answers[name];
        let (_serving, addr) = start_serving_model(dir.path(), &format!("models:/{name}/1"), &[]);
        let body = json!({"dataframe_split": {"columns": model["columns"], "data": model["rows"]}});
        let (status, _, body) = request(addr, "/invocations", &body.to_string()).unwrap();
        assert_eq!(status, 200, "{name}: {body}");
        let got: Value = serde_json::from_str(&body).unwrap();
        let got = got["predictions"].as_array().unwrap();
        let want = model["want"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{name}");
        for (r, (g, w)) in got.iter().zip(want).enumerate() {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!((g - w).abs() <= 1e-5, "{name} row {r}: lathe {g}, scikit-learn {w}");
        }
        let (status, _, models) = request(addr, "/v1/models", "").unwrap();
        assert_eq!(status, 200);
        assert!(models.contains("\"onnx\""), "{name}: {models}");
    }
}
