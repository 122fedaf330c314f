//! One error type for every handler, written as MLflow writes errors.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use lathe_store::StoreError;

/// MLflow's error codes that lathe answers with, and their HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 404: the named entity does not exist.
    ResourceDoesNotExist,
    /// 400: the entity already exists.
    ResourceAlreadyExists,
    /// 400: a field has a bad value (or is missing).
    InvalidParameterValue,
    /// 400: the body is not JSON at all.
    MalformedRequest,
    /// 404: no such endpoint.
    EndpointNotFound,
    /// 405: the endpoint exists, not with this HTTP method.
    MethodNotAllowed,
    /// 413: the body is larger than the server accepts.
    RequestLimitExceeded,
    /// 500: the server failed.
    InternalError,
}

impl ErrorCode {
    /// The code as MLflow spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST",
            ErrorCode::ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS",
            ErrorCode::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            ErrorCode::MalformedRequest => "MALFORMED_REQUEST",
            ErrorCode::EndpointNotFound => "ENDPOINT_NOT_FOUND",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::RequestLimitExceeded => "REQUEST_LIMIT_EXCEEDED",
            ErrorCode::InternalError => "INTERNAL_ERROR",
        }
    }

    /// The HTTP status MLflow sends with the code.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::ResourceDoesNotExist | ErrorCode::EndpointNotFound => StatusCode::NOT_FOUND,
            ErrorCode::ResourceAlreadyExists
            | ErrorCode::InvalidParameterValue
            | ErrorCode::MalformedRequest => StatusCode::BAD_REQUEST,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::RequestLimitExceeded => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error answer: `{"error_code": …, "message": …}` with the code's status.
#[derive(Debug, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    /// Which error.
    pub code: ErrorCode,
    /// What went wrong, naming the field and the expectation.
    pub message: String,
}

impl ApiError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }

    /// `INVALID_PARAMETER_VALUE`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterValue, message)
    }

    /// `INVALID_PARAMETER_VALUE` for a required field that is missing or empty.
    pub fn missing(field: &str) -> Self {
        Self::invalid(format!("Missing value for required parameter '{field}'."))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::NotFound(_) => ErrorCode::ResourceDoesNotExist,
            StoreError::AlreadyExists(_) => ErrorCode::ResourceAlreadyExists,
            StoreError::InvalidParameter(_) => ErrorCode::InvalidParameterValue,
            StoreError::Unsupported(_) => ErrorCode::InvalidParameterValue,
            StoreError::Backend(_) => ErrorCode::InternalError,
        };
        ApiError::new(code, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.code == ErrorCode::InternalError {
            tracing::error!(message = %self.message, "internal error");
        }
        let body = lathe_api::ErrorBody {
            error_code: self.code.as_str().to_string(),
            message: self.message,
        };
        (self.code.status(), Json(body)).into_response()
    }
}

/// `Result` with [`ApiError`].
pub type ApiResult<T> = Result<T, ApiError>;
