//! Concurrent generations decoded together. On a CPU, one decoding step of
//! a small model is bound by reading its weights; [`Llama::forward_decode_batch`]
//! reads them once for every sequence in the batch, so several requests
//! advance for little more than the price of one.
//!
//! [`BatchingEngine`] is an [`Engine`] whose `generate` hands the request to
//! one worker thread per model and waits for its text. The worker keeps the
//! running sequences; between two decoding steps it admits the requests that
//! arrived (each prompt processed alone, then decoded with the others), and
//! retires the finished ones, so a long answer does not hold up short ones
//! (continuous batching). Each sequence keeps its own cache, sampler and stop
//! sequences ([`Sequence`]), so a batched generation is the one the
//! engine would produce alone.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use crate::chat::ChatTemplate;
use crate::error::{Error, Result};
use crate::generate::{CandleEngine, Engine, Generation, GenerationParams, Sequence};
use crate::model::{KvCache, Llama};
use crate::tokenizer::TextTokenizer;

/// What a generation sends back to its caller.
enum Event {
    /// Text that became final.
    Text(String),
    /// The end, or why it failed.
    Done(Result<Generation>),
}

/// A generation waiting to be admitted.
struct Request {
    prompt: Vec<u32>,
    params: GenerationParams,
    events: Sender<Event>,
    /// Set by the caller when its client went away.
    cancelled: Arc<AtomicBool>,
}

/// A running generation in the batch.
struct Active {
    seq: Sequence,
    events: Sender<Event>,
    cancelled: Arc<AtomicBool>,
}

impl Active {
    /// Sends text on; false (which cancels the sequence) when nobody listens.
    fn emit(events: &Sender<Event>, cancelled: &AtomicBool, text: &str) -> bool {
        !cancelled.load(Ordering::Relaxed) && events.send(Event::Text(text.to_owned())).is_ok()
    }
}

/// Counters of the batches decoded so far.
#[derive(Debug, Default)]
pub struct BatchStats {
    steps: AtomicU64,
    tokens: AtomicU64,
    largest: AtomicUsize,
}

impl BatchStats {
    /// Decoding steps taken (each one batch).
    pub fn steps(&self) -> u64 {
        self.steps.load(Ordering::Relaxed)
    }

    /// Tokens decoded in all steps (the sum of the batch sizes).
    pub fn tokens(&self) -> u64 {
        self.tokens.load(Ordering::Relaxed)
    }

    /// The largest batch decoded in one step.
    pub fn largest(&self) -> usize {
        self.largest.load(Ordering::Relaxed)
    }

    fn record(&self, size: usize) {
        self.steps.fetch_add(1, Ordering::Relaxed);
        self.tokens.fetch_add(size as u64, Ordering::Relaxed);
        self.largest.fetch_max(size, Ordering::Relaxed);
    }
}

/// The running sequences of one model and how to advance them.
struct Batch<'a> {
    engine: &'a CandleEngine,
    active: Vec<Active>,
    stats: &'a BatchStats,
}

impl Batch<'_> {
    /// Processes the request's prompt and keeps it running, or answers it at once.
    fn admit(&mut self, r: Request) {
        let mut seq = match Sequence::start(self.engine, &r.prompt, &r.params) {
            Ok(seq) => seq,
            Err(e) => {
                let _ = r.events.send(Event::Done(Err(e)));
                return;
            }
        };
        if seq.running(self.engine) {
            let mut emit = |t: &str| Active::emit(&r.events, &r.cancelled, t);
            let prefill =
                self.engine.model().forward_last(&r.prompt, &mut seq.cache).and_then(|logits| {
                    seq.prompt_time = seq.started.elapsed();
                    seq.accept(self.engine, logits.to_vec1()?, &mut emit)
                });
            if let Err(e) = prefill {
                let _ = r.events.send(Event::Done(Err(e)));
                return;
            }
        }
        self.active.push(Active { seq, events: r.events, cancelled: r.cancelled });
        self.retire();
    }

    /// One decoding step of every running sequence, then retires the finished.
    fn step(&mut self) {
        if self.active.is_empty() {
            return;
        }
        let ids: Vec<u32> = self.active.iter().map(|a| a.seq.last()).collect();
        let result = {
            let mut caches: Vec<&mut KvCache> =
                self.active.iter_mut().map(|a| &mut a.seq.cache).collect();
            decode(self.engine.model(), &ids, &mut caches)
        };
        self.stats.record(ids.len());
        match result {
            Ok(rows) => {
                for (a, row) in self.active.iter_mut().zip(rows) {
                    let (events, cancelled) = (&a.events, &a.cancelled);
                    let mut emit = |t: &str| Active::emit(events, cancelled, t);
                    if let Err(e) = a.seq.accept(self.engine, row, &mut emit) {
                        let _ = a.events.send(Event::Done(Err(e)));
                        a.cancelled.store(true, Ordering::Relaxed);
                    }
                }
            }
            Err(e) => {
                // One failed product fails the whole step; say so to every caller.
                let message = e.to_string();
                for a in self.active.drain(..) {
                    let _ = a.events.send(Event::Done(Err(Error::Batch(message.clone()))));
                }
            }
        }
        self.retire();
    }

    /// Answers the sequences that finished (or whose caller went away).
    fn retire(&mut self) {
        let mut i = 0;
        while i < self.active.len() {
            let a = &self.active[i];
            if a.seq.running(self.engine) && !a.cancelled.load(Ordering::Relaxed) {
                i += 1;
                continue;
            }
            let a = self.active.swap_remove(i);
            let (events, cancelled) = (&a.events, &a.cancelled);
            let mut emit = |t: &str| Active::emit(events, cancelled, t);
            let generation = a.seq.finish(&mut emit);
            let _ = events.send(Event::Done(Ok(generation)));
        }
    }
}

/// Next-token logits of each sequence, one row each.
fn decode(model: &Llama, ids: &[u32], caches: &mut [&mut KvCache]) -> Result<Vec<Vec<f32>>> {
    Ok(model.forward_decode_batch(ids, caches)?.to_vec2()?)
}

/// An [`Engine`] that decodes concurrent generations together on one worker thread.
pub struct BatchingEngine {
    engine: Arc<CandleEngine>,
    requests: Sender<Request>,
    stats: Arc<BatchStats>,
}

impl BatchingEngine {
    /// Starts the worker; at most `max_batch` sequences are decoded at once
    /// (more wait to be admitted).
    pub fn new(engine: CandleEngine, max_batch: usize) -> Result<BatchingEngine> {
        let engine = Arc::new(engine);
        let stats = Arc::new(BatchStats::default());
        let (requests, rx) = mpsc::channel();
        let (e, s) = (engine.clone(), stats.clone());
        std::thread::Builder::new()
            .name("lathe-llm-batch".into())
            .spawn(move || worker(&e, &s, &rx, max_batch.max(1)))
            .map_err(|e| Error::Batch(format!("cannot start the decoding thread: {e}")))?;
        Ok(BatchingEngine { engine, requests, stats })
    }

    /// What the worker has decoded so far.
    pub fn stats(&self) -> &BatchStats {
        &self.stats
    }
}

/// The worker: waits while idle, admits arrivals between steps, decodes.
/// It ends when the engine (the only sender) is dropped and nothing runs.
fn worker(engine: &CandleEngine, stats: &BatchStats, rx: &Receiver<Request>, max_batch: usize) {
    let mut batch = Batch { engine, active: Vec::new(), stats };
    loop {
        if batch.active.is_empty() {
            match rx.recv() {
                Ok(r) => batch.admit(r),
                Err(_) => return,
            }
        }
        while batch.active.len() < max_batch {
            match rx.try_recv() {
                Ok(r) => batch.admit(r),
                Err(_) => break,
            }
        }
        batch.step();
    }
}

impl Engine for BatchingEngine {
    fn tokenizer(&self) -> &TextTokenizer {
        self.engine.tokenizer()
    }

    fn chat_template(&self) -> Option<&ChatTemplate> {
        self.engine.chat_template()
    }

    fn context_length(&self) -> usize {
        self.engine.context_length()
    }

    fn generate(
        &self,
        prompt: &[u32],
        params: &GenerationParams,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Generation> {
        let (events, rx) = mpsc::channel();
        let cancelled = Arc::new(AtomicBool::new(false));
        let request = Request {
            prompt: prompt.to_vec(),
            params: params.clone(),
            events,
            cancelled: cancelled.clone(),
        };
        self.requests
            .send(request)
            .map_err(|_| Error::Batch("the decoding thread has stopped".into()))?;
        loop {
            match rx.recv() {
                Ok(Event::Text(t)) => {
                    if !cancelled.load(Ordering::Relaxed) && !on_text(&t) {
                        cancelled.store(true, Ordering::Relaxed);
                    }
                }
                Ok(Event::Done(result)) => return result,
                Err(_) => return Err(Error::Batch("the decoding thread has stopped".into())),
            }
        }
    }
}

impl CandleEngine {
    /// Generates after every prompt at once, decoding them as one batch, on
    /// this thread; the results are in the prompts' order (for offline
    /// evaluation, and to check batching against one-at-a-time generation).
    pub fn generate_many(
        &self,
        requests: &[(Vec<u32>, GenerationParams)],
        stats: &BatchStats,
    ) -> Vec<Result<Generation>> {
        let mut batch = Batch { engine: self, active: Vec::new(), stats };
        let mut receivers = Vec::with_capacity(requests.len());
        for (prompt, params) in requests {
            let (events, rx) = mpsc::channel();
            receivers.push(rx);
            let cancelled = Arc::new(AtomicBool::new(false));
            batch.admit(Request {
                prompt: prompt.clone(),
                params: params.clone(),
                events,
                cancelled,
            });
        }
        while !batch.active.is_empty() {
            batch.step();
        }
        receivers
            .into_iter()
            .map(|rx| {
                rx.try_iter()
                    .find_map(|e| match e {
                        Event::Done(r) => Some(r),
                        Event::Text(_) => None,
                    })
                    .unwrap_or_else(|| {
                        Err(Error::Batch("a generation ended without a result".into()))
                    })
            })
            .collect()
    }
}
