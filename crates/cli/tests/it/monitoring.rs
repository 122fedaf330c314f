//! Production monitoring end to end, through the real binaries on
//! 127.0.0.1: a model trained here and registered in a SQLite store, its
//! reference profile stored by `lathe monitor reference`, served by
//! `lathe serve`; 2,000 requests from the training distribution and 2,000
//! with three shifted columns, labels for all of them through
//! `POST /feedback`; then `lathe server --config` computes the windows:
//! no drift and good performance first, drift on exactly the three shifted
//! columns and worse performance after, one alert delivered to a webhook
//! receiver this test runs, and `lathe monitor status|alerts|report` show it.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener},
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use lathe_core::SplitMix64;
use lathe_store::{ArtifactStore, CreateModelVersion, CreateRun, LocalArtifactStore, Store};
use lathe_train::{Dataset, Learner, LogisticRegression, MlmodelInfo, NoopRecorder};
use serde_json::Value;

use super::harness::{free_port, http, lathe, wait_for, Killed};

const FEATURES: [&str; 5] = ["f0", "f1", "f2", "f3", "f4"];
const SHIFTED: [&str; 3] = ["f0", "f2", "f4"];

struct Gen(SplitMix64);

impl Gen {
    fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-300), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    /// A row and its true label; in the shifted stream three columns move by
    /// 1.5 standard deviations and half the labels no longer follow the model.
    fn row(&mut self, shifted: bool) -> (Vec<f64>, bool) {
        let row: Vec<f64> = FEATURES
            .iter()
            .map(|f| self.normal() + if shifted && SHIFTED.contains(f) { 1.5 } else { 0.0 })
            .collect();
        let p = 1.0 / (1.0 + (-2.0 * (row[0] + row[1])).exp());
        let flip = shifted && self.unit() < 0.5;
        (row, (self.unit() < p) != flip)
    }
}

/// A webhook receiver: answers 200 to every request and keeps the bodies.
fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then as many body bytes as Content-Length says.
            let body = loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break Some(body[..len].to_string());
                    }
                }
            };
            if let Some(body) = body.and_then(|b| serde_json::from_str(&b).ok()) {
                keep.lock().unwrap().push(body);
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (url, got)
}

/// Trains and registers `churn` v1 (alias `champion`) in the store at `dir`.
async fn register(dir: &Path, train_csv: &str) {
    let store: Arc<dyn Store> = Arc::new(
        lathe_store_sqlite::open(&dir.join("lathe.db"), "mlflow-artifacts:/").await.unwrap(),
    );
    let artifacts = LocalArtifactStore::open(dir.join("artifacts")).unwrap();
    let exp = store.create_experiment("monitoring", None, &[]).await.unwrap();
    let run = store
        .create_run(CreateRun { experiment_id: exp, user_id: "t".into(), ..CreateRun::default() })
        .await
        .unwrap();
    let prefix = run.info.artifact_uri.strip_prefix("mlflow-artifacts:/").unwrap();
    let prefix = prefix.trim_matches('/').to_string();
    let data = Dataset::from_csv(train_csv.as_bytes(), "y", "yes").unwrap();
    let model = LogisticRegression::default().fit(&data, &mut NoopRecorder).unwrap();
    let info = MlmodelInfo {
        artifact_path: "model",
        run_id: &run.info.run_id,
        model_uuid: "0123",
        utc_time_created: "2026-01-02 03:04:05.000000",
        lathe_version: "0.1.0",
    };
    for (file, text) in
        [("model.json", model.to_json().unwrap()), ("MLmodel", model.mlmodel(&info))]
    {
        let body: lathe_store::artifacts::ByteStream =
            Box::pin(std::io::Cursor::new(text.into_bytes()));
        artifacts.put(&format!("{prefix}/model/{file}"), body).await.unwrap();
    }
    store.create_registered_model("churn", &[], None).await.unwrap();
    store
        .create_model_version(CreateModelVersion {
            name: "churn".into(),
            source: format!("runs:/{}/model", run.info.run_id),
            run_id: Some(run.info.run_id.clone()),
            ..CreateModelVersion::default()
        })
        .await
        .unwrap();
    store.set_registered_model_alias("churn", "champion", 1).await.unwrap();
}

fn run_lathe(args: &[&str]) -> String {
    let out = lathe().args(args).env_remove("MLFLOW_TRACKING_URI").output().unwrap();
    assert!(out.status.success(), "lathe {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Sends `n` single-row predictions and labels them all; returns nothing, panics on any failure.
fn traffic(addr: SocketAddr, gen: &mut Gen, n: usize, shifted: bool) {
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let (row, label) = gen.row(shifted);
        let record: serde_json::Map<String, Value> =
            FEATURES.iter().zip(&row).map(|(f, v)| (f.to_string(), serde_json::json!(v))).collect();
        let body = Value::Array(vec![Value::Object(record)]).to_string();
        let (status, text) = http(addr, "POST", "/v1/models/churn/predict", &body).unwrap();
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        let id = answer["prediction_id"].as_str().unwrap().to_string();
        labels.push(
            serde_json::json!({ "prediction_id": id, "label": if label { "yes" } else { "no" } }),
        );
    }
    for batch in labels.chunks(500) {
        let (status, text) =
            http(addr, "POST", "/feedback", &Value::from(batch.to_vec()).to_string()).unwrap();
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["stored"].as_u64(), Some(batch.len() as u64), "{answer}");
    }
}

#[test]
fn served_predictions_drift_on_the_shifted_columns_and_alert_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let uri = format!("sqlite:///{}", d.join("lathe.db").display());
    let artifacts = d.join("artifacts");
    let artifacts_arg = artifacts.to_str().unwrap();

    // Training data, a model, and its reference profile from the features.
    let mut gen = Gen(SplitMix64::new(2026));
    let (mut train, mut reference) =
        (String::from("f0,f1,f2,f3,f4,y\n"), String::from("f0,f1,f2,f3,f4\n"));
    for _ in 0..3_000 {
        let (row, label) = gen.row(false);
        let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        reference.push_str(&format!("{}\n", cells.join(",")));
        train.push_str(&format!("{},{}\n", cells.join(","), if label { "yes" } else { "no" }));
    }
    std::fs::write(d.join("reference.csv"), &reference).unwrap();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(register(d, &train));
    run_lathe(&[
        "monitor",
        "reference",
        "--data",
        d.join("reference.csv").to_str().unwrap(),
        "--model",
        "models:/churn@champion",
        "--tracking-uri",
        &uri,
        "--artifacts-destination",
        artifacts_arg,
    ]);

    // Serve it and send both streams, with labels.
    let port = free_port();
    let mut serve = Killed(
        lathe()
            .args(["serve", "models:/churn@champion", "--port", &port.to_string()])
            .args(["--tracking-uri", &uri, "--artifacts-destination", artifacts_arg])
            .env("LATHE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let serve_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for(serve_addr, "/ready", &mut serve.0);
    traffic(serve_addr, &mut gen, 2_000, false);
    traffic(serve_addr, &mut gen, 2_000, true);
    let (_, metrics) = http(serve_addr, "GET", "/metrics", "").unwrap();
    assert!(metrics.contains("lathe_serve_prediction_log_written_total 4000\n"), "{metrics}");
    assert!(metrics.contains("lathe_serve_prediction_log_dropped_total{reason=\"queue_full\"} 0\n"));

    // The control plane computes the windows and alerts.
    let (hook, got) = receiver();
    let config = d.join("lathe.toml");
    std::fs::write(
        &config,
        format!(
            "[monitoring]\nwindow = \"500\"\nmin_rows = 100\ninterval_seconds = 1\n\n\
             [[alerts]]\nrule = \"dataset_drift\"\nmodel = \"churn\"\n\n\
             [webhooks]\nurls = [\"{hook}\"]\nallowed_hosts = [\"127.0.0.1\"]\n"
        ),
    )
    .unwrap();
    let server_port = free_port();
    let mut server = Killed(
        lathe()
            .args(["server", "--backend-store-uri", &uri, "--port", &server_port.to_string()])
            .args(["--artifacts-destination", artifacts_arg])
            .arg("--config")
            .arg(&config)
            .env("LATHE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let server_addr: SocketAddr = format!("127.0.0.1:{server_port}").parse().unwrap();
    wait_for(server_addr, "/health", &mut server.0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no alert reached the webhook within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A few more passes: the episode must not fire again.
    std::thread::sleep(Duration::from_millis(2_500));
    let bodies = got.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(
        (bodies[0]["event"].as_str(), bodies[0]["rule"].as_str()),
        (Some("fired"), Some("dataset_drift"))
    );

    let status = run_lathe(&[
        "monitor",
        "status",
        "--model",
        "churn@champion",
        "--tracking-uri",
        &uri,
        "--artifacts-destination",
        artifacts_arg,
    ]);
    let lines: Vec<&str> = status.lines().collect();
    assert!(lines[0].starts_with("version"), "{status}");
    let windows: Vec<Vec<&str>> =
        lines[1..9].iter().map(|l| l.split_whitespace().collect()).collect();
    let f1 = |w: &Vec<&str>| w[w.len() - 2].parse::<f64>().unwrap();
    for w in &windows[..4] {
        // version window date time rows labeled status dataset share prediction columns acc f1 auc
        assert_eq!(
            (w[4], w[5], w[6], w[7], w[9], w[10]),
            ("500", "500", "ok", "ok", "ok", "-"),
            "{status}"
        );
        assert!(f1(w) > 0.7, "{status}");
    }
    for w in &windows[4..] {
        assert_eq!((w[7], w[9], w[10]), ("DRIFT", "DRIFT", "f0,f2,f4"), "{status}");
        assert!(f1(w) < f1(&windows[0]) - 0.1, "{status}");
    }
    assert!(status.contains("FIRING since") && status.contains("dataset_drift"), "{status}");
    let alerts = run_lathe(&["monitor", "alerts", "--model", "churn", "--tracking-uri", &uri]);
    assert!(
        alerts.contains("dataset_drift") && alerts.contains("firing") && alerts.contains("1/1"),
        "{alerts}"
    );

    let (status, served) = http(server_addr, "GET", "/monitoring/report?model=churn", "").unwrap();
    assert_eq!(status, 200);
    assert!(served.contains("Monitoring: churn") && served.contains("v1 #7"), "{served:.300}");
    assert_eq!(http(server_addr, "GET", "/monitoring/report", "").unwrap().0, 400);

    let report = d.join("report.html");
    run_lathe(&[
        "monitor",
        "report",
        "--model",
        "churn",
        "--tracking-uri",
        &uri,
        "--artifacts-destination",
        artifacts_arg,
        "--out",
        report.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("<svg")
            && html.contains("Drift share per window")
            && html.contains("dataset_drift")
    );
    for external in ["<script", "src=", "href=\"http", "url("] {
        assert!(!html.contains(external), "self-contained: {external}");
    }
    if let Ok(keep) = std::env::var("LATHE_KEEP_REPORT") {
        std::fs::copy(&report, keep).unwrap();
    }
}
