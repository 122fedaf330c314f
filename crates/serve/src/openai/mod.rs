//! OpenAI-compatible endpoints for language models, so the stock `openai`
//! client talks to `lathe serve --llm`: `POST /v1/chat/completions` and
//! `POST /v1/completions` (JSON, or server-sent events ending in
//! `data: [DONE]`), `POST /v1/embeddings`, `GET /v1/models`. Errors use OpenAI's body and
//! statuses. Generation is CPU-bound: it runs on blocking threads, at most
//! [`LlmLimits::max_concurrency`] at once with [`LlmLimits::max_queue`]
//! waiting (503 beyond), and stops when a streaming client goes away.
//! `GET /metrics` gives Prometheus metrics per model (`metrics.rs`).

mod embeddings;
mod error;
mod generate;
mod metrics;
mod request;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use lathe_llm::Engine;
use serde_json::json;
use tokio::sync::Semaphore;

pub use error::OpenAiError;

/// A language model served under a name.
#[derive(Clone)]
pub struct ServedLlm {
    /// The name clients pass as `model`.
    pub name: String,
    /// The loaded model.
    pub engine: Arc<dyn Engine>,
}

/// A sentence encoder served under a name, for `/v1/embeddings`.
#[derive(Clone)]
pub struct ServedEmbedder {
    /// The name clients pass as `model`.
    pub name: String,
    /// The loaded encoder.
    pub encoder: Arc<lathe_llm::Encoder>,
}

/// Per-request and server-wide bounds of the LLM endpoints.
#[derive(Debug, Clone)]
pub struct LlmLimits {
    /// Largest `max_tokens` a request may ask for.
    pub max_tokens: usize,
    /// Largest `n`.
    pub max_n: usize,
    /// Longest prompt in tokens (also bounded by the model's context).
    pub max_prompt_tokens: usize,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Generations running at once.
    pub max_concurrency: usize,
    /// Requests that may wait for a slot; beyond, 503.
    pub max_queue: usize,
}

impl Default for LlmLimits {
    fn default() -> Self {
        LlmLimits {
            max_tokens: 4096,
            max_n: 8,
            max_prompt_tokens: 32_768,
            max_body_bytes: 4 << 20,
            max_concurrency: 1,
            max_queue: 64,
        }
    }
}

struct AppState {
    models: Vec<ServedLlm>,
    /// The metrics of `models[i]`.
    metrics: Vec<Arc<metrics::ModelMetrics>>,
    embedders: Vec<ServedEmbedder>,
    limits: LlmLimits,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    seeds: AtomicU64,
    created: u64,
}

type Shared = Arc<AppState>;

/// The OpenAI-compatible routes for generative `models` and sentence `embedders`.
pub fn router(models: Vec<ServedLlm>, embedders: Vec<ServedEmbedder>, limits: LlmLimits) -> Router {
    let created = unix_now();
    let state = Arc::new(AppState {
        slots: Arc::new(Semaphore::new(limits.max_concurrency.max(1))),
        waiting: AtomicUsize::new(0),
        seeds: AtomicU64::new(created ^ 0x9E37_79B9_7F4A_7C15),
        metrics: models.iter().map(|_| Arc::default()).collect(),
        models,
        embedders,
        created,
        limits: limits.clone(),
    });
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/completions", post(completions))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/models", get(list_models))
        .route("/v1/models/{id}", get(get_model))
        .route("/metrics", get(prometheus))
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(ready))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .with_state(state)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl AppState {
    fn names(&self) -> Vec<String> {
        self.models
            .iter()
            .map(|m| m.name.clone())
            .chain(self.embedders.iter().map(|m| m.name.clone()))
            .collect()
    }

    /// The metrics of the generative model `name`.
    fn metrics_of(&self, name: &str) -> Arc<metrics::ModelMetrics> {
        self.models
            .iter()
            .position(|m| m.name == name)
            .and_then(|i| self.metrics.get(i).cloned())
            .unwrap_or_default()
    }

    fn model(&self, name: &str) -> Result<&ServedLlm, OpenAiError> {
        if let Some(m) = self.models.iter().find(|m| m.name == name) {
            return Ok(m);
        }
        if self.embedders.iter().any(|m| m.name == name) {
            return Err(OpenAiError::invalid(
                "model",
                format!("'{name}' is an embedding model; use /v1/embeddings"),
            ));
        }
        Err(OpenAiError::unknown_model(name, &self.names()))
    }

    fn embedder(&self, name: &str) -> Result<&ServedEmbedder, OpenAiError> {
        if let Some(m) = self.embedders.iter().find(|m| m.name == name) {
            return Ok(m);
        }
        if self.models.iter().any(|m| m.name == name) {
            return Err(OpenAiError::invalid(
                "model",
                format!("'{name}' generates text; embeddings need an embedding model"),
            ));
        }
        Err(OpenAiError::unknown_model(name, &self.names()))
    }

    /// A seed for requests that bring none: different for every request.
    fn next_seed(&self) -> u64 {
        self.seeds.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
    }

    fn model_json(&self, name: &str) -> serde_json::Value {
        json!({"id": name, "object": "model", "created": self.created, "owned_by": "lathe"})
    }
}

async fn list_models(State(state): State<Shared>) -> Json<serde_json::Value> {
    let data: Vec<_> = state.names().iter().map(|n| state.model_json(n)).collect();
    Json(json!({"object": "list", "data": data}))
}

/// Ready as soon as it answers: the router is built from models already
/// loaded, so a probe (Kubernetes' readinessProbe) can use it as it uses the
/// tabular server's `/ready`.
async fn ready(State(state): State<Shared>) -> Json<serde_json::Value> {
    Json(json!({"status": "ready", "models": state.names()}))
}

async fn get_model(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    if state.names().contains(&id) {
        Json(state.model_json(&id)).into_response()
    } else {
        OpenAiError::unknown_model(&id, &state.names()).into_response()
    }
}

async fn prometheus(State(state): State<Shared>) -> Response {
    let models: Vec<(&str, &metrics::ModelMetrics)> = state
        .models
        .iter()
        .map(|m| m.name.as_str())
        .zip(state.metrics.iter().map(|m| &**m))
        .collect();
    let queued = state.waiting.load(Ordering::Relaxed);
    let running =
        state.limits.max_concurrency.max(1).saturating_sub(state.slots.available_permits());
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        metrics::render(&models, queued, running),
    )
        .into_response()
}

async fn chat_completions(State(state): State<Shared>, body: Bytes) -> Response {
    generate::chat(state, body).await.unwrap_or_else(IntoResponse::into_response)
}

async fn completions(State(state): State<Shared>, body: Bytes) -> Response {
    generate::completion(state, body).await.unwrap_or_else(IntoResponse::into_response)
}

async fn embeddings(State(state): State<Shared>, body: Bytes) -> Response {
    embeddings::embeddings(state, body).await.unwrap_or_else(IntoResponse::into_response)
}
