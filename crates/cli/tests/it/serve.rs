//! `lathe serve` end to end: the quickstart's registered model, served by
//! alias from the real binary, answers a real row over HTTP.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use super::harness::lathe;

/// The child, killed on drop (also when an assertion fails).
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One request with `Connection: close`; status, the whole head, and the body.
fn request(addr: SocketAddr, path: &str, body: &str) -> std::io::Result<(u16, String, String)> {
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
fn first_row() -> String {
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
        .args(["quickstart", "--no-serve", "--dir"])
        .arg(dir.path())
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = lathe()
        .args(["serve", "models:/breast-cancer@champion", "--port", &port.to_string()])
        .arg("--tracking-uri")
        .arg(format!("sqlite:///{}", dir.path().join("lathe.db").display()))
        .arg("--artifacts-destination")
        .arg(dir.path().join("artifacts"))
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
}
