//! Overload protection for the prediction routes: at most
//! [`Options::max_concurrency`] requests score at once (a
//! [`tokio::sync::Semaphore`]), at most [`Options::max_queue`] more wait for
//! a slot, and every other one is answered `503` with `Retry-After: 1` at
//! once, so memory stays bounded under any load. A slot is taken before the
//! body is read, so at most `max_concurrency` bodies are held at a time.
//!
//! Each request has [`Options::request_timeout`] from its arrival: waiting
//! in the queue, reading the body and scoring all count. A request still
//! waiting or reading when it runs out is answered `504`. Scoring itself is
//! synchronous CPU work on the request's task and is not preempted; its size
//! is bounded by the body limit, and a request that overran is still
//! answered with its result. Both refusals are counted
//! (`lathe_serve_rejected_total{reason="overload"|"timeout"}`) beside the
//! queue's depth (`lathe_serve_queue_depth`).

use std::{
    fmt::Write,
    future::Future,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::Response,
};
use tokio::sync::Semaphore;

use crate::{
    batch::BatchOptions,
    routes::{ApiError, PredictionId},
    Scorer,
};

/// Rows per scorer call for models that score a batch in one call.
const DEFAULT_BATCH_ROWS: usize = 64;

/// Limits of the server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// Prediction requests scored at once (at least 1).
    pub max_concurrency: usize,
    /// Prediction requests that may wait for a slot; when the queue is full
    /// too, a request gets 503 with `Retry-After: 1`.
    pub max_queue: usize,
    /// Time a prediction request may take, queueing included, before 504.
    pub request_timeout: Duration,
    /// Most rows one call of a model's scorer takes when concurrent
    /// requests are grouped (see [`crate::batch`]); 1 scores every request
    /// on its own, as it arrives. `None` chooses per model: 64 where one
    /// call over many rows is cheaper than many calls (an ONNX graph), 1
    /// for the tree and linear scorers, which go row by row anyway and
    /// would only pay the queue's hand-offs.
    pub max_batch_size: Option<usize>,
    /// Longest a batch waits for requests already on their way to the same
    /// model version; a lone request never waits.
    pub max_batch_wait: Duration,
}

impl Default for Options {
    /// 16 MiB bodies, 4 × the available cores at once, 256 waiting, 10 s,
    /// batches sized per model, waiting at most 200 µs.
    fn default() -> Options {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Options {
            max_body_bytes: 16 * 1024 * 1024,
            max_concurrency: 4 * cores,
            max_queue: 256,
            request_timeout: Duration::from_secs(10),
            max_batch_size: None,
            max_batch_wait: Duration::from_micros(200),
        }
    }
}

impl Options {
    /// How the batchers group requests for `scorer`.
    pub(crate) fn batch(&self, scorer: &Scorer) -> BatchOptions {
        let max_rows = self.max_batch_size.unwrap_or(if scorer.scores_batches() {
            DEFAULT_BATCH_ROWS
        } else {
            1
        });
        BatchOptions { max_rows, max_wait: self.max_batch_wait }
    }
}

#[derive(Debug)]
struct Inner {
    options: Options,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    overload: AtomicU64,
    timeout: AtomicU64,
}

/// The slots, queue and refusal counters of one server; cloning shares them.
/// [`crate::Served::router_with_limits`] serves with a `Limits` the caller
/// keeps, to watch it or to hold its slots.
#[derive(Debug, Clone)]
pub struct Limits(Arc<Inner>);

impl Limits {
    /// Limits as `options` set them (a `max_concurrency` of 0 counts as 1).
    pub fn new(options: Options) -> Limits {
        let permits = options.max_concurrency.clamp(1, Semaphore::MAX_PERMITS);
        Limits(Arc::new(Inner {
            options,
            slots: Arc::new(Semaphore::new(permits)),
            waiting: AtomicUsize::new(0),
            overload: AtomicU64::new(0),
            timeout: AtomicU64::new(0),
        }))
    }

    /// The options these limits were made from.
    pub fn options(&self) -> &Options {
        &self.0.options
    }

    /// The scoring slots: a request scores while it holds one permit.
    /// Holding permits from outside keeps requests waiting (tests, draining).
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.0.slots
    }

    /// Requests waiting for a slot now.
    pub fn queue_depth(&self) -> usize {
        self.0.waiting.load(Ordering::Relaxed)
    }

    /// Requests refused because slots and queue were full.
    pub fn rejected_overload(&self) -> u64 {
        self.0.overload.load(Ordering::Relaxed)
    }

    /// Requests that ran out of time.
    pub fn rejected_timeout(&self) -> u64 {
        self.0.timeout.load(Ordering::Relaxed)
    }

    /// Appends the queue gauge and the refusal counters in Prometheus' text format.
    pub(crate) fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP lathe_serve_queue_depth Prediction requests waiting for a scoring slot."
        );
        let _ = writeln!(out, "# TYPE lathe_serve_queue_depth gauge");
        let _ = writeln!(out, "lathe_serve_queue_depth {}", self.queue_depth());
        let _ = writeln!(
            out,
            "# HELP lathe_serve_rejected_total Prediction requests refused: overload (503) or timeout (504)."
        );
        let _ = writeln!(out, "# TYPE lathe_serve_rejected_total counter");
        let _ = writeln!(
            out,
            "lathe_serve_rejected_total{{reason=\"overload\"}} {}",
            self.rejected_overload()
        );
        let _ = writeln!(
            out,
            "lathe_serve_rejected_total{{reason=\"timeout\"}} {}",
            self.rejected_timeout()
        );
    }

    /// Runs `work` (a prediction request: reading its body and scoring it)
    /// in a slot, or after a place in the queue, or answers 503 at once;
    /// within the request's deadline, or answers 504. The prediction
    /// handlers call it themselves rather than through a middleware layer,
    /// which boxed a future and cloned the router's service per request.
    pub(crate) async fn run(
        &self,
        id: &PredictionId,
        work: impl Future<Output = Response>,
    ) -> Response {
        let inner = &self.0;
        let deadline = tokio::time::Instant::now() + inner.options.request_timeout;
        let permit = match inner.slots.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                if inner.waiting.fetch_add(1, Ordering::Relaxed) >= inner.options.max_queue {
                    inner.waiting.fetch_sub(1, Ordering::Relaxed);
                    return self.overloaded(id);
                }
                let _queued = Waiting(&inner.waiting);
                match tokio::time::timeout_at(deadline, inner.slots.acquire()).await {
                    Ok(Ok(permit)) => permit,
                    // The semaphore is never closed; treat it as overload all the same.
                    Ok(Err(_)) => return self.overloaded(id),
                    Err(_) => return self.timed_out(id),
                }
            }
        };
        let response = tokio::time::timeout_at(deadline, work).await;
        drop(permit);
        response.unwrap_or_else(|_| self.timed_out(id))
    }

    fn overloaded(&self, id: &PredictionId) -> Response {
        self.0.overload.fetch_add(1, Ordering::Relaxed);
        let mut response = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "TEMPORARILY_UNAVAILABLE",
            "the server is overloaded; retry later",
        )
        .respond(id);
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    }

    fn timed_out(&self, id: &PredictionId) -> Response {
        self.0.timeout.fetch_add(1, Ordering::Relaxed);
        let message = format!(
            "the request took longer than {} ms",
            self.0.options.request_timeout.as_millis()
        );
        ApiError::new(StatusCode::GATEWAY_TIMEOUT, "DEADLINE_EXCEEDED", message).respond(id)
    }
}

/// Counts a request in the queue until it leaves it, however it leaves
/// (a slot, a timeout, or the client going away).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scorer::tests::linear;

    #[test]
    fn batches_are_sized_per_model_unless_a_size_is_given() {
        let defaults = Options::default();
        assert_eq!(defaults.batch(&linear()).max_rows, 1, "row by row: nothing to share");
        #[cfg(feature = "onnx")]
        {
            let graph = include_bytes!("../test_data/onnx/classifier.onnx");
            let onnx = crate::OnnxModel::from_bytes(graph, &Default::default())
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(defaults.batch(&Scorer::Onnx(onnx)).max_rows, DEFAULT_BATCH_ROWS);
        }
        let given = Options { max_batch_size: Some(8), ..Options::default() };
        assert_eq!(
            given.batch(&linear()),
            BatchOptions { max_rows: 8, ..defaults.batch(&linear()) }
        );
    }
}
