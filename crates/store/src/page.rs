//! Result pages and MLflow's opaque page tokens.

use base64::Engine as _;

use crate::{Result, StoreError};

/// One page of search results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Token for the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

/// The position a page token encodes: an offset into the ordered results.
///
/// Encoded as base64 of `{"offset": N}`, the shape MLflow's own tokens have,
/// so tokens look familiar to anyone who decodes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageToken {
    /// Rows to skip.
    pub offset: u64,
}

impl PageToken {
    /// Reads a token from a request; an empty or absent token is the first page.
    pub fn decode(token: Option<&str>) -> Result<Self> {
        let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(Self::default()) };
        let bad = || StoreError::invalid(format!("invalid page token '{token}'"));
        let bytes = base64::engine::general_purpose::STANDARD.decode(token).map_err(|_| bad())?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let offset = value.get("offset").and_then(serde_json::Value::as_u64).ok_or_else(bad)?;
        Ok(PageToken { offset })
    }

    /// The token text.
    pub fn encode(self) -> String {
        let json = serde_json::json!({ "offset": self.offset }).to_string();
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    /// The token for the page after one that returned `returned` of a requested `limit`
    /// items; `None` when the page was short. Backends fetch `limit + 1` rows to know.
    pub fn next(self, has_more: bool, limit: usize) -> Option<String> {
        has_more.then(|| PageToken { offset: self.offset + limit as u64 }.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let t = PageToken { offset: 42 };
        assert_eq!(PageToken::decode(Some(&t.encode())).unwrap(), t);
        assert_eq!(PageToken::decode(None).unwrap(), PageToken::default());
        assert!(PageToken::decode(Some("not base64!")).is_err());
        assert!(PageToken::decode(Some("e30=")).is_err()); // {}
    }
}
