//! The HTTP surface: MLflow's `POST /invocations`, lathe's `/v1/models`,
//! `/health`, `/ready` and `/metrics`. Every response carries a prediction
//! id; a client's mistake is always a 4xx with a JSON body that never quotes
//! the request.

use std::{sync::Arc, time::Instant};

use axum::{
    body::Bytes,
    extract::{rejection::BytesRejection, DefaultBodyLimit, Path, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Extension, Json, Router,
};
use serde::Serialize;
use serde_json::{json, Value};

use crate::{
    feedback,
    limits::{self, Limits, Options},
    metrics,
    predlog::{Logging, PredictionLog},
    protocol::{self, Frame, InputError},
    scorer::Output,
    signature::shorten,
    traffic::Routed,
    watch::Current,
    LoadedModel, Served,
};

/// The response header that carries the prediction id.
pub const PREDICTION_ID_HEADER: &str = "x-prediction-id";

/// The response header of `/invocations` that names the version that
/// answered (MLflow's body has no room for it; a canary makes it vary).
pub const MODEL_VERSION_HEADER: &str = "x-model-version";

type AppState = Served;

/// The id of one request, set by the outermost middleware.
#[derive(Debug, Clone)]
pub(crate) struct PredictionId(String);

/// The server for `models` (`/invocations` answers for the first), which
/// never change; [`Served::router`] for models that are hot-swapped.
pub fn router(models: Vec<LoadedModel>, options: Options) -> Router {
    Served::new(models).router(options)
}

impl Served {
    /// The server for these models; it answers with whatever version each
    /// serves when a request arrives (see [`crate::watch`]).
    pub fn router(&self, options: Options) -> Router {
        self.router_with_limits(Limits::new(options))
    }

    /// The same, with `limits` (and their options) shared with the caller.
    pub fn router_with_limits(&self, limits: Limits) -> Router {
        build(self.clone(), limits, Logging::default())
    }

    /// The same, logging every prediction to `log` and taking `POST /feedback`.
    pub fn router_with_log(&self, limits: Limits, log: PredictionLog) -> Router {
        build(self.clone(), limits, Logging(Some(log)))
    }
}

fn build(state: AppState, limits: Limits, logging: Logging) -> Router {
    let limited = || middleware::from_fn_with_state(limits.clone(), limits::limit);
    let max_body_bytes = limits.options().max_body_bytes;
    Router::new()
        .route("/invocations", post(invocations).layer(limited()))
        .route("/v1/models", get(list_models))
        .route("/v1/models/{name}/predict", post(predict).layer(limited()))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(prometheus).layer(Extension(limits.clone())))
        .route("/feedback", post(feedback::post))
        .fallback(not_found)
        .layer(Extension(logging))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn(prediction_id))
        .with_state(state)
}

/// Gives every request an id, visible to handlers and sent back as a header.
async fn prediction_id(mut request: Request, next: Next) -> Response {
    let id = lathe_core::new_id();
    request.extensions_mut().insert(PredictionId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(PREDICTION_ID_HEADER, value);
    }
    response
}

/// A refused request: MLflow's `{error_code, message}`, the problems, the id.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    problems: Vec<String>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError { status, code, message: message.into(), problems: Vec::new() }
    }

    pub(crate) fn with_problems(mut self, problems: Vec<String>) -> ApiError {
        self.problems = problems;
        self
    }

    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    #[cfg(test)]
    pub(crate) fn problems(&self) -> &[String] {
        &self.problems
    }

    pub(crate) fn respond(self, id: &PredictionId) -> Response {
        let mut body = json!({
            "error_code": self.code,
            "message": self.message,
            "prediction_id": id.0,
        });
        if !self.problems.is_empty() {
            body["problems"] = json!(self.problems);
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> ApiError {
        match e {
            InputError::BadRequest(m) => ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", m),
            InputError::UnsupportedMediaType(m) => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", m)
            }
        }
    }
}

fn body_error(rejection: &BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "REQUEST_TOO_LARGE",
            "the request body is too large",
        )
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", "cannot read the request body")
    }
}

/// What a model read for each row of a request.
#[derive(Debug)]
pub(crate) enum Inputs {
    /// Numbers in the signature's order.
    Rows(Vec<Vec<f64>>),
    /// JSON records (models that preprocess their own inputs).
    Records(Vec<serde_json::Map<String, Value>>),
}

/// What the model read and its output for each row.
type Scored = (Inputs, Vec<Output>);

/// Reads a request body as a frame, before any model is involved.
fn read_frame(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    v1: bool,
) -> Result<Frame, ApiError> {
    let body = body.map_err(|r| body_error(&r))?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let frame: Frame = if v1 && content_type.is_none() {
        protocol::parse_json(&body)?
    } else {
        protocol::parse(content_type, &body)?
    };
    Ok(frame)
}

/// Checks `frame` against `model`'s signature and scores every row: the
/// rows as the model read them, and its output for each.
fn score(model: &LoadedModel, frame: &Frame) -> Result<Scored, ApiError> {
    let refused = |problems| ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "INVALID_PARAMETER_VALUE",
        message: format!(
            "the input does not match the signature of {} version {}",
            model.name, model.version
        ),
        problems,
    };
    if model.scorer.takes_records() {
        let records = model.signature.records(frame).map_err(refused)?;
        let mut outputs = Vec::with_capacity(records.len());
        let mut problems = Vec::new();
        for (r, record) in records.iter().enumerate() {
            match model.scorer.score_record(record) {
                Ok(output) => outputs.push(output),
                Err(e) if problems.len() < 100 => problems.push(format!("row {r}: {e}")),
                Err(_) => {}
            }
        }
        if !problems.is_empty() {
            return Err(refused(problems));
        }
        return Ok((Inputs::Records(records), outputs));
    }
    let rows = model.signature.check(frame).map_err(|problems| ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "INVALID_PARAMETER_VALUE",
        message: format!(
            "the input does not match the signature of {} version {}",
            model.name, model.version
        ),
        problems,
    })?;
    let outputs = model.scorer.score_rows(&rows).map_err(|e| {
        tracing::error!("model {} version {} failed: {e}", model.name, model.version);
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "the model failed")
    })?;
    Ok((Inputs::Rows(rows), outputs))
}

/// Scores a request with whoever the traffic policy picks, and hands a
/// copy to the shadow (off the request path) when there is one.
fn answer(
    routed: Routed,
    id: &PredictionId,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    v1: bool,
    start: Instant,
    logging: &Logging,
) -> (Arc<Current>, Result<Scored, ApiError>) {
    let Routed { answer, shadow } = routed;
    let result = read_frame(headers, body, v1).and_then(|frame| {
        let result = score(&answer.model, &frame);
        if let (Some(shadow), Ok(_)) = (shadow, &result) {
            spawn_shadow(shadow, frame, id.0.clone(), logging.clone());
        }
        result
    });
    answer.metrics.observe(start.elapsed(), result.is_err());
    (answer, result)
}

/// The shadow scores the same rows on the blocking pool; its answer goes to
/// the prediction log (as `ID:shadow`) and its counters, never to the client.
fn spawn_shadow(shadow: Arc<Current>, frame: Frame, id: String, logging: Logging) {
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let result = score(&shadow.model, &frame);
        let elapsed = start.elapsed();
        shadow.metrics.observe_shadow(elapsed, result.is_err());
        match result {
            Ok((rows, outputs)) => {
                logging.scored(&shadow.model, &format!("{id}:shadow"), &rows, &outputs, elapsed);
            }
            Err(e) => tracing::debug!(
                target: "lathe_serve::shadow",
                prediction_id = %id, model = %shadow.model.name, version = shadow.model.version,
                error = %e.message, "shadow prediction refused"
            ),
        }
    });
}

/// MLflow's scoring endpoint, answered by the first model (or its canary).
async fn invocations(
    State(state): State<AppState>,
    Extension(id): Extension<PredictionId>,
    Extension(logging): Extension<Logging>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let start = Instant::now();
    let Some(routed) = state.route(0, &id.0) else {
        return not_loaded(&id);
    };
    let (answered_by, result) = answer(routed, &id, &headers, body, false, start, &logging);
    match result {
        Ok((rows, outputs)) => {
            logging.scored(&answered_by.model, &id.0, &rows, &outputs, start.elapsed());
            let predictions: Vec<Value> = outputs.iter().map(Output::to_json).collect();
            let mut response = Json(json!({ "predictions": predictions })).into_response();
            response.headers_mut().insert(MODEL_VERSION_HEADER, answered_by.model.version.into());
            response
        }
        Err(e) => e.respond(&id),
    }
}

#[derive(Serialize)]
struct PredictResponse<'a> {
    prediction_id: &'a str,
    model: ModelRef<'a>,
    /// Class labels for classifiers, values for regressors.
    predictions: Vec<Value>,
    /// Per row: the positive class's probability (binary) or every class's (multiclass).
    #[serde(skip_serializing_if = "Option::is_none")]
    probabilities: Option<Vec<Value>>,
}

#[derive(Serialize)]
struct ModelRef<'a> {
    name: &'a str,
    version: i64,
}

/// lathe's own endpoint: JSON records in; labels, probabilities and the id out.
async fn predict(
    State(state): State<AppState>,
    Extension(id): Extension<PredictionId>,
    Extension(logging): Extension<Logging>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let start = Instant::now();
    if state.is_empty() {
        return not_loaded(&id);
    }
    let Some(routed) = state.position(&name).and_then(|i| state.route(i, &id.0)) else {
        let message = format!("no model named '{}' is served", shorten(&name));
        return ApiError::new(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", message)
            .respond(&id);
    };
    let (current, result) = answer(routed, &id, &headers, body, true, start, &logging);
    let model = &current.model;
    match result {
        Ok((rows, outputs)) => {
            logging.scored(model, &id.0, &rows, &outputs, start.elapsed());
            let classes = model.scorer.classes();
            let (predictions, probabilities) = if classes.is_empty() {
                (outputs.iter().map(Output::to_json).collect(), None)
            } else {
                let labels = outputs.iter().map(|o| json!(o.label(&classes))).collect();
                (labels, Some(outputs.iter().map(Output::to_json).collect()))
            };
            let model = ModelRef { name: &model.name, version: model.version };
            Json(PredictResponse { prediction_id: &id.0, model, predictions, probabilities })
                .into_response()
        }
        Err(e) => e.respond(&id),
    }
}

/// What is loaded: name, version, alias, signature.
async fn list_models(State(state): State<AppState>) -> Response {
    let models: Vec<_> = state
        .all()
        .iter()
        .map(|current| {
            let m = &current.model;
            let inputs: Vec<_> = m
                .signature
                .columns
                .iter()
                .map(|c| json!({ "name": c.name, "type": c.ty, "required": c.required }))
                .collect();
            json!({
                "name": m.name,
                "version": m.version,
                "alias": m.alias,
                "uri": m.uri,
                "kind": m.scorer.kind(),
                "classes": m.scorer.classes(),
                "signature": { "inputs": inputs },
            })
        })
        .collect();
    Json(json!({ "models": models })).into_response()
}

async fn health() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

async fn ready(State(state): State<AppState>, Extension(id): Extension<PredictionId>) -> Response {
    if state.is_empty() {
        return not_loaded(&id);
    }
    Json(json!({ "status": "ready", "models": state.len() })).into_response()
}

/// 503 while no model is loaded. `lathe serve` loads every model before it
/// listens, so it never answers this; a library user may serve an empty
/// [`Served`] (models still loading elsewhere) and gets it from `/ready`
/// and every prediction route.
fn not_loaded(id: &PredictionId) -> Response {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "no model is loaded").respond(id)
}

async fn prometheus(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    Extension(logging): Extension<Logging>,
) -> Response {
    let content_type = [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")];
    let mut text = metrics::render(&state.history(), state.len(), state.swaps());
    limits.render(&mut text);
    if let Some(log) = &logging.0 {
        log.render(&mut text);
    }
    (content_type, text).into_response()
}

async fn not_found(Extension(id): Extension<PredictionId>) -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "ENDPOINT_NOT_FOUND", "no such endpoint").respond(&id)
}
