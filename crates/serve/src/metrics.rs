//! Per-model-version counters, a latency histogram, the sizes of the
//! batches the scorer was called with and the batcher's queue, written in
//! Prometheus' text exposition format for `GET /metrics`. A version keeps
//! its counters after a hot swap replaces it, so old and new stay comparable.

use std::{
    fmt::Write,
    sync::atomic::{AtomicI64, AtomicU64, Ordering},
    time::Duration,
};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

/// Upper bounds of the batch-size histogram, in rows per scorer call.
const BATCH_BUCKETS: [u64; 11] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/// Counters of one served model version; all updates are lock-free.
#[derive(Debug)]
pub(crate) struct VersionMetrics {
    name: String,
    version: i64,
    requests: AtomicU64,
    errors: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
    /// Requests it scored as a shadow (also counted in `requests`).
    shadowed: AtomicU64,
    batch_buckets: [AtomicU64; BATCH_BUCKETS.len()],
    batch_count: AtomicU64,
    batch_rows: AtomicU64,
    /// Requests queued in this version's batchers now (signed: a queue and
    /// its dequeue may be counted in either order across threads).
    batch_queue: AtomicI64,
}

impl VersionMetrics {
    /// Whether these are the counters of `name` version `version`.
    pub(crate) fn is(&self, name: &str, version: i64) -> bool {
        self.name == name && self.version == version
    }

    pub(crate) fn new(name: &str, version: i64) -> VersionMetrics {
        VersionMetrics {
            name: name.to_string(),
            version,
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
            shadowed: AtomicU64::new(0),
            batch_buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            batch_count: AtomicU64::new(0),
            batch_rows: AtomicU64::new(0),
            batch_queue: AtomicI64::new(0),
        }
    }

    /// One call of the scorer with `rows` rows.
    pub(crate) fn observe_batch(&self, rows: usize) {
        let rows = u64::try_from(rows).unwrap_or(u64::MAX);
        if let Some(i) = BATCH_BUCKETS.iter().position(|b| rows <= *b) {
            self.batch_buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.batch_count.fetch_add(1, Ordering::Relaxed);
        self.batch_rows.fetch_add(rows, Ordering::Relaxed);
    }

    /// `n` requests joined the batcher's queue.
    pub(crate) fn queued(&self, n: usize) {
        self.batch_queue.fetch_add(i64::try_from(n).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    /// `n` requests left the batcher's queue (scored, or gone).
    pub(crate) fn dequeued(&self, n: usize) {
        self.batch_queue.fetch_sub(i64::try_from(n).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    /// Requests waiting in the batcher's queue now.
    pub(crate) fn batch_queue_depth(&self) -> u64 {
        u64::try_from(self.batch_queue.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Scorer calls so far and the rows they scored.
    #[cfg(test)]
    pub(crate) fn batches(&self) -> (u64, u64) {
        (self.batch_count.load(Ordering::Relaxed), self.batch_rows.load(Ordering::Relaxed))
    }

    /// One answered request: how long it took and whether it failed.
    pub(crate) fn observe(&self, elapsed: Duration, error: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if error {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// One request scored as a shadow; its answer was not returned.
    pub(crate) fn observe_shadow(&self, elapsed: Duration, error: bool) {
        self.observe(elapsed, error);
        self.shadowed.fetch_add(1, Ordering::Relaxed);
    }
}

/// Renders every version's metrics, the number of versions loaded now and
/// the number of hot swaps, in Prometheus' text format.
pub(crate) fn render<M: std::ops::Deref<Target = VersionMetrics>>(
    versions: &[M],
    loaded: usize,
    swaps: u64,
) -> String {
    let mut out = String::new();
    let versions: Vec<&VersionMetrics> = versions.iter().map(|m| &**m).collect();
    let labels =
        |m: &VersionMetrics| format!("model=\"{}\",version=\"{}\"", escape(&m.name), m.version);
    let _ = writeln!(out, "# HELP lathe_serve_loaded_versions Model versions loaded and serving.");
    let _ = writeln!(out, "# TYPE lathe_serve_loaded_versions gauge");
    let _ = writeln!(out, "lathe_serve_loaded_versions {loaded}");
    let _ = writeln!(
        out,
        "# HELP lathe_serve_swaps_total Times a served alias moved and its new version replaced the old."
    );
    let _ = writeln!(out, "# TYPE lathe_serve_swaps_total counter");
    let _ = writeln!(out, "lathe_serve_swaps_total {swaps}");
    let _ = writeln!(
        out,
        "# HELP lathe_serve_requests_total Prediction requests answered, per model version."
    );
    let _ = writeln!(out, "# TYPE lathe_serve_requests_total counter");
    for m in &versions {
        let _ = writeln!(
            out,
            "lathe_serve_requests_total{{{}}} {}",
            labels(m),
            m.requests.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(out, "# HELP lathe_serve_errors_total Prediction requests answered with an error, per model version.");
    let _ = writeln!(out, "# TYPE lathe_serve_errors_total counter");
    for m in &versions {
        let _ = writeln!(
            out,
            "lathe_serve_errors_total{{{}}} {}",
            labels(m),
            m.errors.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(out, "# HELP lathe_serve_shadow_predictions_total Requests a shadow version scored without answering them (counted in requests_total too).");
    let _ = writeln!(out, "# TYPE lathe_serve_shadow_predictions_total counter");
    for m in &versions {
        let _ = writeln!(
            out,
            "lathe_serve_shadow_predictions_total{{{}}} {}",
            labels(m),
            m.shadowed.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(out, "# HELP lathe_serve_request_duration_seconds Time to answer a prediction request, per model version.");
    let _ = writeln!(out, "# TYPE lathe_serve_request_duration_seconds histogram");
    for m in &versions {
        let l = labels(m);
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(&m.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "lathe_serve_request_duration_seconds_bucket{{{l},le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = m.count.load(Ordering::Relaxed);
        let _ =
            writeln!(out, "lathe_serve_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {count}");
        let sum = m.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "lathe_serve_request_duration_seconds_sum{{{l}}} {sum}");
        let _ = writeln!(out, "lathe_serve_request_duration_seconds_count{{{l}}} {count}");
    }
    let _ = writeln!(out, "# HELP lathe_serve_batch_size_rows Rows per call of the scorer (a micro-batch of one or more requests), per model version.");
    let _ = writeln!(out, "# TYPE lathe_serve_batch_size_rows histogram");
    for m in &versions {
        let l = labels(m);
        let mut cumulative = 0;
        for (bound, n) in BATCH_BUCKETS.iter().zip(&m.batch_buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "lathe_serve_batch_size_rows_bucket{{{l},le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = m.batch_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "lathe_serve_batch_size_rows_bucket{{{l},le=\"+Inf\"}} {count}");
        let rows = m.batch_rows.load(Ordering::Relaxed);
        let _ = writeln!(out, "lathe_serve_batch_size_rows_sum{{{l}}} {rows}");
        let _ = writeln!(out, "lathe_serve_batch_size_rows_count{{{l}}} {count}");
    }
    let _ = writeln!(out, "# HELP lathe_serve_batch_queue_depth Prediction requests waiting in a model version's batcher for the scorer.");
    let _ = writeln!(out, "# TYPE lathe_serve_batch_queue_depth gauge");
    for m in &versions {
        let _ = writeln!(
            out,
            "lathe_serve_batch_queue_depth{{{}}} {}",
            labels(m),
            m.batch_queue_depth()
        );
    }
    out
}

/// A label value as Prometheus' text format needs it.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_labels_are_escaped() {
        let m = VersionMetrics::new("a\"b", 3);
        m.observe(Duration::from_micros(50), false);
        m.observe(Duration::from_millis(3), true);
        m.observe(Duration::from_secs(5), false);
        let text = render(&[std::sync::Arc::new(m)], 1, 2);
        assert!(text.contains("lathe_serve_swaps_total 2\n"), "{text}");
        assert!(
            text.contains("lathe_serve_requests_total{model=\"a\\\"b\",version=\"3\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("lathe_serve_errors_total{model=\"a\\\"b\",version=\"3\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("le=\"0.0001\"} 1\n"), "{text}");
        assert!(text.contains("le=\"0.005\"} 2\n"), "{text}");
        assert!(text.contains("le=\"1\"} 2\n"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains(
            "lathe_serve_request_duration_seconds_count{model=\"a\\\"b\",version=\"3\"} 3\n"
        ));
    }

    #[test]
    fn batch_sizes_are_a_cumulative_histogram_of_rows() {
        let m = VersionMetrics::new("m", 1);
        for rows in [1, 1, 3, 64, 65, 5000] {
            m.observe_batch(rows);
        }
        m.queued(3);
        m.dequeued(1);
        let text = render(&[std::sync::Arc::new(m)], 1, 0);
        for line in [
            "lathe_serve_batch_size_rows_bucket{model=\"m\",version=\"1\",le=\"1\"} 2",
            "lathe_serve_batch_size_rows_bucket{model=\"m\",version=\"1\",le=\"4\"} 3",
            "lathe_serve_batch_size_rows_bucket{model=\"m\",version=\"1\",le=\"64\"} 4",
            "lathe_serve_batch_size_rows_bucket{model=\"m\",version=\"1\",le=\"128\"} 5",
            "lathe_serve_batch_size_rows_bucket{model=\"m\",version=\"1\",le=\"1024\"} 5",
            "lathe_serve_batch_size_rows_bucket{model=\"m\",version=\"1\",le=\"+Inf\"} 6",
            "lathe_serve_batch_size_rows_sum{model=\"m\",version=\"1\"} 5134",
            "lathe_serve_batch_size_rows_count{model=\"m\",version=\"1\"} 6",
            "lathe_serve_batch_queue_depth{model=\"m\",version=\"1\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
