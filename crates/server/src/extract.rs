//! Request parsing that answers bad input in MLflow's error format.
//!
//! [`Input`] reads a message from the JSON body (POST, PATCH, DELETE — the
//! stock client sends DELETE with a body) or from the query string (GET, or
//! an empty body). A body that is not JSON is `MALFORMED_REQUEST`; a field
//! of the wrong type is `INVALID_PARAMETER_VALUE` naming the field; a body
//! over the limit is 413.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{Method, StatusCode},
};
use serde::de::DeserializeOwned;

use crate::{ApiError, ErrorCode};

/// A request message of type `T`.
pub(crate) struct Input<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Input<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let query = req.uri().query().unwrap_or("").to_string();
        let body = if req.method() == Method::GET {
            Bytes::new()
        } else {
            Bytes::from_request(req, state).await.map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        ErrorCode::RequestLimitExceeded,
                        format!(
                            "Request body is larger than the limit of {} bytes",
                            crate::MAX_JSON_BODY_BYTES
                        ),
                    )
                } else {
                    ApiError::new(ErrorCode::MalformedRequest, rejection.body_text())
                }
            })?
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            return from_query(&query).map(Input);
        }
        from_json(&body).map(Input)
    }
}

pub(crate) fn from_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // The plain parser first: tracking the path costs ~10% of a 1,000-point
    // batch, and only an error needs it, so a failed parse is repeated with it.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                ApiError::invalid(format!("Invalid value for parameter '{path}': {inner}"))
            }
            _ => ApiError::new(
                ErrorCode::MalformedRequest,
                format!("Malformed request body: {inner}"),
            ),
        }
    })
}

/// Query parameters as a JSON object: a repeated key becomes a list.
fn from_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let mut map = serde_json::Map::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v = serde_json::Value::String(v.into_owned());
        match map.get_mut(k.as_ref()) {
            Some(serde_json::Value::Array(items)) => items.push(v),
            Some(old) => {
                let first = old.take();
                *old = serde_json::Value::Array(vec![first, v]);
            }
            None => {
                map.insert(k.into_owned(), v);
            }
        }
    }
    serde_path_to_error::deserialize(serde_json::Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        ApiError::invalid(format!("Invalid value for parameter '{path}': {}", e.into_inner()))
    })
}
