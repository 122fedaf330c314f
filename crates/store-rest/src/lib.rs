//! The HTTP backend of [`Store`](lathe_store::Store): a client of an
//! MLflow-compatible tracking server, lathe's own `lathe server` or MLflow's.
//!
//! Why a `Store` and not a separate client: every command of the CLI
//! (`lathe runs list`, `lathe models …`) is written once against the
//! [`Store`](lathe_store::Store) trait. With `--tracking-uri http://…` it
//! gets a [`RestStore`] instead of a SQLite or PostgreSQL store and works
//! unchanged, and the conformance suite that checks the SQL backends checks
//! this one too, through a real server, so client and server cannot drift.
//!
//! Each trait method is one request to `/api/2.0/mlflow/…` (a few are
//! composed, e.g. a logged-model search turns `key DESC` clauses into the
//! `{field_name, ascending}` objects that endpoint takes). Messages are the
//! wire types of `lathe-api`, the same ones the server parses. Errors come
//! back as [`StoreError`]s: MLflow's `error_code` decides the variant
//! (`RESOURCE_DOES_NOT_EXIST` is `NotFound`, `RESOURCE_ALREADY_EXISTS` is
//! `AlreadyExists`, any other refusal is `InvalidParameter`), and a server
//! that fails or cannot be reached is a [`StoreError::Backend`] naming its URL.
//!
//! Files go the same way: [`RestArtifactStore`] is the
//! [`ArtifactStore`](lathe_store::ArtifactStore) behind the server's artifact
//! proxy (`/api/2.0/mlflow-artifacts/…`), streaming both ways, so a command
//! pointed at a server leaves its artifacts where the server (its UI, and
//! `lathe serve` on another machine) can read them.

mod artifacts;
mod error;
mod store_impl;

pub use artifacts::{RestArtifactStore, ARTIFACTS_PREFIX, STALL_TIMEOUT};

use std::time::Duration;

use lathe_store::{Result, StoreError};
use reqwest::Method;
use serde::{de::DeserializeOwned, Serialize};

/// Where MLflow's tracking and registry API lives under the server's URL.
pub const API_PREFIX: &str = "/api/2.0/mlflow";

/// How long to wait for a TCP (and TLS) connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one request may take in all; MLflow's own client allows 120 s.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A [`Store`](lathe_store::Store) that keeps nothing itself: every call is
/// a request to a tracking server.
#[derive(Debug, Clone)]
pub struct RestStore {
    client: reqwest::Client,
    base: String,
}

impl RestStore {
    /// A store talking to the server at `base_url` (`http://host:port`, or
    /// with a path prefix when the server sits behind a proxy). A trailing
    /// `/` is ignored. Nothing is sent until the first call.
    pub fn new(base_url: &str) -> Result<Self> {
        let base = checked_base(base_url)?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("lathe/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build an HTTP client: {e}")))?;
        Ok(RestStore { client, base })
    }

    /// The server's URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends one request to `API_PREFIX/path` and reads its answer.
    ///
    /// GET sends `req` as query parameters (a list becomes a repeated key,
    /// `null` is left out); every other method sends it as a JSON body.
    async fn call<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        req: &Req,
    ) -> Result<Resp> {
        let url = format!("{}{API_PREFIX}/{path}", self.base);
        let req = serde_json::to_value(req)
            .map_err(|e| StoreError::Backend(format!("cannot encode a request to {url}: {e}")))?;
        let builder = match req {
            serde_json::Value::Null => self.client.request(method.clone(), &url),
            req if method == Method::GET => self.client.get(&url).query(&query_pairs(req)),
            req => self.client.request(method.clone(), &url).json(&req),
        };
        let response = builder.send().await.map_err(|e| error::transport(&self.base, &url, &e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| error::transport(&self.base, &url, &e))?;
        if !status.is_success() {
            return Err(error::from_response(&method, &url, status, &body));
        }
        // MLflow answers some calls with an empty body rather than `{}`.
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &body };
        serde_json::from_slice(body)
            .map_err(|e| StoreError::Backend(format!("unexpected answer from {method} {url}: {e}")))
    }
}

/// `base_url` without surrounding blanks and trailing `/`, refused unless it
/// is `http(s)://HOST…`.
fn checked_base(base_url: &str) -> Result<String> {
    let base = base_url.trim().trim_end_matches('/');
    let lower = base.to_ascii_lowercase();
    let host = lower.strip_prefix("http://").or_else(|| lower.strip_prefix("https://"));
    if host.is_none_or(|h| h.is_empty() || h.starts_with('/')) {
        return Err(StoreError::invalid(format!(
            "invalid tracking server URL '{base_url}': expected http://HOST[:PORT] or https://HOST[:PORT]"
        )));
    }
    Ok(base.to_string())
}

/// A request message as query parameters: each field of the JSON object,
/// a list as a repeated key, `null` left out.
fn query_pairs(req: serde_json::Value) -> Vec<(String, String)> {
    use serde_json::Value;
    let fields = match req {
        Value::Object(fields) => fields,
        _ => return Vec::new(),
    };
    let mut pairs = Vec::new();
    for (key, value) in fields {
        let values = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        for value in values {
            match value {
                Value::Null => {}
                Value::String(s) => pairs.push((key.clone(), s)),
                other => pairs.push((key.clone(), other.to_string())),
            }
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http() {
        assert_eq!(
            RestStore::new("http://127.0.0.1:5000/").unwrap().base_url(),
            "http://127.0.0.1:5000"
        );
        assert_eq!(RestStore::new("HTTPS://h/prefix//").unwrap().base_url(), "HTTPS://h/prefix");
        for bad in ["", "127.0.0.1:5000", "sqlite:///x.db", "http://", "https:///path", "ftp://h"] {
            assert!(matches!(RestStore::new(bad), Err(StoreError::InvalidParameter(_))), "{bad:?}");
        }
    }

    #[test]
    fn lists_repeat_keys_and_nulls_vanish() {
        let req = serde_json::json!({"name": "m", "order_by": ["a", "b DESC"], "max_results": 5, "page_token": null});
        let mut pairs = query_pairs(req);
        pairs.sort();
        let want = [("max_results", "5"), ("name", "m"), ("order_by", "a"), ("order_by", "b DESC")];
        let want: Vec<_> = want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(pairs, want);
        assert!(query_pairs(serde_json::Value::Null).is_empty());
    }
}
