//! The HTTP surface: MLflow's `POST /invocations`, lathe's `/v1/models`,
//! `/health`, `/ready` and `/metrics`. Every response carries a prediction
//! id; a client's mistake is always a 4xx with a JSON body that never quotes
//! the request.

use std::{
    cell::Cell,
    hash::{BuildHasher, Hasher, RandomState},
    sync::Arc,
    time::Instant,
};

use axum::{
    body::{Body, Bytes},
    extract::{DefaultBodyLimit, Path, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Extension, Json, Router,
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;
use serde_json::{json, Value};

use crate::{
    batch::{self, BatchOptions, RowResult},
    feedback,
    limits::{Limits, Options},
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

/// What every route reads: the served models, the limits (whose options
/// also size each model's batches) and the prediction log. One `Arc`, so
/// handing it to a handler is one reference count, not one per part.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) served: Served,
    pub(crate) limits: Limits,
    pub(crate) logging: Logging,
}

pub(crate) type AppState = Arc<App>;

/// The id of one request: the prediction routes make their own, every
/// other route gets one from the outermost middleware.
#[derive(Debug, Clone)]
pub(crate) struct PredictionId(String);

thread_local! {
    /// Each thread's secret SipHash keys (drawn from the OS once per
    /// thread by the standard library) and its count of ids so far.
    static ID_KEYS: (RandomState, Cell<u64>) = (RandomState::new(), Cell::new(0));
}

impl PredictionId {
    /// A UUID v4, as 32 hex digits like lathe's other ids: the keyed hash
    /// of the thread's count, so as unlikely to repeat as OS randomness.
    /// `Uuid::new_v4` asks the kernel for 16 bytes per call, a syscall per
    /// prediction (2% of a one-row request's CPU); uuid's `fast-rng`
    /// feature would avoid it, but changing uuid's features rebuilds Polars.
    fn new() -> PredictionId {
        let random = ID_KEYS.with(|(keys, count)| {
            let n = count.get();
            count.set(n.wrapping_add(1));
            let half = |part: u64| {
                let mut hasher = keys.build_hasher();
                hasher.write_u64(n);
                hasher.write_u64(part);
                hasher.finish()
            };
            (u128::from(half(0)) << 64) | u128::from(half(1))
        });
        let uuid = uuid::Builder::from_random_bytes(random.to_le_bytes()).into_uuid();
        PredictionId(uuid.simple().to_string())
    }

    /// `response`, carrying this id in its header.
    fn stamp(&self, mut response: Response) -> Response {
        if let Ok(value) = HeaderValue::from_str(&self.0) {
            response.headers_mut().insert(PREDICTION_ID_HEADER, value);
        }
        response
    }
}

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

fn build(served: Served, limits: Limits, logging: Logging) -> Router {
    let max_body_bytes = limits.options().max_body_bytes;
    let state = Arc::new(App { served, limits, logging });
    // The prediction routes make their id, take their slot and read their
    // body in the handler (see `prediction`): as middleware layers these
    // cost a boxed future, a clone of the router's service, an extension
    // map and a copy of the headers per request.
    let predictions = Router::new()
        .route("/invocations", post(invocations).fallback(not_post))
        .route("/v1/models/{name}/predict", post(predict).fallback(not_post));
    let rest = Router::new()
        .route("/v1/models", get(list_models))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(prometheus))
        .route("/feedback", post(feedback::post))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn(prediction_id));
    predictions.merge(rest).with_state(state)
}

/// Gives a request of the other routes an id, visible to their handlers
/// and sent back as a header.
async fn prediction_id(mut request: Request, next: Next) -> Response {
    let id = PredictionId::new();
    request.extensions_mut().insert(id.clone());
    id.stamp(next.run(request).await)
}

/// Runs a prediction route's `handle` with a new id, within the server's
/// limits (a slot or 503, the deadline or 504), on the request's headers
/// and its body read up to the size limit (413).
async fn prediction<'a, F>(
    app: &'a App,
    request: Request,
    handle: impl FnOnce(&'a App, PredictionId, HeaderMap, Result<Bytes, ApiError>) -> F,
) -> Response
where
    F: std::future::Future<Output = Response>,
{
    let id = PredictionId::new();
    let stamped = id.clone();
    let work = async move {
        let (parts, body) = request.into_parts();
        let body = read_body(body, app.limits.options().max_body_bytes).await;
        handle(app, id, parts.headers, body).await
    };
    stamped.stamp(app.limits.run(&stamped, work).await)
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

/// A request's body, refused with 413 beyond `limit` bytes.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "REQUEST_TOO_LARGE",
            "the request body is too large",
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "cannot read the request body",
        )),
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
fn read_frame(content_type: Option<&str>, body: &[u8], v1: bool) -> Result<Frame, ApiError> {
    let frame: Frame = if v1 && content_type.is_none() {
        protocol::parse_json(body)?
    } else {
        protocol::parse(content_type, body)?
    };
    Ok(frame)
}

/// Checks `frame` against `model`'s signature: the rows as the model reads them.
fn check(model: &LoadedModel, frame: &Frame) -> Result<Inputs, ApiError> {
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
        return model.signature.records(frame).map(Inputs::Records).map_err(refused);
    }
    model.signature.check(frame).map(Inputs::Rows).map_err(refused)
}

/// The answer to a request from its rows' results: a record the model
/// could not score is the client's (400, every row named); a numeric row it
/// could not score is the model's failure (500).
fn finish(
    model: &LoadedModel,
    inputs: Inputs,
    results: Vec<RowResult>,
) -> Result<Scored, ApiError> {
    let mut outputs = Vec::with_capacity(results.len());
    let mut problems = Vec::new();
    for (r, result) in results.into_iter().enumerate() {
        match result {
            Ok(output) => outputs.push(output),
            Err(e) if problems.len() < 100 => problems.push(format!("row {r}: {e}")),
            Err(_) => {}
        }
    }
    if problems.is_empty() {
        return Ok((inputs, outputs));
    }
    if let Inputs::Records(_) = inputs {
        return Err(ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_PARAMETER_VALUE",
            message: format!(
                "the input does not match the signature of {} version {}",
                model.name, model.version
            ),
            problems,
        });
    }
    tracing::error!(
        "model {} version {} failed: {}",
        model.name,
        model.version,
        problems.join("; ")
    );
    Err(model_failed())
}

fn model_failed() -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "the model failed")
}

/// Checks and scores one request's rows by themselves, in one scorer call.
fn score_alone(current: &Current, inputs: Inputs) -> Result<Scored, ApiError> {
    let results = batch::score_batch(&current.model.scorer, &[&inputs]).pop().unwrap_or_default();
    current.metrics.observe_batch(inputs.len());
    finish(&current.model, inputs, results)
}

/// Scores a request with whoever the traffic policy picks (grouped with
/// concurrent requests for the same version when batching is on), and
/// hands a copy to the shadow (off the request path) when there is one.
#[allow(clippy::too_many_arguments)]
async fn answer(
    routed: Routed,
    id: &PredictionId,
    headers: &HeaderMap,
    body: Result<Bytes, ApiError>,
    v1: bool,
    start: Instant,
    app: &App,
) -> (Arc<Current>, Result<Scored, ApiError>) {
    let Routed { answer, shadow } = routed;
    let batching = app.limits.options().batch(&answer.model.scorer);
    let result = score(&answer, shadow, id, headers, body, v1, &app.logging, batching).await;
    answer.metrics.observe(start.elapsed(), result.is_err());
    (answer, result)
}

#[allow(clippy::too_many_arguments)]
async fn score(
    current: &Current,
    shadow: Option<Arc<Current>>,
    id: &PredictionId,
    headers: &HeaderMap,
    body: Result<Bytes, ApiError>,
    v1: bool,
    logging: &Logging,
    batching: BatchOptions,
) -> Result<Scored, ApiError> {
    // Counted from here, so a leader already scoring this version can wait
    // for this request while its body is parsed and checked.
    let arriving = batching.enabled().then(|| current.batch.arriving());
    let body = body?;
    // The shadow scores the request's frame, so only a request without
    // one can skip building it.
    let numeric = shadow.is_none() && !current.model.scorer.takes_records();
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let fast = (numeric && protocol::is_json(content_type, v1))
        .then(|| {
            protocol::numbers(&body, current.model.signature.columns.len())
                .and_then(|n| current.model.signature.check_numbers(n))
        })
        .flatten();
    let (frame, inputs) = match fast {
        Some(rows) => (None, Inputs::Rows(rows)),
        None => {
            let frame = read_frame(content_type, &body, v1)?;
            let inputs = check(&current.model, &frame)?;
            (Some(frame), inputs)
        }
    };
    let result = match arriving {
        // A request that fills a batch by itself gains nothing from
        // waiting its turn: it is scored at once, beside the batches.
        Some(arriving) if inputs.len() < batching.max_rows => {
            let batcher = &current.batch;
            match batcher
                .score(&current.model.scorer, &current.metrics, batching, inputs, arriving)
                .await
            {
                Ok((inputs, results)) => finish(&current.model, inputs, results),
                Err(batch::Lost) => Err(model_failed()),
            }
        }
        Some(_) | None => score_alone(current, inputs),
    };
    if let (Some(shadow), Some(frame), Ok(_)) = (shadow, frame, &result) {
        spawn_shadow(shadow, frame, id.0.clone(), logging.clone());
    }
    result
}

/// The shadow scores the same rows on the blocking pool, by themselves; its
/// answer goes to the prediction log (as `ID:shadow`) and its counters,
/// never to the client.
fn spawn_shadow(shadow: Arc<Current>, frame: Frame, id: String, logging: Logging) {
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let result = check(&shadow.model, &frame).and_then(|inputs| score_alone(&shadow, inputs));
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
async fn invocations(State(app): State<AppState>, request: Request) -> Response {
    prediction(&app, request, invoke).await
}

async fn invoke(
    app: &App,
    id: PredictionId,
    headers: HeaderMap,
    body: Result<Bytes, ApiError>,
) -> Response {
    let start = Instant::now();
    let Some(routed) = app.served.route(0, &id.0) else {
        return not_loaded(&id);
    };
    let (answered_by, result) = answer(routed, &id, &headers, body, false, start, app).await;
    match result {
        Ok((rows, outputs)) => {
            app.logging.scored(&answered_by.model, &id.0, &rows, &outputs, start.elapsed());
            let mut response = Json(Predictions { predictions: &outputs }).into_response();
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
    probabilities: Option<&'a [Output]>,
}

/// MLflow's answer: one prediction per row.
#[derive(Serialize)]
struct Predictions<'a> {
    predictions: &'a [Output],
}

#[derive(Serialize)]
struct ModelRef<'a> {
    name: &'a str,
    version: i64,
}

/// lathe's own endpoint: JSON records in; labels, probabilities and the id out.
async fn predict(
    State(app): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    prediction(&app, request, |app, id, headers, body| predict_named(app, id, name, headers, body))
        .await
}

async fn predict_named(
    app: &App,
    id: PredictionId,
    name: String,
    headers: HeaderMap,
    body: Result<Bytes, ApiError>,
) -> Response {
    let start = Instant::now();
    let state = &app.served;
    if state.is_empty() {
        return not_loaded(&id);
    }
    let Some(routed) = state.position(&name).and_then(|i| state.route(i, &id.0)) else {
        let message = format!("no model named '{}' is served", shorten(&name));
        return ApiError::new(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", message)
            .respond(&id);
    };
    let (current, result) = answer(routed, &id, &headers, body, true, start, app).await;
    let model = &current.model;
    match result {
        Ok((rows, outputs)) => {
            app.logging.scored(model, &id.0, &rows, &outputs, start.elapsed());
            let classes = model.scorer.classes();
            let (predictions, probabilities) = if classes.is_empty() {
                (outputs.iter().map(Output::to_json).collect(), None)
            } else {
                let labels = outputs.iter().map(|o| json!(o.label(&classes))).collect();
                (labels, Some(outputs.as_slice()))
            };
            let model = ModelRef { name: &model.name, version: model.version };
            Json(PredictResponse { prediction_id: &id.0, model, predictions, probabilities })
                .into_response()
        }
        Err(e) => e.respond(&id),
    }
}

/// What is loaded: name, version, alias, signature.
async fn list_models(State(app): State<AppState>) -> Response {
    let models: Vec<_> = app
        .served
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

async fn ready(State(app): State<AppState>, Extension(id): Extension<PredictionId>) -> Response {
    if app.served.is_empty() {
        return not_loaded(&id);
    }
    Json(json!({ "status": "ready", "models": app.served.len() })).into_response()
}

/// 503 while no model is loaded. `lathe serve` loads every model before it
/// listens, so it never answers this; a library user may serve an empty
/// [`Served`] (models still loading elsewhere) and gets it from `/ready`
/// and every prediction route.
fn not_loaded(id: &PredictionId) -> Response {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "no model is loaded").respond(id)
}

async fn prometheus(State(app): State<AppState>) -> Response {
    let content_type = [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")];
    let state = &app.served;
    let mut text = metrics::render(&state.history(), state.len(), state.swaps());
    app.limits.render(&mut text);
    if let Some(log) = &app.logging.0 {
        log.render(&mut text);
    }
    (content_type, text).into_response()
}

/// Another method on a prediction route: 405, naming the one it takes.
async fn not_post() -> Response {
    let id = PredictionId::new();
    let refused = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "this endpoint takes POST",
    );
    let mut response = id.stamp(refused.respond(&id));
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

async fn not_found(Extension(id): Extension<PredictionId>) -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "ENDPOINT_NOT_FOUND", "no such endpoint").respond(&id)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::PredictionId;

    #[test]
    fn prediction_ids_are_distinct_uuid_v4s_across_threads() {
        let draw = || (0..10_000).map(|_| PredictionId::new().0).collect::<Vec<_>>();
        let other = std::thread::spawn(draw);
        let mut ids = draw();
        ids.extend(other.join().unwrap_or_else(|_| panic!("the other thread panicked")));
        let distinct: HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids {
            let uuid = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(uuid.get_version_num(), 4, "{id}");
            assert_eq!(uuid.simple().to_string(), *id);
        }
    }
}
