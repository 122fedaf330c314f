//! Ingest rate of the prediction log into SQLite: how many logged
//! predictions per second the batch writer sustains, and whether any are
//! dropped. Pushes `ROWS` records (a 30-feature input and an output, the
//! size `lathe serve` logs for the quickstart model) through the real
//! `PredictionLog` into a real SQLite store in a temporary directory and
//! reports written rows/s once every row is written or dropped.
//!
//! Without `RATE` the records arrive in one burst (with `CAPACITY` ≥ `ROWS`
//! nothing can drop, so this is the writer's throughput); with `RATE` they
//! arrive at that many per second, spread over 1 ms ticks, as requests
//! would, and the drops say whether the writer keeps up.
//!
//! `cargo run --release -p lathe-serve --example predlog_ingest -- [ROWS] [CAPACITY] [RATE]`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::{sync::Arc, time::Instant};

use lathe_serve::{LogOptions, PredictionLog};
use lathe_store::Store;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args.next().map_or(200_000, |a| a.parse().expect("ROWS"));
    let capacity: usize = args.next().map_or(65_536, |a| a.parse().expect("CAPACITY"));
    let rate: Option<u64> = args.next().map(|a| a.parse().expect("RATE"));
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(1));
    let per_tick = rate.map_or(u64::MAX, |r| (r / 1_000).max(1));
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        lathe_store_sqlite::open(&dir.path().join("lathe.db"), "mlflow-artifacts:/").await.unwrap(),
    );
    let (log, writer) =
        PredictionLog::spawn(Arc::clone(&store), LogOptions { capacity, ..LogOptions::default() });
    let inputs = serde_json::Value::Object(
        (0..30)
            .map(|i| (format!("feature_{i:02}"), serde_json::json!(i as f64 * 1.2345678)))
            .collect(),
    )
    .to_string();
    let outputs = r#"{"prediction":"malignant","positive_class":"malignant","probability":0.93,"probabilities":{"benign":0.07,"malignant":0.93}}"#;
    let start = Instant::now();
    for i in 0..rows {
        log.record_for_bench(lathe_store::PredictionRecord {
            prediction_id: format!("p{i:012}"),
            model_name: "breast-cancer".into(),
            model_version: 1,
            timestamp: i as i64,
            inputs: inputs.clone(),
            outputs: outputs.to_string(),
            latency_us: 80,
        });
        if rate.is_some() && i % per_tick == 0 {
            ticks.tick().await;
        } else if i % 256 == 0 {
            // A burst still lets the writer run between requests.
            tokio::task::yield_now().await;
        }
    }
    let pushed = start.elapsed();
    log.flush().await;
    let written_at = start.elapsed();
    writer.shutdown().await;
    let logged = store.prediction_log_summary(Some("breast-cancer")).await.unwrap();
    let in_store = logged.first().map_or(0, |s| s.rows);
    println!(
        "rows {rows}  capacity {capacity}  offered {}  pushed in {:.3} s  all written in {:.3} s  \
         ingest {:.0} rows/s  written {}  dropped {}  in store {in_store}  db {:.1} MB",
        rate.map_or_else(|| "burst".to_string(), |r| format!("{r}/s")),
        pushed.as_secs_f64(),
        written_at.as_secs_f64(),
        log.written() as f64 / written_at.as_secs_f64(),
        log.written(),
        log.dropped(),
        std::fs::metadata(dir.path().join("lathe.db")).map_or(0.0, |m| m.len() as f64 / 1e6),
    );
}
