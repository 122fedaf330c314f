//! Atomicity under SIGKILL: every acknowledged log-batch survives whole, no
//! batch survives in part, and SQLite's integrity check passes afterwards.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use serde_json::{json, Value};

use super::harness::{http, Server};

const POINTS_PER_BATCH: usize = 200;
const WRITERS: usize = 4;

#[test]
fn sigkill_mid_stream_loses_no_acknowledged_batch_and_splits_none() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("crash.db");
    let db = format!("sqlite:///{}", db_path.display());
    let artifacts = dir.path().join("artifacts");
    let mut server = Server::start(&db, &artifacts);
    let addr = server.addr;
    let (status, body) =
        http(addr, "POST", "/api/2.0/mlflow/runs/create", r#"{"experiment_id":"0"}"#).unwrap();
    assert_eq!(status, 200, "{body}");
    let run: Value = serde_json::from_str(&body).unwrap();
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();

    // Writers stream batches; batch b has POINTS_PER_BATCH points of "m" with value b and a param.
    let acked = Arc::new(Mutex::new(Vec::<usize>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (acked, stop, run_id) = (acked.clone(), stop.clone(), run_id.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    let b = i * WRITERS + w;
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let metrics: Vec<Value> = (0..POINTS_PER_BATCH)
                        .map(|j| json!({"key": "m", "value": b as f64, "timestamp": 1, "step": b * POINTS_PER_BATCH + j}))
                        .collect();
                    let body = json!({"run_id": run_id, "metrics": metrics,
                        "params": [{"key": format!("p{b}"), "value": "v"}]});
                    match http(addr, "POST", "/api/2.0/mlflow/runs/log-batch", &body.to_string()) {
                        Ok((200, _)) => acked.lock().unwrap().push(b),
                        _ => break,
                    }
                }
            })
        })
        .collect();
    while acked.lock().unwrap().len() < 40 {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.child.kill().unwrap(); // SIGKILL, while the writers are mid-request
    server.child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    let server = Server::start(&db, &artifacts);
    let path = format!("/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key=m");
    let (status, body) = http(server.addr, "GET", &path, "").unwrap();
    assert_eq!(status, 200, "{body}");
    let history: Value = serde_json::from_str(&body).unwrap();
    let mut per_batch: HashMap<usize, usize> = HashMap::new();
    for m in history["metrics"].as_array().cloned().unwrap_or_default() {
        *per_batch.entry(m["value"].as_f64().unwrap() as usize).or_default() += 1;
    }
    for b in &acked {
        assert_eq!(
            per_batch.get(b),
            Some(&POINTS_PER_BATCH),
            "acknowledged batch {b} is not whole"
        );
    }
    for (b, n) in &per_batch {
        assert_eq!(*n, POINTS_PER_BATCH, "batch {b} survived in part");
    }
    let (_, body) =
        http(server.addr, "GET", &format!("/api/2.0/mlflow/runs/get?run_id={run_id}"), "").unwrap();
    let run: Value = serde_json::from_str(&body).unwrap();
    let params: Vec<String> = run["run"]["data"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap().to_string())
        .collect();
    for b in per_batch.keys() {
        assert!(params.contains(&format!("p{b}")), "batch {b} has its metrics but not its param");
    }
    assert_eq!(params.len(), per_batch.len(), "a param survived without its metrics");
    eprintln!(
        "{} batches acknowledged before SIGKILL, {} stored whole",
        acked.len(),
        per_batch.len()
    );
    drop(server);

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let verdict = runtime.block_on(async {
        let store = lathe_store_sqlite::open(&db_path, "mlflow-artifacts:/").await.unwrap();
        lathe_store_sqlite::integrity_check(&store).await.unwrap()
    });
    assert_eq!(verdict, "ok");
}
