//! `lathe serve` end to end: the quickstart's registered model, served by
//! alias from the real binary, answers a real row over HTTP.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::Path,
    process::{Child, Stdio},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use super::harness::{http, lathe};

/// The child, killed on drop (also when an assertion fails).
pub(crate) struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One request with `Connection: close`; status, the whole head, and the body.
pub(crate) fn request(
    addr: SocketAddr,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let method = if body.is_empty() { "GET" } else { "POST" };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, head.to_ascii_lowercase(), body.to_string()))
}

/// The first row of the quickstart's data as a `dataframe_split` body (label dropped).
pub(crate) fn first_row() -> String {
    let csv = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/breast_cancer_wisconsin.csv"),
    )
    .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let label = header.iter().position(|c| *c == "diagnosis").unwrap();
    let columns: Vec<&str> =
        header.iter().enumerate().filter(|(i, _)| *i != label).map(|(_, c)| *c).collect();
    let values: Vec<f64> = row
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != label)
        .map(|(_, v)| v.parse().unwrap())
        .collect();
    serde_json::json!({ "dataframe_split": { "columns": columns, "data": [values] } }).to_string()
}

#[test]
fn serve_answers_for_the_quickstart_champion() {
    let dir = tempfile::tempdir().unwrap();
    let out = lathe()
        .args(["quickstart", "--example", "breast-cancer", "--no-serve", "--dir"])
        .arg(dir.path())
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let limits = [
        "--max-concurrency",
        "2",
        "--max-queue",
        "8",
        "--request-timeout-ms",
        "5000",
        "--max-batch-size",
        "16",
        "--max-batch-wait-us",
        "100",
    ];
    let (_serving, addr) = start_serving(dir.path(), &limits);

    let body = first_row();
    let (status, head, text) = request(addr, "/invocations", &body).unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(head.contains("x-prediction-id: "), "{head}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    let p = answer["predictions"][0].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p), "{text}");

    let (status, head, text) = request(addr, "/v1/models/breast-cancer/predict", &body).unwrap();
    assert_eq!(status, 200, "{text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    let id = answer["prediction_id"].as_str().unwrap();
    assert!(head.contains(&format!("x-prediction-id: {id}")), "{head}");
    assert_eq!(answer["probabilities"][0].as_f64(), Some(p));

    let (status, _, metrics) = request(addr, "/metrics", "").unwrap();
    assert_eq!(status, 200);
    let requests = metrics
        .lines()
        .find(|l| l.starts_with("lathe_serve_requests_total{model=\"breast-cancer\",version="))
        .unwrap_or_else(|| panic!("no request counter in\n{metrics}"));
    assert!(requests.ends_with("} 2"), "{requests}");
    // Two one-row requests, one after the other: two scorer calls of one row.
    let batches = metrics
        .lines()
        .find(|l| l.starts_with("lathe_serve_batch_size_rows_count{model=\"breast-cancer\""))
        .unwrap_or_else(|| panic!("no batch sizes in\n{metrics}"));
    assert!(batches.ends_with("} 2"), "{batches}");
    for line in [
        "lathe_serve_queue_depth 0",
        "lathe_serve_rejected_total{reason=\"overload\"} 0",
        "lathe_serve_rejected_total{reason=\"timeout\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} not in\n{metrics}");
    }
}

/// Runs `lathe ARGS...` to completion and returns its stdout; panics on failure.
fn run_lathe(args: &[&str]) -> String {
    let out = lathe().args(args).env_remove("MLFLOW_TRACKING_URI").output().unwrap();
    assert!(out.status.success(), "lathe {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Starts `lathe serve models:/breast-cancer@champion` on `dir`'s store with
/// `extra` flags and waits until it is ready.
fn start_serving(dir: &Path, extra: &[&str]) -> (Serving, SocketAddr) {
    start_serving_model(dir, "models:/breast-cancer@champion", extra)
}

/// Starts `lathe serve MODEL` on the store in `dir` (`lathe.db`,
/// `artifacts/`) with `extra` flags and waits until it is ready.
pub(crate) fn start_serving_model(
    dir: &Path,
    model: &str,
    extra: &[&str],
) -> (Serving, SocketAddr) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = lathe()
        .args(["serve", model, "--port", &port.to_string()])
        .arg("--tracking-uri")
        .arg(format!("sqlite:///{}", dir.join("lathe.db").display()))
        .arg("--artifacts-destination")
        .arg(dir.join("artifacts"))
        .args(extra)
        .env("LATHE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut serving = Serving(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(request(addr, "/ready", ""), Ok((200, _, _))) {
        if let Ok(Some(status)) = serving.0.try_wait() {
            panic!("lathe serve exited early: {status}");
        }
        assert!(Instant::now() < deadline, "lathe serve was not ready within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    (serving, addr)
}

/// The version that `models show` lists with `alias`.
fn version_with_alias(shown: &str, alias: &str) -> Option<i64> {
    shown.lines().find_map(|line| {
        let mut cells = line.split_whitespace();
        let version = cells.next()?.parse().ok()?;
        cells.any(|c| c == alias).then_some(version)
    })
}

/// What one request of the stream got: its status and the version that answered.
type Answer = Result<(u16, Option<i64>), String>;

#[test]
fn serve_swaps_the_champion_under_load_without_failing_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    for _ in 0..2 {
        run_lathe(&["quickstart", "--example", "breast-cancer", "--no-serve", "--dir", dir_arg]);
    }
    let uri = format!("sqlite:///{}", dir.path().join("lathe.db").display());
    let shown = run_lathe(&["models", "show", "breast-cancer", "--tracking-uri", &uri]);
    for v in 1..=4 {
        assert!(shown.lines().any(|l| l.starts_with(&format!("{v} "))), "no v{v} in\n{shown}");
    }
    // The second quickstart's logistic regression (v4) is the same model as
    // the first's (v2), so the champion/challenger gate kept v2.
    assert_eq!(version_with_alias(&shown, "champion"), Some(2), "{shown}");

    run_lathe(&["models", "alias", "breast-cancer", "champion", "2", "--tracking-uri", &uri]);
    let (serving, addr) = start_serving(dir.path(), &["--poll-interval", "1"]);
    let (status, _, listed) = request(addr, "/v1/models", "").unwrap();
    assert_eq!(status, 200, "{listed}");
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["models"][0]["version"], 2, "{listed}");

    // A steady, bounded stream: one request every 5 ms until 50 answers in a
    // row came from version 4, or 30 s have passed.
    let sent = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let stream = {
        let (sent, stop, body) = (Arc::clone(&sent), Arc::clone(&stop), first_row());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut answers: Vec<Answer> = Vec::new();
            let mut v4_in_a_row = 0;
            while v4_in_a_row < 50 && Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                let answer = match http(addr, "POST", "/v1/models/breast-cancer/predict", &body) {
                    Ok((status, text)) => {
                        let version = serde_json::from_str::<serde_json::Value>(&text)
                            .ok()
                            .and_then(|v| v["model"]["version"].as_i64());
                        Ok((status, version))
                    }
                    Err(e) => Err(e.to_string()),
                };
                v4_in_a_row =
                    if matches!(answer, Ok((200, Some(4)))) { v4_in_a_row + 1 } else { 0 };
                answers.push(answer);
                sent.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
            answers
        })
    };

    // Move the alias once the stream is flowing.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sent.load(Ordering::Relaxed) < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let moved = lathe()
        .args(["models", "alias", "breast-cancer", "champion", "4", "--tracking-uri", &uri])
        .env_remove("MLFLOW_TRACKING_URI")
        .output();
    if !matches!(&moved, Ok(out) if out.status.success()) {
        stop.store(true, Ordering::Relaxed);
    }
    let answers = stream.join().unwrap();
    let moved = moved.unwrap();
    assert!(moved.status.success(), "{}", String::from_utf8_lossy(&moved.stderr));

    let failed: Vec<_> = answers.iter().filter(|a| !matches!(a, Ok((200, Some(_))))).collect();
    assert!(failed.is_empty(), "{} of {} requests failed: {failed:?}", failed.len(), answers.len());
    let versions: Vec<i64> = answers.iter().filter_map(|a| a.as_ref().ok()?.1).collect();
    assert_eq!(versions.first(), Some(&2), "the stream did not start on version 2");
    assert!(versions.windows(2).all(|w| w[0] <= w[1]), "a version went back: {versions:?}");
    let tail = &versions[versions.len().saturating_sub(50)..];
    assert!(
        tail.len() == 50 && tail.iter().all(|v| *v == 4),
        "version 4 did not answer the last 50 requests within 30 s (of {}): {tail:?}",
        versions.len()
    );

    let (status, _, metrics) = request(addr, "/metrics", "").unwrap();
    assert_eq!(status, 200);
    assert!(metrics.lines().any(|l| l == "lathe_serve_swaps_total 1"), "{metrics}");
    drop(serving);
}
