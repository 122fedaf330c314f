//! Retrain on drift in `lathe server`'s job runner: a `lathe.toml` project
//! (breast cancer tumours with a mean radius under 15) is run and its
//! champion served by `lathe serve`; the larger tumours arrive in production
//! with their true labels; `lathe server --config lathe.toml` cuts the
//! windows, the drift alert fires, and its `trigger = "retrain"` reruns the
//! pipeline on the data plus the labelled production rows, ending in a
//! recorded gate decision on a new version.

use std::{
    net::SocketAddr,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use lathe_core::Run;
use lathe_store::{SearchQuery, SearchRuns, Store};
use serde_json::{json, Map, Value};

use super::harness::{free_port, http, lathe, shared, wait_for, Killed};

const TOML: &str = r#"
[project]
name = "cancer"

[data.cancer]
path = "cancer.csv"
target = "diagnosis"

[steps.split]
kind = "split"
data = "cancer"
strategy = "hash"

[steps.gbm]
kind = "train"
needs = ["split"]
learner = "gbm"
params = { num_iterations = 30, num_leaves = 7 }

[steps.evaluate]
kind = "evaluate"
needs = ["gbm"]
metric = "roc_auc"

[steps.register]
kind = "register"
needs = ["evaluate"]
model = "cancer"

[steps.promote]
kind = "promote"
needs = ["register"]
metric = "log_loss"

[monitoring]
window = "50"
min_rows = 30
interval_seconds = 1

[[alerts]]
rule = "feature_drift(mean_radius)"
model = "cancer"
trigger = "retrain"
"#;

/// The project's data (small tumours) and the production rows (the rest).
fn split_table(dir: &Path) -> Vec<(Map<String, Value>, String)> {
    let text = std::fs::read_to_string(shared().join("data/breast_cancer_wisconsin.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (radius, target) = (
        header.iter().position(|h| *h == "mean_radius").unwrap(),
        header.iter().position(|h| *h == "diagnosis").unwrap(),
    );
    let mut data = format!("{}\n", header.join(","));
    let mut production = Vec::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        if cells[radius].parse::<f64>().unwrap() < 15.0 {
            data.push_str(line);
            data.push('\n');
            continue;
        }
        let mut row = Map::new();
        for (i, name) in header.iter().enumerate() {
            if i != target {
                row.insert(name.to_string(), json!(cells[i].parse::<f64>().unwrap()));
            }
        }
        production.push((row, cells[target].to_string()));
    }
    std::fs::write(dir.join("cancer.csv"), data).unwrap();
    production
}

async fn retrains(db: &Path) -> Vec<Run> {
    let store = lathe_store_sqlite::open(db, "mlflow-artifacts:/").await.unwrap();
    let Ok(exp) = store.get_experiment_by_name("cancer").await else { return Vec::new() };
    let search = SearchRuns {
        experiment_ids: vec![exp.experiment_id],
        query: SearchQuery {
            filter: "tags.lathe.trigger = 'alert'".into(),
            ..SearchQuery::default()
        },
    };
    store.search_runs(&search).await.unwrap().items
}

async fn version_tags(db: &Path, version: i64) -> Vec<(String, String)> {
    let store = lathe_store_sqlite::open(db, "mlflow-artifacts:/").await.unwrap();
    let v = store.get_model_version("cancer", version).await.unwrap();
    v.tags.into_iter().map(|t| (t.key, t.value)).collect()
}

#[test]
fn a_drift_alert_in_lathe_server_retrains_and_gates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let production = split_table(d);
    std::fs::write(d.join("lathe.toml"), TOML).unwrap();
    let db = d.join("lathe.db");
    let uri = format!("sqlite:///{}", db.display());
    let artifacts = d.join("artifacts");
    let artifacts_arg = artifacts.to_str().unwrap();
    let out = lathe()
        .args(["run", "--tracking-uri", &uri, "--artifacts-destination", artifacts_arg])
        .current_dir(d)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Serve the champion; the large tumours arrive, then their labels.
    let port = free_port();
    let mut serve = Killed(
        lathe()
            .args(["serve", "models:/cancer@champion", "--port", &port.to_string()])
            .args(["--tracking-uri", &uri, "--artifacts-destination", artifacts_arg])
            .env("LATHE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let serve_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for(serve_addr, "/ready", &mut serve.0);
    let mut labels = Vec::new();
    for (row, label) in &production {
        let body = json!([row]).to_string();
        let (status, text) = http(serve_addr, "POST", "/v1/models/cancer/predict", &body).unwrap();
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        labels.push(json!({ "prediction_id": answer["prediction_id"], "label": label }));
    }
    // Labels join logged predictions: the log writer flushes within a moment.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, metrics) = http(serve_addr, "GET", "/metrics", "").unwrap();
        if metrics
            .contains(&format!("lathe_serve_prediction_log_written_total {}\n", production.len()))
        {
            break;
        }
        assert!(Instant::now() < deadline, "the prediction log was not written: {metrics}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, text) =
        http(serve_addr, "POST", "/feedback", &Value::from(labels).to_string()).unwrap();
    assert_eq!(status, 200, "{text}");

    // The control plane: windows, the alert, the retrain it triggers.
    let server_port = free_port();
    let mut server = Killed(
        lathe()
            .args(["server", "--backend-store-uri", &uri, "--port", &server_port.to_string()])
            .args(["--artifacts-destination", artifacts_arg])
            .arg("--config")
            .arg(d.join("lathe.toml"))
            .env("LATHE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let server_addr: SocketAddr = format!("127.0.0.1:{server_port}").parse().unwrap();
    wait_for(server_addr, "/health", &mut server.0);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    let retrain = loop {
        let runs = runtime.block_on(retrains(&db));
        if let Some(done) = runs.into_iter().find(|r| r.info.status.as_str() == "FINISHED") {
            break done;
        }
        assert!(Instant::now() < deadline, "no finished retrain within 180 s");
        std::thread::sleep(Duration::from_millis(500));
    };
    let tag = |key: &str| retrain.tags.iter().find(|t| t.key == key).map(|t| t.value.clone());
    assert_eq!(tag("lathe.trigger.rule").as_deref(), Some("feature_drift(mean_radius)"));
    assert_eq!(tag("lathe.trigger.production_rows"), Some(production.len().to_string()));
    assert!(tag("lathe.pipeline.step.promote").unwrap().starts_with("ran "));
    // The gate decided on the retrained version, whichever way, and said why.
    let tags = runtime.block_on(version_tags(&db, 2));
    let decision = tags.iter().find(|(k, _)| k == "lathe.gate.decision").map(|(_, v)| v.as_str());
    assert!(matches!(decision, Some("promoted" | "refused")), "{tags:?}");
    assert!(
        tags.iter().any(|(k, v)| k == "lathe.gate.reason" && v.contains("log_loss")),
        "{tags:?}"
    );
    // The retrain's data lies beside lathe.toml, never over the user's file.
    assert!(d.join(".lathe/retrain").is_dir());
    drop(server);
    drop(serve);
}
