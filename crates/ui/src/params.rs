//! What a page reads from its URL: the query string and path segments, with
//! every bad value turned into a 400 page that says what was expected.

use axum::{
    extract::{FromRequestParts, Path, RawQuery},
    http::request::Parts,
};
use lathe_store::PageToken;

use crate::error::UiError;

/// The query string's pairs, decoded; unknown keys are ignored.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let RawQuery(raw) =
            RawQuery::from_request_parts(parts, state).await.unwrap_or(RawQuery(None));
        let pairs = raw
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Ok(Params(pairs))
    }
}

impl Params {
    /// The first non-empty value of `key`, trimmed.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.trim()).find(|v| !v.is_empty())
    }

    /// The first value of `key`, untrimmed (empty when absent).
    pub(crate) fn text(&self, key: &str) -> &str {
        self.0.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str())
    }

    /// Whether `key` appears at all.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// Every value of `key`, repeated (`k=a&k=b`) or comma-separated (`k=a,b`),
    /// without empty ones or repeats. Keys of params, metrics and run ids hold no commas.
    pub(crate) fn list(&self, key: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, v) in self.0.iter().filter(|(k, _)| k == key) {
            for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if !out.iter().any(|o| o == item) {
                    out.push(item.to_string());
                }
            }
        }
        out
    }

    /// Every value of `key` as given (for `order_by`, whose clauses may hold commas in quotes).
    pub(crate) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }

    /// A page size: `default` when absent, else a whole number in `1..=max`.
    pub(crate) fn page_size(
        &self,
        key: &str,
        default: usize,
        max: usize,
    ) -> Result<usize, UiError> {
        let Some(text) = self.get(key) else { return Ok(default) };
        match text.parse::<u64>() {
            Ok(n) if n >= 1 && n <= max as u64 => Ok(n as usize),
            _ => Err(UiError::BadRequest(format!(
                "Invalid value '{text}' for '{key}': expected a whole number from 1 to {max}"
            ))),
        }
    }

    /// The page token and the offset it stands for (0 on the first page).
    pub(crate) fn page_token(&self) -> Result<(Option<String>, u64), UiError> {
        let token = self.get("page_token").map(str::to_string);
        let offset = PageToken::decode(token.as_deref())?.offset;
        Ok((token, offset))
    }
}

/// Path segments in route order, with a 400 page (not axum's plain-text
/// rejection) when they do not decode.
pub(crate) struct Segs(pub(crate) Vec<String>);

impl<S: Send + Sync> FromRequestParts<S> for Segs {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<Vec<String>>::from_request_parts(parts, state).await {
            Ok(Path(segments)) => Ok(Segs(segments)),
            Err(e) => Err(UiError::BadRequest(format!("Invalid path: {}", e.body_text()))),
        }
    }
}

/// Page navigation of a search: the offsets of the previous and next pages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    /// Rows skipped before this page.
    pub(crate) offset: u64,
    /// Rows per page.
    pub(crate) size: usize,
}

impl Paging {
    /// The token of the previous page; `Some("")` for the first page, `None` when on it.
    pub(crate) fn prev_token(self) -> Option<String> {
        if self.offset == 0 {
            return None;
        }
        let prev = self.offset.saturating_sub(self.size as u64);
        Some(if prev == 0 { String::new() } else { PageToken { offset: prev }.encode() })
    }
}
