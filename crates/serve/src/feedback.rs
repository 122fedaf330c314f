//! `POST /feedback`: ground-truth labels for logged predictions.
//!
//! The body is one `{prediction_id, label}` object or an array of them.
//! Every record is checked before anything is stored: a missing id, or a
//! label that is not one of the served models' classes (an object, a list,
//! null, or an unknown class) nor, when a regressor is served, a finite
//! number, refuses the whole request with one problem per bad record.
//! A class is stored as a JSON string, a regression target as a number. Labels for ids the log does not know are reported and
//! not stored; an id that already has a label keeps the first one unless
//! `?overwrite=true`.

use axum::{
    body::Bytes,
    extract::{rejection::BytesRejection, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Extension, Json,
};
use lathe_store::Feedback;
use serde_json::{json, Value};

use crate::{
    routes::{ApiError, AppState, PredictionId},
    signature::shorten,
};

/// Records per request, so one request cannot hold the writer for long.
const MAX_RECORDS: usize = 100_000;

pub(crate) async fn post(
    State(app): State<AppState>,
    Extension(id): Extension<PredictionId>,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(log) = &app.logging.0 else {
        let message = "this server does not log predictions, so it takes no feedback";
        return ApiError::new(StatusCode::NOT_FOUND, "ENDPOINT_NOT_FOUND", message).respond(&id);
    };
    let overwrite = match overwrite(query.as_deref()) {
        Ok(o) => o,
        Err(e) => return e.respond(&id),
    };
    let Ok(body) = body else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "cannot read the request body",
        )
        .respond(&id);
    };
    let expected = Expected {
        classes: app.served.all().iter().flat_map(|c| c.model.scorer.classes()).collect(),
        numbers: app.served.all().iter().any(|c| c.model.scorer.classes().is_empty()),
    };
    let records = match parse(&body, &expected) {
        Ok(r) => r,
        Err(e) => return e.respond(&id),
    };
    // A client that just got a prediction may label it at once: write what
    // is queued first, so its id is known.
    log.flush().await;
    match log.store().record_feedback(&records, overwrite).await {
        Ok(outcome) => Json(json!({
            "stored": outcome.stored.len(),
            "unknown": outcome.unknown,
            "kept_first": outcome.kept_first,
        }))
        .into_response(),
        Err(e) => {
            tracing::error!("feedback: {e}");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "cannot store feedback",
            )
            .respond(&id)
        }
    }
}

fn overwrite(query: Option<&str>) -> Result<bool, ApiError> {
    let mut overwrite = false;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=').unwrap_or((pair, "true")) {
            ("overwrite", "true" | "1") => overwrite = true,
            ("overwrite", "false" | "0") => overwrite = false,
            (key, _) => {
                let message = format!(
                    "query parameter '{}': expected overwrite=true or overwrite=false",
                    shorten(key)
                );
                return Err(ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message));
            }
        }
    }
    Ok(overwrite)
}

/// What a label may be.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expected {
    /// The classes of the served classifiers.
    pub(crate) classes: Vec<String>,
    /// Whether a regressor is served, whose labels are numbers.
    pub(crate) numbers: bool,
}

/// The records of a body, each label as its class (a JSON string) or its
/// value (a JSON number).
pub(crate) fn parse(body: &[u8], expected: &Expected) -> Result<Vec<Feedback>, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            format!("the body is not JSON (line {}, column {})", e.line(), e.column()),
        )
    })?;
    let items = match value {
        Value::Array(items) => items,
        one @ Value::Object(_) => vec![one],
        _ => {
            let message = "expected {\"prediction_id\", \"label\"} or a list of them";
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message));
        }
    };
    if items.is_empty() || items.len() > MAX_RECORDS {
        let message = format!("expected 1 to {MAX_RECORDS} records, got {}", items.len());
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message));
    }
    let now = lathe_core::now_millis();
    let mut records = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match record(item, expected) {
            Ok((prediction_id, label)) => {
                records.push(Feedback { prediction_id, label: label.to_string(), received_at: now })
            }
            Err(problem) => problems.push(format!("record {i}: {problem}")),
        }
    }
    if problems.is_empty() {
        Ok(records)
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
            format!(
                "{} of {} feedback records are invalid; nothing stored",
                problems.len(),
                items.len()
            ),
        )
        .with_problems(problems))
    }
}

fn record(item: &Value, expected: &Expected) -> Result<(String, Value), String> {
    let id = match item.get("prediction_id") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => s.clone(),
        Some(_) => return Err("prediction_id must be a non-empty string".into()),
        None => return Err("missing prediction_id".into()),
    };
    let label = match item.get("label") {
        Some(Value::String(s)) => s.clone(),
        // CSV-minded clients send 0/1 or true/false for classes named so.
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(other) => {
            return Err(format!(
                "prediction_id '{}': label must be a class or a number, got {}",
                shorten(&id),
                kind(other)
            ))
        }
        None => return Err(format!("prediction_id '{}': missing label", shorten(&id))),
    };
    if expected.classes.contains(&label) {
        return Ok((id, Value::String(label)));
    }
    if expected.numbers {
        let value = label.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64);
        if let Some(value) = value {
            return Ok((id, Value::Number(value)));
        }
    }
    let mut options: Vec<String> =
        expected.classes.iter().map(|c| format!("'{}'", shorten(c))).collect();
    if expected.numbers {
        options.push("a finite number".into());
    }
    Err(format!(
        "prediction_id '{}': label '{}' is not a class of the served model (expected {})",
        shorten(&id),
        shorten(&label),
        options.join(" or ")
    ))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Expected {
        Expected { classes: vec!["no".into(), "yes".into()], numbers: false }
    }

    #[test]
    fn one_object_or_a_list() {
        let one = parse(br#"{"prediction_id": "a", "label": "yes"}"#, &classes()).unwrap();
        assert_eq!((one[0].prediction_id.as_str(), one[0].label.as_str()), ("a", "\"yes\""));
        let two = parse(
            br#"[{"prediction_id": "a", "label": "0"}, {"prediction_id": "b", "label": 1}]"#,
            &Expected { classes: vec!["0".into(), "1".into()], numbers: false },
        )
        .unwrap();
        assert_eq!(two[1].label, "\"1\"", "a number names its class");
    }

    #[test]
    fn bad_records_are_each_named_and_nothing_passes() {
        let body = br#"[{"prediction_id": "a", "label": "yes"},
            {"prediction_id": "b", "label": {"x": 1}},
            {"label": "no"},
            {"prediction_id": "d", "label": "maybe"},
            {"prediction_id": "e", "label": null}]"#;
        let e = parse(body, &classes()).unwrap_err();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let p = e.problems();
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[0].starts_with("record 1: prediction_id 'b'") && p[0].contains("an object"));
        assert_eq!(p[1], "record 2: missing prediction_id");
        assert!(p[2].contains("label 'maybe' is not a class") && p[2].contains("'no' or 'yes'"));
        assert!(p[3].contains("got null"));
    }

    #[test]
    fn a_regressor_takes_finite_numbers_stored_as_numbers() {
        let expected = Expected { classes: Vec::new(), numbers: true };
        let body =
            br#"[{"prediction_id": "a", "label": 1.5}, {"prediction_id": "b", "label": "-2"}]"#;
        let got = parse(body, &expected).unwrap();
        let labels: Vec<&str> = got.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(labels, ["1.5", "-2.0"]);
        let e = parse(br#"[{"prediction_id": "a", "label": "high"}]"#, &expected).unwrap_err();
        assert!(e.problems()[0].contains("expected a finite number"), "{:?}", e.problems());
        assert!(parse(br#"[{"prediction_id": "a", "label": "NaN"}]"#, &expected).is_err());
        let e = parse(br#"[{"prediction_id": "a", "label": [1]}]"#, &expected).unwrap_err();
        assert!(e.problems()[0].contains("a list"));
    }

    #[test]
    fn not_json_and_empty_lists_are_refused() {
        assert!(parse(b"{", &classes()).is_err());
        assert!(parse(b"[]", &classes()).is_err());
        assert!(parse(b"\"yes\"", &classes()).is_err());
    }

    #[test]
    fn overwrite_flag() {
        assert!(!overwrite(None).unwrap());
        assert!(overwrite(Some("overwrite=true")).unwrap());
        assert!(overwrite(Some("overwrite")).unwrap());
        assert!(!overwrite(Some("overwrite=false")).unwrap());
        assert!(overwrite(Some("force=1")).is_err());
    }
}
