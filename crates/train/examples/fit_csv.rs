//! Benchmark driver: fits lathe's `Gbm` on a numeric CSV and scores a test
//! CSV, printing one JSON line of timings and the test ROC AUC.
//!
//! ```sh
//! cargo run --release -p lathe-train --example fit_csv -- TRAIN.csv TEST.csv TARGET [key=value ...]
//! ```
//!
//! Both files hold numbers only (empty cells are missing), the binary
//! target as 0/1. `bench/train/run.sh` runs it beside LightGBM and XGBoost.

use std::io::Write;
use std::time::Instant;

use lathe_core::{FeatureMatrix, Target, TaskKind};
use lathe_train::{Gbm, NoopRecorder, TabularLearner};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

fn read(path: &str, target: &str) -> BoxResult<(FeatureMatrix, Target)> {
    let mut reader = csv::Reader::from_path(path)?;
    let header: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
    let t = header
        .iter()
        .position(|h| h == target)
        .ok_or_else(|| format!("{path}: no column '{target}'"))?;
    let names: Vec<String> = header.iter().filter(|h| *h != target).cloned().collect();
    let (mut values, mut y) = (Vec::new(), Vec::new());
    let mut record = csv::StringRecord::new();
    let mut line = 1;
    while reader.read_record(&mut record)? {
        line += 1;
        for (i, cell) in record.iter().enumerate() {
            let v = if cell.is_empty() {
                f64::NAN
            } else {
                cell.parse().map_err(|_| format!("{path} line {line}: '{cell}' is not a number"))?
            };
            if i == t {
                y.push(v);
            } else {
                values.push(v);
            }
        }
    }
    let classes = vec!["0".to_string(), "1".to_string()];
    let target = Target { name: target.into(), kind: TaskKind::Binary, values: y, classes };
    Ok((FeatureMatrix::new(names, values)?, target))
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kb.map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> BoxResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [train_path, test_path, target, params @ ..] = args.as_slice() else {
        return Err("usage: fit_csv TRAIN.csv TEST.csv TARGET [key=value ...]".into());
    };
    let started = Instant::now();
    let (x, y) = read(train_path, target)?;
    let (tx, ty) = read(test_path, target)?;
    let read_s = started.elapsed().as_secs_f64();

    let mut gbm = Gbm::default();
    for p in params {
        let (k, v) =
            p.split_once('=').ok_or_else(|| format!("parameter '{p}': expected key=value"))?;
        gbm.set(k, v)?;
    }
    let t = Instant::now();
    let model = gbm.fit(&x, &y, None, &mut NoopRecorder)?;
    let fit_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let predictions = model.predict(&tx)?;
    let predict_s = t.elapsed().as_secs_f64();
    let scores: Vec<f64> = (0..predictions.rows()).map(|i| predictions.row(i)[1]).collect();
    let truth: Vec<u8> = ty.values.iter().map(|&v| v as u8).collect();
    let auc = lathe_eval::roc_auc(&truth, &scores)?;

    // Single-row latency: the serving path, one row at a time, no allocation.
    let n = tx.rows().min(10_000);
    let mut out = [0.0; 2];
    let mut checksum = 0.0;
    let t = Instant::now();
    for i in 0..n {
        model.predict_into(tx.row(i), &mut out)?;
        checksum += out[1];
    }
    let single_row_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;

    let line = serde_json::json!({
        "tool": "lathe",
        "read_s": read_s,
        "fit_s": fit_s,
        "predict_s": predict_s,
        "single_row_us": single_row_us,
        "auc": auc,
        "rounds": model.meta().iterations,
        "peak_rss_mb": peak_rss_mb(),
        "checksum": checksum,
    });
    writeln!(std::io::stdout(), "{line}")?;
    Ok(())
}
