//! The prediction log: every scored row goes to the store for monitoring,
//! without ever slowing or failing the request that produced it.
//!
//! A request hands its records to a bounded channel with `try_send`, which
//! never waits: when the channel is full the record is dropped and counted
//! (`lathe_serve_prediction_log_dropped_total{reason="queue_full"}`), so a
//! slow database costs log rows, never latency or memory. One writer task
//! takes whatever is queued (up to a batch) and writes it in one
//! transaction; a failed write is retried with backoff (the store skips ids
//! already logged, so a retry never duplicates) and what still fails is
//! counted as `write_failed`. Nothing is lost without being counted.

use std::{
    fmt::Write as _,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use lathe_store::{PredictionRecord, Store};

use crate::{routes::Inputs, scorer::Output, LoadedModel};
use tokio::{
    sync::{mpsc, oneshot, Notify},
    task::JoinHandle,
};

/// Sizes of the prediction log.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// Records that may wait for the writer; beyond it they are dropped and counted.
    pub capacity: usize,
    /// Most records written in one transaction.
    pub max_batch: usize,
    /// Attempts per batch before its records count as dropped.
    pub attempts: u32,
}

impl Default for LogOptions {
    /// 65,536 queued, batches of 2,000, 4 attempts.
    fn default() -> LogOptions {
        LogOptions { capacity: 65_536, max_batch: 2_000, attempts: 4 }
    }
}

enum Message {
    Record(PredictionRecord),
    /// Acknowledged once every record sent before it is written (or dropped).
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Default)]
struct Counters {
    written: AtomicU64,
    dropped_full: AtomicU64,
    dropped_failed: AtomicU64,
}

/// The sending side: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct PredictionLog {
    tx: mpsc::Sender<Message>,
    counters: Arc<Counters>,
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for PredictionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PredictionLog").field("counters", &self.counters).finish_non_exhaustive()
    }
}

/// The writer task; [`PredictionLogWriter::shutdown`] writes what is queued and stops it.
#[derive(Debug)]
pub struct PredictionLogWriter {
    stop: Arc<Notify>,
    task: JoinHandle<()>,
}

impl PredictionLog {
    /// Starts the writer on the current runtime.
    pub fn spawn(
        store: Arc<dyn Store>,
        options: LogOptions,
    ) -> (PredictionLog, PredictionLogWriter) {
        let (tx, rx) = mpsc::channel(options.capacity.max(1));
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(Notify::new());
        let writer = Writer {
            rx,
            store: Arc::clone(&store),
            counters: Arc::clone(&counters),
            options,
            stop: Arc::clone(&stop),
        };
        let task = tokio::spawn(writer.run());
        (PredictionLog { tx, counters, store }, PredictionLogWriter { stop, task })
    }

    /// Queues one record; never waits. A full queue drops it and counts the drop.
    pub(crate) fn record(&self, record: PredictionRecord) {
        if self.tx.try_send(Message::Record(record)).is_err() {
            self.counters.dropped_full.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// [`PredictionLog::record`] for benchmarks and tests outside the crate:
    /// queues one record without waiting, counting a drop when full.
    pub fn record_for_bench(&self, record: PredictionRecord) {
        self.record(record);
    }

    /// Waits until everything queued before this call is written, so that
    /// feedback posted right after a prediction finds it in the store.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Message::Flush(ack)).await.is_ok() {
            let _ = done.await;
        }
    }

    /// The store the log writes to (feedback is recorded there too).
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        self.counters.written.load(Ordering::Relaxed)
    }

    /// Records dropped so far (queue full or write failed).
    pub fn dropped(&self) -> u64 {
        self.counters.dropped_full.load(Ordering::Relaxed)
            + self.counters.dropped_failed.load(Ordering::Relaxed)
    }

    /// The log's counters in Prometheus' text format.
    pub(crate) fn render(&self, out: &mut String) {
        let c = &self.counters;
        let _ = writeln!(
            out,
            "# HELP lathe_serve_prediction_log_written_total Predictions written to the prediction log."
        );
        let _ = writeln!(out, "# TYPE lathe_serve_prediction_log_written_total counter");
        let _ = writeln!(
            out,
            "lathe_serve_prediction_log_written_total {}",
            c.written.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP lathe_serve_prediction_log_dropped_total Predictions that could not be logged, by reason."
        );
        let _ = writeln!(out, "# TYPE lathe_serve_prediction_log_dropped_total counter");
        for (reason, n) in [("queue_full", &c.dropped_full), ("write_failed", &c.dropped_failed)] {
            let _ = writeln!(
                out,
                "lathe_serve_prediction_log_dropped_total{{reason=\"{reason}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP lathe_serve_prediction_log_queue_depth Predictions waiting for the log writer."
        );
        let _ = writeln!(out, "# TYPE lathe_serve_prediction_log_queue_depth gauge");
        let depth = self.tx.max_capacity() - self.tx.capacity();
        let _ = writeln!(out, "lathe_serve_prediction_log_queue_depth {depth}");
    }
}

impl PredictionLogWriter {
    /// Writes what is queued, then stops the writer.
    pub async fn shutdown(self) {
        self.stop.notify_one();
        if let Err(e) = self.task.await {
            tracing::error!("prediction log writer failed: {e}");
        }
    }
}

struct Writer {
    rx: mpsc::Receiver<Message>,
    store: Arc<dyn Store>,
    counters: Arc<Counters>,
    options: LogOptions,
    stop: Arc<Notify>,
}

impl Writer {
    async fn run(mut self) {
        let mut messages = Vec::with_capacity(self.options.max_batch);
        loop {
            tokio::select! {
                n = self.rx.recv_many(&mut messages, self.options.max_batch) => {
                    if n == 0 {
                        return;
                    }
                    self.handle(&mut messages).await;
                }
                () = self.stop.notified() => break,
            }
        }
        // Shutting down: what is already queued is still written.
        self.rx.close();
        while self.rx.recv_many(&mut messages, self.options.max_batch).await > 0 {
            self.handle(&mut messages).await;
        }
    }

    async fn handle(&self, messages: &mut Vec<Message>) {
        let mut batch = Vec::with_capacity(messages.len());
        for message in messages.drain(..) {
            match message {
                Message::Record(r) => batch.push(r),
                Message::Flush(ack) => {
                    self.write(std::mem::take(&mut batch)).await;
                    let _ = ack.send(());
                }
            }
        }
        self.write(batch).await;
    }

    async fn write(&self, batch: Vec<PredictionRecord>) {
        if batch.is_empty() {
            return;
        }
        let mut delay = Duration::from_millis(50);
        for attempt in 1..=self.options.attempts.max(1) {
            match self.store.log_predictions(&batch).await {
                Ok(()) => {
                    self.counters.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    return;
                }
                Err(e) if attempt < self.options.attempts => {
                    tracing::warn!(
                        "prediction log: write of {} failed, retrying: {e}",
                        batch.len()
                    );
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => {
                    tracing::error!("prediction log: dropped {} predictions: {e}", batch.len());
                }
            }
        }
        self.counters.dropped_failed.fetch_add(batch.len() as u64, Ordering::Relaxed);
    }
}

/// What the routes hold: the log, or nothing when the server does not log.
#[derive(Debug, Clone, Default)]
pub(crate) struct Logging(pub(crate) Option<PredictionLog>);

impl Logging {
    /// Queues one record per scored row. A request of one row logs under
    /// its prediction id; row `i` of a larger request under `ID:i`.
    pub(crate) fn scored(
        &self,
        model: &LoadedModel,
        id: &str,
        inputs: &Inputs,
        outputs: &[Output],
        elapsed: Duration,
    ) {
        let Some(log) = &self.0 else { return };
        let timestamp = lathe_core::now_millis();
        let latency_us = i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX);
        let classes = model.scorer.classes();
        let n = outputs.len();
        for (i, output) in outputs.iter().enumerate() {
            let inputs: serde_json::Map<String, serde_json::Value> = match inputs {
                Inputs::Rows(rows) => match rows.get(i) {
                    Some(row) => model
                        .signature
                        .columns
                        .iter()
                        .zip(row)
                        .map(|(c, v)| (c.name.clone(), number(*v)))
                        .collect(),
                    None => serde_json::Map::new(),
                },
                Inputs::Records(records) => records.get(i).cloned().unwrap_or_default(),
            };
            let outputs = match output {
                Output::Probability(p) => {
                    let (negative, positive) = match classes.as_slice() {
                        [n, p, ..] => (n.clone(), p.clone()),
                        _ => ("0".to_string(), "1".to_string()),
                    };
                    let mut probabilities = serde_json::Map::new();
                    probabilities.insert(negative, number(1.0 - p));
                    probabilities.insert(positive.clone(), number(*p));
                    serde_json::json!({
                        "prediction": output.label(&classes),
                        "positive_class": positive,
                        "probability": number(*p),
                        "probabilities": probabilities,
                    })
                }
                Output::Probabilities(ps) => {
                    let probabilities: serde_json::Map<String, serde_json::Value> =
                        classes.iter().cloned().zip(ps.iter().map(|p| number(*p))).collect();
                    serde_json::json!({
                        "prediction": output.label(&classes),
                        "probabilities": probabilities,
                    })
                }
                Output::Value(v) => serde_json::json!({ "prediction": number(*v) }),
            };
            log.record(PredictionRecord {
                prediction_id: if n == 1 { id.to_string() } else { format!("{id}:{i}") },
                model_name: model.name.clone(),
                model_version: model.version,
                timestamp,
                inputs: serde_json::Value::Object(inputs).to_string(),
                outputs: outputs.to_string(),
                latency_us,
            });
        }
    }
}

/// A finite number as JSON; NaN and infinities (missing values) as null.
fn number(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
}
