//! OpenAI's error body, `{"error": {"message", "type", "param", "code"}}`,
//! with the statuses OpenAI uses.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

/// An error answered in OpenAI's shape.
#[derive(Debug)]
pub struct OpenAiError {
    status: StatusCode,
    message: String,
    kind: &'static str,
    param: Option<String>,
    code: Option<&'static str>,
}

impl OpenAiError {
    /// 400 `invalid_request_error` about `param`.
    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        OpenAiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param: Some(param.to_owned()),
            code: None,
        }
    }

    /// 400 for a body that is not the JSON object expected.
    pub fn bad_body(message: impl Into<String>) -> Self {
        OpenAiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param: None,
            code: None,
        }
    }

    /// 400 `context_length_exceeded`.
    pub fn context_length(param: &str, message: impl Into<String>) -> Self {
        OpenAiError { code: Some("context_length_exceeded"), ..Self::invalid(param, message) }
    }

    /// 404 `model_not_found`.
    pub fn unknown_model(model: &str, served: &[String]) -> Self {
        OpenAiError {
            status: StatusCode::NOT_FOUND,
            message: format!(
                "The model '{model}' does not exist; this server serves: {}",
                served.join(", ")
            ),
            kind: "invalid_request_error",
            param: Some("model".into()),
            code: Some("model_not_found"),
        }
    }

    /// 503 when every slot is busy and the queue is full.
    pub fn overloaded() -> Self {
        OpenAiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "the server is busy generating; retry shortly".into(),
            kind: "server_error",
            param: None,
            code: Some("overloaded"),
        }
    }

    /// 500 for a failure inside the model.
    pub fn internal(message: impl Into<String>) -> Self {
        OpenAiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            kind: "server_error",
            param: None,
            code: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}})
    }
}

impl From<lathe_llm::Error> for OpenAiError {
    fn from(e: lathe_llm::Error) -> Self {
        match e {
            lathe_llm::Error::InvalidParameter { param, problem } => {
                OpenAiError::invalid(param, format!("{param} {problem}"))
            }
            lathe_llm::Error::ContextOverflow { .. } => {
                OpenAiError::context_length("messages", e.to_string())
            }
            lathe_llm::Error::Template(_) => OpenAiError::invalid("messages", e.to_string()),
            other => OpenAiError::internal(other.to_string()),
        }
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}
