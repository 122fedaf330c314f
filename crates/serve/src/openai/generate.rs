//! The two generation endpoints: requests become jobs (prompts × `n`
//! choices with settled token budgets) that run on a blocking thread once a
//! slot is free, answered as one JSON body or as server-sent events.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::{
    body::{Body, Bytes},
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use lathe_llm::{Engine, GenerationParams};
use serde_json::{json, Value};
use tokio::sync::{mpsc, OwnedSemaphorePermit};

use super::error::OpenAiError;
use super::metrics::ModelMetrics;
use super::request::{self, Common};
use super::{AppState, ServedLlm, Shared};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Chat,
    Completion,
}

struct Job {
    kind: Kind,
    /// When the request arrived: time to first token counts from here.
    received: Instant,
    id: String,
    created: u64,
    common: Common,
    /// Each prompt with its token budget.
    prompts: Vec<(Vec<u32>, usize)>,
}

pub(super) async fn chat(state: Shared, body: Bytes) -> Result<Response, OpenAiError> {
    let received = Instant::now();
    let map = request::object(&body)?;
    let common = request::common(&map, &state.limits, state.next_seed())?;
    let messages = request::messages(&map)?;
    let served = state.model(&common.model)?.clone();
    let prompt = served.engine.encode_chat(&messages)?;
    let job = Job::new(&state, &served, Kind::Chat, common, vec![prompt], "messages", received)?;
    run(state, served, job).await
}

pub(super) async fn completion(state: Shared, body: Bytes) -> Result<Response, OpenAiError> {
    let received = Instant::now();
    let map = request::object(&body)?;
    let mut common = request::common(&map, &state.limits, state.next_seed())?;
    // OpenAI's legacy endpoint generates 16 tokens unless told otherwise.
    common.max_tokens = common.max_tokens.or(Some(16));
    let texts = request::prompts(&map)?;
    let served = state.model(&common.model)?.clone();
    let prompts = texts
        .iter()
        .map(|t| served.engine.tokenizer().encode(t, true))
        .collect::<Result<Vec<_>, _>>()?;
    let job = Job::new(&state, &served, Kind::Completion, common, prompts, "prompt", received)?;
    run(state, served, job).await
}

impl Job {
    fn new(
        state: &AppState,
        served: &ServedLlm,
        kind: Kind,
        common: Common,
        prompts: Vec<Vec<u32>>,
        param: &str,
        received: Instant,
    ) -> Result<Self, OpenAiError> {
        let context = served.engine.context_length();
        let limit = state.limits.max_prompt_tokens.min(context.saturating_sub(1));
        let mut budgeted = Vec::with_capacity(prompts.len());
        for prompt in prompts {
            if prompt.is_empty() {
                return Err(OpenAiError::invalid(
                    param,
                    format!("'{param}' is empty after tokenization"),
                ));
            }
            if prompt.len() > limit {
                return Err(OpenAiError::context_length(
                    param,
                    format!(
                        "the prompt has {} tokens; this server accepts at most {limit}",
                        prompt.len()
                    ),
                ));
            }
            let room = context - prompt.len();
            let budget = match common.max_tokens {
                Some(m) if m > room => {
                    return Err(OpenAiError::context_length(
                        param,
                        format!(
                            "this model's context is {context} tokens; the prompt has {} and max_tokens asks for {m}",
                            prompt.len()
                        ),
                    ))
                }
                Some(m) => m,
                None => room.min(state.limits.max_tokens),
            };
            budgeted.push((prompt, budget));
        }
        let prefix = if kind == Kind::Chat { "chatcmpl" } else { "cmpl" };
        Ok(Job {
            kind,
            received,
            id: format!("{prefix}-{}", uuid::Uuid::new_v4().simple()),
            created: super::unix_now(),
            common,
            prompts: budgeted,
        })
    }

    fn object(&self, chunk: bool) -> &'static str {
        match (self.kind, chunk) {
            (Kind::Chat, false) => "chat.completion",
            (Kind::Chat, true) => "chat.completion.chunk",
            (Kind::Completion, _) => "text_completion",
        }
    }

    /// Choices in order: prompt by prompt, `n` each, with their own seeds
    /// so that `n` samples differ and a seed still reproduces the set.
    fn choices(&self) -> Vec<(usize, usize, GenerationParams)> {
        let mut out = Vec::new();
        for (p, (_, budget)) in self.prompts.iter().enumerate() {
            for i in 0..self.common.n {
                let index = p * self.common.n + i;
                let mut params = self.common.params.clone();
                params.max_tokens = *budget;
                params.sampling.seed = params.sampling.seed.wrapping_add(index as u64);
                out.push((index, p, params));
            }
        }
        out
    }

    fn prompt_tokens(&self) -> usize {
        self.prompts.iter().map(|(p, _)| p.len()).sum()
    }

    fn envelope(&self, choices: Vec<Value>, usage: Option<Value>, chunk: bool) -> Value {
        let mut v = json!({
            "id": self.id, "object": self.object(chunk), "created": self.created,
            "model": self.common.model, "system_fingerprint": "lathe", "choices": choices,
        });
        if let Some(u) = usage {
            v["usage"] = u;
        }
        v
    }
}

fn usage(prompt: usize, completion: usize) -> Value {
    json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

pub(super) async fn slot(state: &AppState) -> Result<OwnedSemaphorePermit, OpenAiError> {
    if let Ok(p) = state.slots.clone().try_acquire_owned() {
        return Ok(p);
    }
    if state.waiting.fetch_add(1, Ordering::SeqCst) >= state.limits.max_queue {
        state.waiting.fetch_sub(1, Ordering::SeqCst);
        return Err(OpenAiError::overloaded());
    }
    let permit = state.slots.clone().acquire_owned().await;
    state.waiting.fetch_sub(1, Ordering::SeqCst);
    permit.map_err(|_| OpenAiError::internal("the server is shutting down"))
}

async fn run(state: Shared, served: ServedLlm, job: Job) -> Result<Response, OpenAiError> {
    let metrics = state.metrics_of(&served.name);
    let permit = slot(&state).await?;
    if job.common.stream {
        return Ok(stream(served.engine, job, permit, metrics));
    }
    let engine = served.engine;
    let body = tokio::task::spawn_blocking(move || -> Result<Value, OpenAiError> {
        let _permit = permit;
        let mut choices = Vec::new();
        let mut completion_tokens = 0;
        let mut result = Ok(());
        for (index, p, params) in job.choices() {
            let before = job.received.elapsed();
            let g = match engine.generate(&job.prompts[p].0, &params, &mut |_| true) {
                Ok(g) => g,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            if index == 0 {
                metrics.first_token(before + g.prompt_time);
            }
            completion_tokens += g.token_ids.len();
            choices.push(match job.kind {
                Kind::Chat => {
                    json!({"index": index, "message": {"role": "assistant", "content": g.text},
                                     "logprobs": null, "finish_reason": g.finish_reason.as_str()})
                }
                Kind::Completion => json!({"index": index, "text": g.text, "logprobs": null,
                                           "finish_reason": g.finish_reason.as_str()}),
            });
        }
        let prompt_tokens = job.prompt_tokens();
        let took = job.received.elapsed();
        metrics.finished(prompt_tokens, completion_tokens, took, result.is_err());
        result?;
        Ok(job.envelope(choices, Some(usage(prompt_tokens, completion_tokens)), false))
    })
    .await
    .map_err(|e| OpenAiError::internal(format!("generation failed: {e}")))??;
    Ok(Json(body).into_response())
}

/// Server-sent events: a chunk per piece of text, a last chunk per choice
/// with its finish reason, usage if asked, then `data: [DONE]`. A client
/// that goes away stops the generation at its next token.
fn stream(
    engine: Arc<dyn Engine>,
    job: Job,
    permit: OwnedSemaphorePermit,
    metrics: Arc<ModelMetrics>,
) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut completion_tokens = 0;
        let failed = stream_choices(&engine, &job, &tx, &metrics, &mut completion_tokens);
        metrics.finished(job.prompt_tokens(), completion_tokens, job.received.elapsed(), failed);
    });
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, std::convert::Infallible>(b), rx))
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")],
        Body::from_stream(events),
    )
        .into_response()
}

/// Sends every choice's events; returns whether a generation failed.
fn stream_choices(
    engine: &Arc<dyn Engine>,
    job: &Job,
    tx: &mpsc::Sender<Bytes>,
    metrics: &ModelMetrics,
    completion_tokens: &mut usize,
) -> bool {
    let send = |v: &Value| tx.blocking_send(Bytes::from(format!("data: {v}\n\n"))).is_ok();
    let delta = |index: usize, text: &str, finish: Option<&str>, first: bool| -> Value {
        match job.kind {
            Kind::Chat => {
                let d = if finish.is_some() {
                    json!({})
                } else if first {
                    json!({"role": "assistant", "content": text})
                } else {
                    json!({"content": text})
                };
                json!({"index": index, "delta": d, "logprobs": null, "finish_reason": finish})
            }
            Kind::Completion => {
                json!({"index": index, "text": text, "logprobs": null, "finish_reason": finish})
            }
        }
    };
    for (index, p, params) in job.choices() {
        if job.kind == Kind::Chat
            && !send(&job.envelope(vec![delta(index, "", None, true)], None, true))
        {
            return false;
        }
        let before = job.received.elapsed();
        let result = engine.generate(&job.prompts[p].0, &params, &mut |piece| {
            send(&job.envelope(vec![delta(index, piece, None, false)], None, true))
        });
        if let Ok(g) = &result {
            *completion_tokens += g.token_ids.len();
            if index == 0 {
                metrics.first_token(before + g.prompt_time);
            }
        }
        match result {
            Ok(g) if g.finish_reason == lathe_llm::FinishReason::Cancelled => return false,
            Ok(g) => {
                let last = delta(index, "", Some(g.finish_reason.as_str()), false);
                if !send(&job.envelope(vec![last], None, true)) {
                    return false;
                }
            }
            Err(e) => {
                send(&OpenAiError::from(e).body());
                return true;
            }
        }
    }
    if job.common.include_usage {
        let total = usage(job.prompt_tokens(), *completion_tokens);
        send(&job.envelope(vec![], Some(total), true));
    }
    let _ = tx.blocking_send(Bytes::from_static(b"data: [DONE]\n\n"));
    false
}
