//! The UI's one error type: every failure becomes a readable page with the
//! right status (4xx for the visitor's mistakes, 500 only for the backend's).

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use lathe_store::StoreError;

use crate::{
    html::{esc, Link},
    layout::{Nav, Page},
};

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UiError {
    /// 404: the experiment, run or model in the URL does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 400: a value in the URL is not acceptable (filter, page size, token…).
    #[error("{0}")]
    BadRequest(String),
    /// 500: the store failed; not the visitor's fault.
    #[error("{0}")]
    Backend(String),
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => UiError::NotFound(m),
            StoreError::AlreadyExists(m)
            | StoreError::InvalidParameter(m)
            | StoreError::Unsupported(m) => UiError::BadRequest(m),
            StoreError::Backend(m) => UiError::Backend(m),
        }
    }
}

/// `Result` with [`UiError`].
pub(crate) type UiResult<T> = Result<T, UiError>;

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, title, hint) = match &self {
            UiError::NotFound(_) => (
                StatusCode::NOT_FOUND,
                "Not found",
                "The link may be old, or the entity was renamed or deleted.",
            ),
            UiError::BadRequest(_) => (
                StatusCode::BAD_REQUEST,
                "Bad request",
                "Something in the address is not valid; fix it and try again.",
            ),
            UiError::Backend(m) => {
                tracing::error!("ui: storage backend failed: {m}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Server error",
                    "The tracking store failed; see the server's log.",
                )
            }
        };
        let body = format!(
            "<div class=\"error\" role=\"alert\"><p class=\"error-msg\">{}</p><p class=\"muted\">{}</p></div>\
             <p><a href=\"{}\">All experiments</a> · <a href=\"{}\">Registered models</a></p>",
            esc(&self.to_string()),
            esc(hint),
            Link::to(&[]),
            Link::to(&["models"]),
        );
        let page = Page::new(Nav::None, title, body);
        (status, page).into_response()
    }
}
