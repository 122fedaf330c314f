//! From HTTP failures to [`StoreError`]s.
//!
//! An error answer in MLflow's format (`{"error_code", "message"}`) keeps
//! its message unchanged, so a caller sees the same text through a server
//! as from a local store; the code picks the variant. Answers that are not
//! MLflow's format (a proxy's HTML page, an empty body) are classified by
//! their HTTP status alone, and never make the client panic.

use lathe_api::ErrorBody;
use lathe_store::StoreError;
use reqwest::{Method, StatusCode};

/// Longest piece of a non-MLflow error body quoted in a message.
const MAX_QUOTED_BODY: usize = 300;

/// A request that got no answer: refused connection, DNS failure, timeout,
/// a connection dropped mid-answer.
pub(crate) fn transport(base: &str, url: &str, e: &reqwest::Error) -> StoreError {
    let cause = root_cause(e);
    if e.is_timeout() {
        StoreError::Backend(format!(
            "tracking server at {base} did not answer {url} in time: {cause}"
        ))
    } else if e.is_connect() {
        StoreError::Backend(format!("cannot reach tracking server at {base}: {cause}"))
    } else {
        StoreError::Backend(format!("request to tracking server at {base} failed ({url}): {cause}"))
    }
}

/// The innermost error of a chain: "connection refused" rather than
/// reqwest's "error sending request".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = last.source() {
        last = next;
    }
    let text = last.to_string();
    if text.is_empty() {
        e.to_string()
    } else {
        text
    }
}

/// A non-2xx answer.
pub(crate) fn from_response(
    method: &Method,
    url: &str,
    status: StatusCode,
    body: &[u8],
) -> StoreError {
    let Ok(err) = serde_json::from_slice::<ErrorBody>(body) else {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let quoted: String = text.chars().take(MAX_QUOTED_BODY).collect();
        let ellipsis = if quoted.len() < text.len() { "…" } else { "" };
        let message = format!("{method} {url} answered {status}: {quoted}{ellipsis}");
        return if status.is_client_error() {
            StoreError::InvalidParameter(message)
        } else {
            StoreError::Backend(message)
        };
    };
    match err.error_code.as_str() {
        "RESOURCE_DOES_NOT_EXIST" | "NOT_FOUND" => StoreError::NotFound(err.message),
        "RESOURCE_ALREADY_EXISTS" | "ALREADY_EXISTS" => StoreError::AlreadyExists(err.message),
        "INVALID_PARAMETER_VALUE" | "MALFORMED_REQUEST" => {
            StoreError::InvalidParameter(err.message)
        }
        "ENDPOINT_NOT_FOUND" => StoreError::InvalidParameter(format!(
            "the tracking server does not serve {method} {url} (an older MLflow?): {}",
            err.message
        )),
        code if status.is_client_error() => {
            StoreError::InvalidParameter(format!("{code}: {}", err.message))
        }
        code => {
            StoreError::Backend(format!("{method} {url} answered {status} {code}: {}", err.message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> StoreError {
        let status = StatusCode::from_u16(status).unwrap();
        from_response(&Method::POST, "http://h/api/2.0/mlflow/runs/get", status, body.as_bytes())
    }

    #[test]
    fn codes_pick_the_variant_and_keep_the_message() {
        let body = |code: &str| format!(r#"{{"error_code":"{code}","message":"m"}}"#);
        assert!(
            matches!(answer(404, &body("RESOURCE_DOES_NOT_EXIST")), StoreError::NotFound(m) if m == "m")
        );
        assert!(
            matches!(answer(400, &body("RESOURCE_ALREADY_EXISTS")), StoreError::AlreadyExists(m) if m == "m")
        );
        assert!(
            matches!(answer(400, &body("INVALID_PARAMETER_VALUE")), StoreError::InvalidParameter(m) if m == "m")
        );
        assert!(
            matches!(answer(400, &body("MALFORMED_REQUEST")), StoreError::InvalidParameter(m) if m == "m")
        );
        assert!(
            matches!(answer(403, &body("PERMISSION_DENIED")), StoreError::InvalidParameter(m) if m.contains("PERMISSION_DENIED"))
        );
        assert!(
            matches!(answer(404, &body("ENDPOINT_NOT_FOUND")), StoreError::InvalidParameter(m) if m.contains("runs/get"))
        );
        assert!(
            matches!(answer(500, &body("INTERNAL_ERROR")), StoreError::Backend(m) if m.contains("http://h/"))
        );
    }

    #[test]
    fn bodies_that_are_not_mlflow_errors_do_not_panic() {
        assert!(
            matches!(answer(502, "<html>Bad Gateway</html>"), StoreError::Backend(m) if m.contains("Bad Gateway"))
        );
        assert!(matches!(answer(404, ""), StoreError::InvalidParameter(m) if m.contains("404")));
        assert!(matches!(answer(500, "\u{0}\u{ff}garbage"), StoreError::Backend(_)));
        let long = "x".repeat(10_000);
        assert!(matches!(answer(503, &long), StoreError::Backend(m) if m.len() < 1_000));
        assert!(matches!(answer(400, r#"{"error_code": 5}"#), StoreError::InvalidParameter(_)));
    }
}
