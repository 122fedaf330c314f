//! Adaptive micro-batching: concurrent requests for one model version are
//! scored together, in one call over all their rows, and each request gets
//! its own rows' answers back.
//!
//! **Why no worker task.** A dedicated worker would cost every request two
//! hand-offs between tasks, which at concurrency 1 is pure added latency.
//! Instead the requests themselves take turns as the *leader*: a request
//! that finds nobody scoring scores at once, on its own task, with whatever
//! is queued; a request that finds a leader busy queues its rows and waits.
//! When the leader is done it answers every request of its batch and hands
//! the lead to the first request still queued, which takes the next batch.
//! So a batch forms exactly while the previous one is being scored, and an
//! idle server scores a lone request with no wait at all (the "adaptive"
//! part); `max_wait` only applies while other requests for the same version
//! are on their way (routed, their bodies still being parsed), which is
//! when waiting can fill the batch.
//!
//! **Why one leader per version.** Scoring is synchronous CPU work on the
//! request's task, so while a leader scores, the other runtime threads are
//! free to read requests and queue them: that is what forms a batch. With
//! one leader per worker thread nobody would ever queue. The price is that
//! one version's rows are scored on one core at a time; a request that
//! fills a batch by itself (`max_rows` rows or more) therefore skips the
//! queue and is scored at once on its own task, in parallel.
//!
//! **Why it survives hot swaps and timeouts.** Each served version has its
//! own [`Batcher`] inside its [`crate::watch::Current`], so a request queues
//! with the version it was routed to; when a swap replaces the version, the
//! requests already queued are still led to the end and the old batcher is
//! freed with its last request. A request whose future is dropped (its
//! deadline passed, the client left) can only be dropped while it waits:
//! a follower's queued rows are scored and the answer discarded, and a
//! leader that is dropped before taking its batch removes its own rows and
//! hands the lead on ([`Leading`]'s `Drop`), so nobody is left waiting for
//! a leader that is gone.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex, MutexGuard, PoisonError,
    },
    time::{Duration, Instant},
};

use tokio::sync::oneshot;

use crate::{metrics::VersionMetrics, routes::Inputs, scorer::Output, Scorer};

/// One row's answer, or why the model could not score it.
pub(crate) type RowResult = Result<Output, String>;

/// How requests are grouped (see `Options::max_batch_size`/`max_batch_wait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Most rows scored in one call; 1 (or 0) scores each request on its own.
    pub max_rows: usize,
    /// Longest a leader waits for requests already on their way.
    pub max_wait: Duration,
}

impl BatchOptions {
    /// Whether requests are grouped at all.
    pub fn enabled(&self) -> bool {
        self.max_rows > 1
    }
}

impl Inputs {
    /// How many rows the request has.
    pub(crate) fn len(&self) -> usize {
        match self {
            Inputs::Rows(rows) => rows.len(),
            Inputs::Records(records) => records.len(),
        }
    }
}

/// Scores every row of `batch`, in order: numeric rows in one call of
/// [`Scorer::score_rows`] over all the requests' rows (an ONNX graph runs
/// them as one batch; the tree and linear scorers go row by row), records
/// one by one.
pub(crate) fn score_batch(scorer: &Scorer, batch: &[&Inputs]) -> Vec<Vec<RowResult>> {
    let rows: Vec<&Vec<Vec<f64>>> = batch
        .iter()
        .filter_map(|inputs| match inputs {
            Inputs::Rows(rows) => Some(rows),
            Inputs::Records(_) => None,
        })
        .collect();
    if rows.len() == batch.len() {
        return score_rows(scorer, &rows);
    }
    batch
        .iter()
        .map(|inputs| match inputs {
            Inputs::Rows(rows) => one_call(scorer, rows),
            Inputs::Records(records) => records.iter().map(|r| scorer.score_record(r)).collect(),
        })
        .collect()
}

/// One call over every request's rows. If it fails, each request is scored
/// by itself, so that a failure is only the failing request's.
fn score_rows(scorer: &Scorer, requests: &[&Vec<Vec<f64>>]) -> Vec<Vec<RowResult>> {
    if let [one] = requests {
        return vec![one_call(scorer, one)];
    }
    let all: Vec<Vec<f64>> = requests.iter().flat_map(|rows| rows.iter().cloned()).collect();
    match scorer.score_rows(&all) {
        Ok(outputs) if outputs.len() == all.len() => {
            let mut outputs = outputs.into_iter();
            requests
                .iter()
                .map(|rows| outputs.by_ref().take(rows.len()).map(Ok).collect())
                .collect()
        }
        _ => requests.iter().map(|rows| one_call(scorer, rows)).collect(),
    }
}

/// One request's rows in one call; a failed call fails each of its rows.
fn one_call(scorer: &Scorer, rows: &[Vec<f64>]) -> Vec<RowResult> {
    match scorer.score_rows(rows) {
        Ok(outputs) => outputs.into_iter().map(Ok).collect(),
        Err(e) => vec![Err(e); rows.len()],
    }
}

/// What a queued request is told.
enum Message {
    /// Its rows were scored: its inputs back, and one answer per row.
    Done(Inputs, Vec<RowResult>),
    /// It leads now: its rows are first in the queue.
    Lead,
}

struct Job {
    inputs: Inputs,
    /// `None` for the leader's own job (always first in the queue).
    reply: Option<oneshot::Sender<Message>>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    rows: usize,
    /// Whether a leader exists; while it does, new requests queue.
    leading: bool,
    /// Requests queued since the start.
    joined: u64,
}

/// The queue of one served model version.
#[derive(Default)]
pub(crate) struct Batcher {
    queue: Mutex<Queue>,
    /// Requests routed to this version that have not queued yet.
    arriving: AtomicUsize,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // try_lock: printing must never wait on (or deadlock with) a leader.
        let queued = self.queue.try_lock().map(|q| q.jobs.len()).ok();
        f.debug_struct("Batcher").field("queued", &queued).finish()
    }
}

/// A request on its way to a [`Batcher`], counted until it queues or gives up.
pub(crate) struct Arriving<'a>(&'a Batcher);

impl Drop for Arriving<'_> {
    fn drop(&mut self) {
        self.0.arriving.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The scoring of a batch failed to come back: the leader panicked.
#[derive(Debug)]
pub(crate) struct Lost;

impl Batcher {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a request routed to this version, so a leader can wait for it.
    pub(crate) fn arriving(&self) -> Arriving<'_> {
        self.arriving.fetch_add(1, Ordering::Relaxed);
        Arriving(self)
    }

    /// Scores `inputs` with other requests' rows when there are any, and
    /// gives back the inputs and one answer per row.
    pub(crate) async fn score(
        &self,
        scorer: &Scorer,
        metrics: &VersionMetrics,
        options: BatchOptions,
        inputs: Inputs,
        arrived: Arriving<'_>,
    ) -> Result<(Inputs, Vec<RowResult>), Lost> {
        let waiting = {
            let mut queue = self.lock();
            queue.rows += inputs.len();
            queue.joined += 1;
            metrics.queued(1);
            if queue.leading {
                let (reply, answer) = oneshot::channel();
                queue.jobs.push_back(Job { inputs, reply: Some(reply) });
                Some(answer)
            } else {
                queue.leading = true;
                queue.jobs.push_back(Job { inputs, reply: None });
                None
            }
        };
        drop(arrived);
        if let Some(answer) = waiting {
            let mut following = Following { batcher: self, metrics, answer, done: false };
            let message = (&mut following.answer).await;
            following.done = true;
            match message {
                Ok(Message::Done(inputs, outputs)) => return Ok((inputs, outputs)),
                Ok(Message::Lead) => {}
                Err(_) => return Err(Lost),
            }
        }
        self.lead(scorer, metrics, options).await
    }

    /// Takes the next batch (the leader's own job first), scores it,
    /// answers the others and hands the lead on.
    async fn lead(
        &self,
        scorer: &Scorer,
        metrics: &VersionMetrics,
        options: BatchOptions,
    ) -> Result<(Inputs, Vec<RowResult>), Lost> {
        let mut leading = Leading { batcher: self, metrics, taken: false };
        let deadline = Instant::now() + options.max_wait;
        // Only the requests on their way now are waited for: under steady
        // load new ones always arrive, and waiting for them would hold
        // every batch for the whole `max_wait`. tokio's timers tick in
        // milliseconds, far above a batch's wait: yielding lets those
        // requests run and queue.
        let expected = self.lock().joined + self.arriving.load(Ordering::Relaxed) as u64;
        while {
            let queue = self.lock();
            queue.joined < expected && queue.rows < options.max_rows
        } && Instant::now() < deadline
        {
            tokio::task::yield_now().await;
        }
        let batch = {
            let mut queue = self.lock();
            let mut rows = 0;
            let mut batch = Vec::new();
            while let Some(job) = queue.jobs.front() {
                let n = job.inputs.len();
                if !batch.is_empty() && rows + n > options.max_rows {
                    break;
                }
                rows += n;
                batch.extend(queue.jobs.pop_front());
            }
            queue.rows -= rows;
            metrics.dequeued(batch.len());
            leading.taken = true;
            batch
        };
        let inputs: Vec<&Inputs> = batch.iter().map(|job| &job.inputs).collect();
        let results = score_batch(scorer, &inputs);
        metrics.observe_batch(inputs.iter().map(|i| i.len()).sum());
        let mut own = None;
        for (job, outputs) in batch.into_iter().zip(results) {
            match job.reply {
                Some(reply) => {
                    // A request that gave up no longer reads its answer.
                    let _ = reply.send(Message::Done(job.inputs, outputs));
                }
                None => own = Some((job.inputs, outputs)),
            }
        }
        drop(leading);
        own.ok_or(Lost)
    }

    /// Gives the lead to the first queued request still waiting, or ends it.
    fn hand_off(&self, queue: &mut Queue, metrics: &VersionMetrics) {
        while let Some(front) = queue.jobs.front_mut() {
            if let Some(reply) = front.reply.take() {
                if reply.send(Message::Lead).is_ok() {
                    return;
                }
            }
            // Gone (its deadline passed or its client left): nobody to lead or to answer.
            if let Some(job) = queue.jobs.pop_front() {
                queue.rows -= job.inputs.len();
                metrics.dequeued(1);
            }
        }
        queue.leading = false;
    }
}

/// A queued request waiting for its answer or for the lead. If it is
/// dropped after the lead was handed to it but before it took it, the lead
/// would be lost with it and the queue would wait forever: its `Drop` closes
/// the channel under the queue's lock (so no lead can arrive afterwards) and
/// passes on a lead that already had.
struct Following<'a> {
    batcher: &'a Batcher,
    metrics: &'a VersionMetrics,
    answer: oneshot::Receiver<Message>,
    /// Whether the message was read (nothing left to pass on).
    done: bool,
}

impl Drop for Following<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut queue = self.batcher.lock();
        self.answer.close();
        if let Ok(Message::Lead) = self.answer.try_recv() {
            // It leads, so its rows are first in the queue: drop them, pass the lead on.
            if let Some(job) = queue.jobs.pop_front() {
                queue.rows -= job.inputs.len();
                self.metrics.dequeued(1);
            }
            self.batcher.hand_off(&mut queue, self.metrics);
        }
    }
}

/// The lead, held by one request; however it ends (done, or the request's
/// future dropped while waiting for its batch to fill), it is handed on.
struct Leading<'a> {
    batcher: &'a Batcher,
    metrics: &'a VersionMetrics,
    /// Whether the leader's own job left the queue with its batch.
    taken: bool,
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        let mut queue = self.batcher.lock();
        if !self.taken {
            if let Some(job) = queue.jobs.pop_front() {
                queue.rows -= job.inputs.len();
                self.metrics.dequeued(1);
            }
        }
        self.batcher.hand_off(&mut queue, self.metrics);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scorer::tests::linear as scorer;
    use futures_util::FutureExt;

    fn rows(n: usize, from: usize) -> Inputs {
        Inputs::Rows((from..from + n).map(|i| vec![i as f64 / 10.0, (i % 7) as f64]).collect())
    }

    fn alone(scorer: &Scorer, inputs: &Inputs) -> Vec<RowResult> {
        score_batch(scorer, &[inputs]).remove(0)
    }

    const OPTIONS: BatchOptions = BatchOptions { max_rows: 64, max_wait: Duration::from_secs(30) };

    #[tokio::test]
    async fn a_lone_request_is_scored_at_once_as_a_batch_of_its_own() {
        let (scorer, batcher) = (scorer(), Batcher::default());
        let metrics = VersionMetrics::new("m", 1);
        let (inputs, outputs) = batcher
            .score(&scorer, &metrics, OPTIONS, rows(3, 0), batcher.arriving())
            .await
            .unwrap_or_else(|_| panic!("lost"));
        assert_eq!(outputs, alone(&scorer, &rows(3, 0)));
        assert_eq!(inputs.len(), 3);
        assert_eq!(metrics.batches(), (1, 3));
        assert_eq!(metrics.batch_queue_depth(), 0);
    }

    #[tokio::test]
    async fn a_request_on_its_way_joins_the_leaders_batch_and_gets_its_own_rows() {
        let (scorer, batcher) = (scorer(), Batcher::default());
        let metrics = VersionMetrics::new("m", 1);
        // B is routed (counted as arriving) before A leads, so A waits for it.
        let b_arriving = batcher.arriving();
        let a = batcher.score(&scorer, &metrics, OPTIONS, rows(2, 0), batcher.arriving());
        let b = batcher.score(&scorer, &metrics, OPTIONS, rows(5, 10), b_arriving);
        let (a, b) = tokio::join!(a, b);
        let (a, b) = (a.unwrap_or_else(|_| panic!("lost")), b.unwrap_or_else(|_| panic!("lost")));
        assert_eq!(a.1, alone(&scorer, &rows(2, 0)));
        assert_eq!(b.1, alone(&scorer, &rows(5, 10)));
        assert_eq!(metrics.batches(), (1, 7), "one call scored both requests");
    }

    #[tokio::test]
    async fn a_full_batch_leaves_the_rest_to_the_next_leader() {
        let (scorer, batcher) = (scorer(), Batcher::default());
        let metrics = VersionMetrics::new("m", 1);
        let options = BatchOptions { max_rows: 4, ..OPTIONS };
        let waits: Vec<_> = (0..3).map(|_| batcher.arriving()).collect();
        let lead = batcher.score(&scorer, &metrics, options, rows(3, 0), batcher.arriving());
        let mut followers = Vec::new();
        for (i, arriving) in waits.into_iter().enumerate() {
            followers.push(batcher.score(&scorer, &metrics, options, rows(1, 20 + i), arriving));
        }
        let (lead, followers) = tokio::join!(lead, futures_util::future::join_all(followers));
        assert_eq!(lead.unwrap_or_else(|_| panic!("lost")).1, alone(&scorer, &rows(3, 0)));
        for (i, f) in followers.into_iter().enumerate() {
            assert_eq!(f.unwrap_or_else(|_| panic!("lost")).1, alone(&scorer, &rows(1, 20 + i)));
        }
        // 3 + 1 rows, then the two left over.
        assert_eq!(metrics.batches(), (2, 6));
        assert_eq!(metrics.batch_queue_depth(), 0);
    }

    #[tokio::test]
    async fn a_leader_that_gives_up_hands_the_lead_on() {
        let (scorer, batcher) = (scorer(), Batcher::default());
        let metrics = VersionMetrics::new("m", 1);
        // Someone is on the way and never arrives: the leader waits, then is dropped.
        let never = batcher.arriving();
        let mut lead =
            Box::pin(batcher.score(&scorer, &metrics, OPTIONS, rows(1, 0), batcher.arriving()));
        assert!((&mut lead).now_or_never().is_none());
        let follower = batcher.score(&scorer, &metrics, OPTIONS, rows(2, 5), never);
        let mut follower = Box::pin(follower);
        assert!((&mut follower).now_or_never().is_none());
        drop(lead);
        let (_, outputs) = follower.await.unwrap_or_else(|_| panic!("lost"));
        assert_eq!(outputs, alone(&scorer, &rows(2, 5)));
        assert_eq!(metrics.batches(), (1, 2), "the abandoned rows were not scored");
        assert_eq!(metrics.batch_queue_depth(), 0);
    }

    #[tokio::test]
    async fn a_request_handed_the_lead_that_gives_up_before_taking_it_passes_it_on() {
        let (scorer, batcher) = (scorer(), Batcher::default());
        let metrics = VersionMetrics::new("m", 1);
        // A's batch is full with its own 3 rows, so B gets the lead after it.
        let options = BatchOptions { max_rows: 4, ..OPTIONS };
        let (never, b_arriving) = (batcher.arriving(), batcher.arriving());
        let mut a =
            Box::pin(batcher.score(&scorer, &metrics, options, rows(3, 0), batcher.arriving()));
        assert!((&mut a).now_or_never().is_none());
        let mut b = Box::pin(batcher.score(&scorer, &metrics, options, rows(2, 4), b_arriving));
        assert!((&mut b).now_or_never().is_none());
        let mut c = Box::pin(batcher.score(&scorer, &metrics, options, rows(1, 7), never));
        assert!((&mut c).now_or_never().is_none());
        let (_, outputs) = a.await.unwrap_or_else(|_| panic!("lost"));
        assert_eq!(outputs, alone(&scorer, &rows(3, 0)));
        // B now holds the lead, unread; its client leaves.
        drop(b);
        // Bounded so that a lost lead fails the test instead of hanging it.
        let c = tokio::time::timeout(Duration::from_secs(60), c).await;
        let (_, outputs) = c.expect("the lead was lost").unwrap_or_else(|_| panic!("lost"));
        assert_eq!(outputs, alone(&scorer, &rows(1, 7)));
        assert_eq!(metrics.batches(), (2, 4), "A's rows, then C's; B's were dropped");
        assert_eq!(metrics.batch_queue_depth(), 0);
    }

    #[tokio::test]
    async fn the_lead_skips_queued_requests_that_gave_up() {
        let (scorer, batcher) = (scorer(), Batcher::default());
        let metrics = VersionMetrics::new("m", 1);
        let (never, gone_arriving) = (batcher.arriving(), batcher.arriving());
        let mut lead =
            Box::pin(batcher.score(&scorer, &metrics, OPTIONS, rows(1, 0), batcher.arriving()));
        assert!((&mut lead).now_or_never().is_none());
        let mut gone =
            Box::pin(batcher.score(&scorer, &metrics, OPTIONS, rows(4, 1), gone_arriving));
        assert!((&mut gone).now_or_never().is_none());
        let mut last = Box::pin(batcher.score(&scorer, &metrics, OPTIONS, rows(2, 9), never));
        assert!((&mut last).now_or_never().is_none());
        // The leader's rows wait in the queue too, until it takes its batch.
        assert_eq!(metrics.batch_queue_depth(), 3);
        drop(gone);
        drop(lead);
        let (_, outputs) = last.await.unwrap_or_else(|_| panic!("lost"));
        assert_eq!(outputs, alone(&scorer, &rows(2, 9)));
        assert_eq!(metrics.batches(), (1, 2), "only the request still waiting was scored");
        assert_eq!(metrics.batch_queue_depth(), 0);
    }
}
