//! Times the metric suite on synthetic data (fixed seed), for bench/README.md:
//!
//! ```sh
//! cargo run --release -p lathe-eval --example timing -- 1000000
//! ```
//!
//! Prints one line per measurement on stderr.

use std::time::Instant;

use lathe_core::SplitMix64;
use lathe_eval::{
    classification_intervals, BootstrapConfig, ClassificationMetrics, EvalReport, RegressionMetrics,
};

fn uniform(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// `n` rows of `k` classes with probabilities that lean towards the truth.
fn classification(n: usize, k: usize, seed: u64) -> (Vec<usize>, Vec<f64>) {
    let mut rng = SplitMix64::new(seed);
    let mut y = Vec::with_capacity(n);
    let mut p = Vec::with_capacity(n * k);
    for _ in 0..n {
        let t = rng.scaled(k);
        let raw: Vec<f64> =
            (0..k).map(|c| uniform(&mut rng) + if c == t { 0.8 } else { 0.0 }).collect();
        let sum: f64 = raw.iter().sum();
        y.push(t);
        p.extend(raw.iter().map(|v| v / sum));
    }
    (y, p)
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    for k in [2, 5] {
        let (y, p) = classification(n, k, 1);
        let classes: Vec<String> = (0..k).map(|c| format!("c{c}")).collect();
        let t = Instant::now();
        let m = ClassificationMetrics::compute(&y, &p, &classes);
        let auc = m.map(|m| m.roc_auc.unwrap_or(f64::NAN)).unwrap_or(f64::NAN);
        eprintln!(
            "classification k={k} n={n}: all metrics {:.3} s (roc_auc {auc:.4})",
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        let html = EvalReport::classification("timing", &y, &p, &classes).map(|r| r.to_html());
        let size = html.map(|h| h.len()).unwrap_or(0);
        eprintln!(
            "classification k={k} n={n}: report + html {:.3} s ({size} bytes)",
            t.elapsed().as_secs_f64()
        );
    }
    let (y, p) = classification(10_000, 2, 2);
    let classes = ["no", "yes"].map(String::from);
    let config = BootstrapConfig::default();
    let t = Instant::now();
    let ci = classification_intervals(&y, &p, &classes, &config, &mut |_| {});
    let count = ci.map(|c| c.len()).unwrap_or(0);
    eprintln!(
        "bootstrap n=10000 k=2: {} resamples, {count} metrics, {:.3} s",
        config.resamples,
        t.elapsed().as_secs_f64()
    );
    let mut rng = SplitMix64::new(3);
    let truth: Vec<f64> = (0..n).map(|_| uniform(&mut rng) * 100.0).collect();
    let pred: Vec<f64> = truth.iter().map(|v| v + uniform(&mut rng) * 10.0 - 5.0).collect();
    let t = Instant::now();
    let r2 = RegressionMetrics::compute(&truth, &pred).map(|m| m.r2).unwrap_or(f64::NAN);
    eprintln!("regression n={n}: all metrics {:.3} s (r2 {r2:.4})", t.elapsed().as_secs_f64());
}
