//! Window performance for every task, end to end: a regressor (diabetes)
//! and a multiclass classifier (penguins) trained and registered by
//! `lathe train`, served together by `lathe serve`, which logs every
//! prediction; the windows are cut before any label exists, then labels
//! arrive late (half through `POST /feedback`, the rest through
//! `POST /feedback` or `lathe monitor feedback`) and each pass rescores the
//! windows: their metrics must equal `lathe_eval`'s on the same rows,
//! computed here from the served answers and the tables' true values.

use std::{
    collections::{HashMap, HashSet},
    net::{SocketAddr, TcpListener},
    path::Path,
    process::{Child, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use lathe_server::monitoring::{self, WindowSettings, WindowSpec};
use lathe_store::{ArtifactStore, LocalArtifactStore, PredictionQuery, Store};
use serde_json::{json, Value};

use super::{
    harness::{http, lathe, Killed},
    train::table,
};

fn run_lathe(args: &[&str]) -> String {
    let out = lathe().args(args).env_remove("MLFLOW_TRACKING_URI").output().unwrap();
    assert!(out.status.success(), "lathe {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One served row: its id, the true value from the table, the answer.
struct Served {
    id: String,
    truth: String,
    prediction: Value,
    probabilities: Option<Value>,
}

/// Sends every complete row of `file` (without `target`) to `model`, one per request.
fn send(addr: SocketAddr, model: &str, file: &str, target: &str) -> Vec<Served> {
    let mut reader = csv::Reader::from_path(table(file)).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let mut served = Vec::new();
    for row in reader.records() {
        let row = row.unwrap();
        if row.iter().any(|c| c == "NA" || c.is_empty()) {
            continue;
        }
        let mut record = serde_json::Map::new();
        let mut truth = String::new();
        for (name, cell) in header.iter().zip(row.iter()) {
            if name == target {
                truth = cell.to_string();
            } else {
                let value = cell.parse::<f64>().map_or_else(|_| json!(cell), |v| json!(v));
                record.insert(name.clone(), value);
            }
        }
        let body = Value::Array(vec![Value::Object(record)]).to_string();
        let (status, text) =
            http(addr, "POST", &format!("/v1/models/{model}/predict"), &body).unwrap();
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        served.push(Served {
            id: answer["prediction_id"].as_str().unwrap().to_string(),
            truth,
            prediction: answer["predictions"][0].clone(),
            probabilities: answer.get("probabilities").map(|p| p[0].clone()),
        });
    }
    served
}

fn post_labels(addr: SocketAddr, labels: &[Value]) {
    let (status, text) =
        http(addr, "POST", "/feedback", &Value::from(labels.to_vec()).to_string()).unwrap();
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["stored"].as_u64(), Some(labels.len() as u64), "{answer}");
}

/// Cuts and rescores the windows of `model` v1; returns them all.
async fn windows(
    store: &dyn Store,
    artifacts: &dyn ArtifactStore,
    model: &str,
    n: i64,
) -> Vec<lathe_store::MonitoringWindow> {
    let settings =
        WindowSettings { spec: WindowSpec::Count(n), min_rows: 20, ..WindowSettings::default() };
    let now = lathe_core::now_millis();
    monitoring::update_version(store, artifacts, model, 1, &settings, now).await.unwrap();
    store.list_windows(model, Some(1)).await.unwrap()
}

/// The prediction ids of a window, in log order.
async fn ids_of(store: &dyn Store, model: &str, w: &lathe_store::MonitoringWindow) -> Vec<String> {
    let q = PredictionQuery {
        model_name: model.to_string(),
        model_version: 1,
        after_seq: w.first_seq - 1,
        limit: w.rows,
        ..PredictionQuery::default()
    };
    store.read_predictions(&q).await.unwrap().into_iter().map(|p| p.record.prediction_id).collect()
}

fn close(got: &Value, want: f64, what: &str) {
    let got = got.as_f64().unwrap_or_else(|| panic!("{what}: no value"));
    assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "{what}: {got} vs {want}");
}

/// Checks each window's regression metrics against `lathe_eval` on its labeled rows.
async fn check_regression(
    store: &dyn Store,
    ws: &[lathe_store::MonitoringWindow],
    served: &HashMap<&str, &Served>,
    labeled: &dyn Fn(&str) -> bool,
) {
    for w in ws {
        let ids = ids_of(store, "diab", w).await;
        let rows: Vec<&Served> =
            ids.iter().filter(|i| labeled(i)).map(|i| served[i.as_str()]).collect();
        let y: Vec<f64> = rows.iter().map(|s| s.truth.parse().unwrap()).collect();
        let p: Vec<f64> = rows.iter().map(|s| s.prediction.as_f64().unwrap()).collect();
        let want = lathe_eval::RegressionMetrics::compute(&y, &p).unwrap();
        let perf: Value = serde_json::from_str(&w.performance).unwrap();
        assert_eq!(perf["task"], "regression", "{perf}");
        assert_eq!(
            (w.labeled_rows, perf["labeled"].as_u64()),
            (y.len() as i64, Some(y.len() as u64))
        );
        close(&perf["mae"], want.mae, "mae");
        close(&perf["rmse"], want.rmse, "rmse");
        close(&perf["r2"], want.r2, "r2");
    }
}

/// Checks each window's multiclass metrics against `lathe_eval` on its labeled rows.
async fn check_multiclass(
    store: &dyn Store,
    ws: &[lathe_store::MonitoringWindow],
    served: &HashMap<&str, &Served>,
    classes: &[String],
    labeled: &dyn Fn(&str) -> bool,
) {
    for w in ws {
        let ids = ids_of(store, "peng", w).await;
        let rows: Vec<&Served> =
            ids.iter().filter(|i| labeled(i)).map(|i| served[i.as_str()]).collect();
        let y: Vec<usize> =
            rows.iter().map(|s| classes.iter().position(|c| *c == s.truth).unwrap()).collect();
        let p: Vec<f64> = rows
            .iter()
            .flat_map(|s| {
                let ps = s.probabilities.as_ref().unwrap().as_array().unwrap();
                ps.iter().map(|v| v.as_f64().unwrap()).collect::<Vec<_>>()
            })
            .collect();
        let want = lathe_eval::ClassificationMetrics::compute(&y, &p, classes).unwrap();
        let perf: Value = serde_json::from_str(&w.performance).unwrap();
        assert_eq!(perf["task"], "multiclass", "{perf}");
        assert_eq!(w.labeled_rows, y.len() as i64);
        close(&perf["accuracy"], want.accuracy, "accuracy");
        close(&perf["f1_macro"], want.f1.macro_avg, "f1_macro");
        close(&perf["log_loss"], want.log_loss, "log_loss");
    }
}

fn wait_ready(addr: SocketAddr, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(http(addr, "GET", "/ready", ""), Ok((200, _))) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("lathe serve exited early: {status}");
        }
        assert!(Instant::now() < deadline, "lathe serve did not answer within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn train(d: &Path, uri: &str, file: &str, target: &str, name: &str) {
    run_lathe(&[
        "train",
        "--data",
        table(file).to_str().unwrap(),
        "--target",
        target,
        "--experiment",
        name,
        "--register",
        name,
        "--tracking-uri",
        uri,
        "--artifacts-destination",
        d.join("artifacts").to_str().unwrap(),
    ]);
}

#[test]
fn regression_and_multiclass_windows_score_late_labels_like_lathe_eval() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let uri = format!("sqlite:///{}", d.join("lathe.db").display());
    let artifacts_dir = d.join("artifacts");
    train(d, &uri, "diabetes.csv", "progression", "diab");
    train(d, &uri, "penguins.csv", "species", "peng");

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut serve = Killed(
        lathe()
            .args(["serve", "models:/diab/1", "models:/peng/1", "--port", &port.to_string()])
            .args(["--tracking-uri", &uri, "--artifacts-destination"])
            .arg(&artifacts_dir)
            .env("LATHE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_ready(addr, &mut serve.0);
    let diab = send(addr, "diab", "diabetes.csv", "progression");
    let peng = send(addr, "peng", "penguins.csv", "species");
    assert_eq!((diab.len(), peng.len()), (442, 333));
    // A label of the wrong type is refused: a regressor's labels are numbers.
    let bad = [json!({ "prediction_id": diab[0].id, "label": "high" })];
    let (status, text) =
        http(addr, "POST", "/feedback", &Value::from(bad.to_vec()).to_string()).unwrap();
    assert_eq!(status, 400, "{text}");

    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let store: Arc<dyn Store> = runtime.block_on(async {
        Arc::new(lathe_store_sqlite::open(&d.join("lathe.db"), "mlflow-artifacts:/").await.unwrap())
    });
    let artifacts: Arc<dyn ArtifactStore> =
        Arc::new(LocalArtifactStore::open(&artifacts_dir).unwrap());
    let classes = runtime
        .block_on(lathe_serve::load("models:/peng/1", &store, &artifacts))
        .unwrap()
        .scorer
        .classes();
    assert_eq!(classes.len(), 3);
    let (st, ar) = (store.as_ref(), artifacts.as_ref());

    // Before any label: windows with drift verdicts (the prediction's too:
    // a value, a class) and no metrics.
    let diab_windows = runtime.block_on(windows(st, ar, "diab", 200));
    let peng_windows = runtime.block_on(windows(st, ar, "peng", 150));
    assert_eq!((diab_windows.len(), peng_windows.len()), (2, 2), "full windows only");
    for w in diab_windows.iter().chain(&peng_windows) {
        let drift: Value = serde_json::from_str(&w.drift).unwrap();
        assert!(drift["prediction"]["drift"].is_boolean(), "prediction drift: {drift}");
        assert_eq!(w.labeled_rows, 0);
    }
    let by_id: HashMap<&str, &Served> =
        diab.iter().chain(&peng).map(|s| (s.id.as_str(), s)).collect();
    let label = |s: &Served, number: bool| {
        let value = if number { json!(s.truth.parse::<f64>().unwrap()) } else { json!(s.truth) };
        json!({ "prediction_id": s.id, "label": value })
    };

    // Late labels for every other row: each window is rescored on those.
    let even: Vec<Value> = diab.iter().step_by(2).map(|s| label(s, true)).collect();
    post_labels(addr, &even);
    let even: Vec<Value> = peng.iter().step_by(2).map(|s| label(s, false)).collect();
    post_labels(addr, &even);
    let evens: HashSet<&str> =
        diab.iter().step_by(2).chain(peng.iter().step_by(2)).map(|s| s.id.as_str()).collect();
    let labeled = |id: &str| evens.contains(id);
    let ws = runtime.block_on(windows(st, ar, "diab", 200));
    runtime.block_on(check_regression(st, &ws, &by_id, &labeled));
    assert_eq!(ws[0].drift, diab_windows[0].drift, "drift is not recomputed");
    let ws = runtime.block_on(windows(st, ar, "peng", 150));
    runtime.block_on(check_multiclass(st, &ws, &by_id, &classes, &labeled));

    // The rest: the regressor's through `lathe monitor feedback`, numbers in a CSV.
    let mut csv = String::from("prediction_id,label\n");
    for s in diab.iter().skip(1).step_by(2) {
        csv.push_str(&format!("{},{}\n", s.id, s.truth));
    }
    std::fs::write(d.join("labels.csv"), csv).unwrap();
    let out = run_lathe(&[
        "monitor",
        "feedback",
        "--file",
        d.join("labels.csv").to_str().unwrap(),
        "--model",
        "diab",
        "--tracking-uri",
        &uri,
        "--artifacts-destination",
        artifacts_dir.to_str().unwrap(),
    ]);
    assert!(out.contains("221"), "{out}");
    let odd: Vec<Value> = peng.iter().skip(1).step_by(2).map(|s| label(s, false)).collect();
    post_labels(addr, &odd);
    let all = |_: &str| true;
    let ws = runtime.block_on(windows(st, ar, "diab", 200));
    runtime.block_on(check_regression(st, &ws, &by_id, &all));
    assert!(ws.iter().all(|w| w.labeled_rows == 200));
    let ws = runtime.block_on(windows(st, ar, "peng", 150));
    runtime.block_on(check_multiclass(st, &ws, &by_id, &classes, &all));
    assert!(ws.iter().all(|w| w.labeled_rows == 150));
}
