//! The HTTP surface: MLflow's `POST /invocations`, lathe's `/v1/models`,
//! `/health`, `/ready` and `/metrics`. Every response carries a prediction
//! id; a client's mistake is always a 4xx with a JSON body that never quotes
//! the request.

use std::time::Instant;

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
use serde_json::json;

use crate::{
    feedback,
    limits::{self, Limits, Options},
    metrics,
    predlog::{Logging, PredictionLog},
    protocol::{self, Frame, InputError},
    signature::shorten,
    LoadedModel, Served,
};

/// The response header that carries the prediction id.
pub const PREDICTION_ID_HEADER: &str = "x-prediction-id";

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

/// Reads and checks a request against `model`; the rows and the
/// positive-class probability of each.
fn score(
    model: &LoadedModel,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    v1: bool,
) -> Result<(Vec<Vec<f64>>, Vec<f64>), ApiError> {
    let body = body.map_err(|r| body_error(&r))?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let frame: Frame = if v1 && content_type.is_none() {
        protocol::parse_json(&body)?
    } else {
        protocol::parse(content_type, &body)?
    };
    drop(body);
    let rows = model.signature.check(&frame).map_err(|problems| ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "INVALID_PARAMETER_VALUE",
        message: format!(
            "the input does not match the signature of {} version {}",
            model.name, model.version
        ),
        problems,
    })?;
    let probabilities = rows
        .iter()
        .map(|row| model.model.predict_proba_row(row))
        .collect::<Result<Vec<f64>, _>>()
        .map_err(|e| {
            tracing::error!("model {} version {} failed: {e}", model.name, model.version);
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "the model failed")
        })?;
    Ok((rows, probabilities))
}

/// MLflow's scoring endpoint, answered by the first model.
async fn invocations(
    State(state): State<AppState>,
    Extension(id): Extension<PredictionId>,
    Extension(logging): Extension<Logging>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let start = Instant::now();
    let Some(current) = state.current(0) else {
        return not_loaded(&id);
    };
    let result = score(&current.model, &headers, body, false);
    current.metrics.observe(start.elapsed(), result.is_err());
    match result {
        Ok((rows, probabilities)) => {
            logging.scored(&current.model, &id.0, &rows, &probabilities, start.elapsed());
            Json(json!({ "predictions": probabilities })).into_response()
        }
        Err(e) => e.respond(&id),
    }
}

#[derive(Serialize)]
struct PredictResponse<'a> {
    prediction_id: &'a str,
    model: ModelRef<'a>,
    predictions: Vec<&'a str>,
    probabilities: Vec<f64>,
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
    let Some(current) = state.position(&name).and_then(|i| state.current(i)) else {
        let message = format!("no model named '{}' is served", shorten(&name));
        return ApiError::new(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", message)
            .respond(&id);
    };
    let model = &current.model;
    let result = score(model, &headers, body, true);
    current.metrics.observe(start.elapsed(), result.is_err());
    match result {
        Ok((rows, probabilities)) => {
            logging.scored(model, &id.0, &rows, &probabilities, start.elapsed());
            let label = &model.model.label;
            let predictions = probabilities
                .iter()
                .map(|p| {
                    if *p >= 0.5 {
                        label.positive_class.as_str()
                    } else {
                        label.negative_class.as_str()
                    }
                })
                .collect();
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
                "kind": m.model.kind(),
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
