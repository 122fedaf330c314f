//! [`ArtifactStore`] over a tracking server's artifact proxy, the endpoints
//! the stock MLflow client uploads through:
//! `PUT`/`GET`/`DELETE /api/2.0/mlflow-artifacts/artifacts/<path>` and
//! `GET /api/2.0/mlflow-artifacts/artifacts?path=<dir>`.
//!
//! Bodies stream both ways, so a model of several GiB never sits in memory.
//! That rules out a total request timeout (an upload may rightly take an
//! hour); what is bounded instead is the time without progress: a download
//! fails when no bytes arrive for [`STALL_TIMEOUT`] (reqwest's read timeout),
//! an upload when the connection takes no bytes, or the server does not
//! answer once it has them all, for as long.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use async_trait::async_trait;
use futures_util::TryStreamExt;
use lathe_api as api;
use lathe_store::artifacts::{safe_relative_path, ByteStream};
use lathe_store::{ArtifactStore, FileInfo, Result, StoreError};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::{Method, StatusCode};
use tokio_util::io::{ReaderStream, StreamReader};

use crate::{error, CONNECT_TIMEOUT};

/// Where the artifact proxy lives under the server's URL.
pub const ARTIFACTS_PREFIX: &str = "/api/2.0/mlflow-artifacts/artifacts";

/// How long a transfer may go without moving a byte (or, after an upload,
/// without an answer) before it fails; as long as a whole metadata call may take.
pub const STALL_TIMEOUT: Duration = crate::REQUEST_TIMEOUT;

/// How often an upload checks its progress against [`STALL_TIMEOUT`].
const STALL_CHECK: Duration = Duration::from_secs(1);

/// Bytes left as they are in an artifact path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Artifacts kept by a tracking server (`lathe server`, or MLflow's with
/// `--serve-artifacts`) and reached through its artifact proxy: what the
/// CLI writes and reads when its tracking URI is `http(s)://`.
#[derive(Debug, Clone)]
pub struct RestArtifactStore {
    /// For downloads, listings and deletes: reqwest's read timeout bounds a stall.
    client: reqwest::Client,
    /// For uploads: a read timeout would start at the first byte sent and
    /// cut long uploads short, so progress is watched by hand instead.
    upload: reqwest::Client,
    base: String,
}

impl RestArtifactStore {
    /// A store talking to the server at `base_url`, checked as
    /// [`RestStore::new`](crate::RestStore::new) checks it. Nothing is sent
    /// until the first call.
    pub fn new(base_url: &str) -> Result<Self> {
        let base = crate::checked_base(base_url)?;
        let builder = || {
            reqwest::Client::builder()
                .user_agent(concat!("lathe/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(CONNECT_TIMEOUT)
        };
        let built = |b: reqwest::ClientBuilder| {
            b.build().map_err(|e| StoreError::Backend(format!("cannot build an HTTP client: {e}")))
        };
        Ok(RestArtifactStore {
            client: built(builder().read_timeout(STALL_TIMEOUT))?,
            upload: built(builder())?,
            base,
        })
    }

    /// The server's URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The proxy URL of a file, after the same path check a local store makes.
    fn file_url(&self, path: &str) -> Result<(String, String)> {
        let rel = relative(path)?;
        if rel.is_empty() {
            return Err(StoreError::invalid(format!(
                "Invalid artifact path '{path}': a file name is required"
            )));
        }
        let encoded: Vec<String> =
            rel.split('/').map(|s| utf8_percent_encode(s, SEGMENT).to_string()).collect();
        Ok((format!("{}{ARTIFACTS_PREFIX}/{}", self.base, encoded.join("/")), rel))
    }

    /// The failure of a request that got an answer other than 2xx.
    async fn failure(
        &self,
        method: &Method,
        url: &str,
        rel: &str,
        r: reqwest::Response,
    ) -> StoreError {
        let status = r.status();
        let body = r.bytes().await.unwrap_or_default();
        refusal(method, url, rel, status, &body)
    }
}

/// `path` checked and normalized: `/`-separated, no empty or `.` segments.
fn relative(path: &str) -> Result<String> {
    let rel = safe_relative_path(path)?;
    let parts: Vec<String> =
        rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    Ok(parts.join("/"))
}

/// A non-2xx answer from the proxy as a [`StoreError`] that names the
/// request: a 404 is `NotFound` (unless the server has no proxy at all),
/// the rest keep the variant MLflow's error code gives them.
fn refusal(method: &Method, url: &str, rel: &str, status: StatusCode, body: &[u8]) -> StoreError {
    let err = error::from_response(method, url, status, body);
    let no_endpoint = serde_json::from_slice::<api::ErrorBody>(body)
        .is_ok_and(|b| b.error_code == "ENDPOINT_NOT_FOUND");
    let context = |m: String| {
        if m.contains(url) {
            m
        } else {
            format!("{method} {url} answered {status}: {m}")
        }
    };
    match err {
        _ if status == StatusCode::NOT_FOUND && !no_endpoint => StoreError::NotFound(format!(
            "artifact '{rel}' does not exist on the tracking server ({method} {url} answered {status})"
        )),
        StoreError::NotFound(m) => StoreError::NotFound(context(m)),
        StoreError::AlreadyExists(m) => StoreError::AlreadyExists(context(m)),
        StoreError::InvalidParameter(m) => StoreError::InvalidParameter(context(m)),
        StoreError::Unsupported(m) => StoreError::Unsupported(context(m)),
        StoreError::Backend(m) => StoreError::Backend(context(m)),
    }
}

/// Milliseconds since `start`, for the upload's progress clock.
fn millis_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[async_trait]
impl ArtifactStore for RestArtifactStore {
    async fn put(&self, path: &str, body: ByteStream) -> Result<u64> {
        let (url, rel) = self.file_url(path)?;
        let start = Instant::now();
        let sent = Arc::new(AtomicU64::new(0));
        let last_progress = Arc::new(AtomicU64::new(0));
        let (sent_in, progress_in) = (Arc::clone(&sent), Arc::clone(&last_progress));
        let stream = ReaderStream::new(body).inspect_ok(move |chunk| {
            sent_in.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            progress_in.store(millis_since(start), Ordering::Relaxed);
        });
        let request = self.upload.put(&url).body(reqwest::Body::wrap_stream(stream)).send();
        tokio::pin!(request);
        let mut tick = tokio::time::interval(STALL_CHECK);
        let response = loop {
            tokio::select! {
                r = &mut request => break r,
                _ = tick.tick() => {
                    let idle = millis_since(start).saturating_sub(last_progress.load(Ordering::Relaxed));
                    if Duration::from_millis(idle) > STALL_TIMEOUT {
                        return Err(StoreError::Backend(format!(
                            "upload of '{rel}' to {url} made no progress for {}s",
                            STALL_TIMEOUT.as_secs()
                        )));
                    }
                }
            }
        };
        let response = response.map_err(|e| error::transport(&self.base, &url, &e))?;
        if !response.status().is_success() {
            return Err(self.failure(&Method::PUT, &url, &rel, response).await);
        }
        Ok(sent.load(Ordering::Relaxed))
    }

    async fn get(&self, path: &str) -> Result<(ByteStream, u64)> {
        let (url, rel) = self.file_url(path)?;
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| error::transport(&self.base, &url, &e))?;
        if !response.status().is_success() {
            return Err(self.failure(&Method::GET, &url, &rel, response).await);
        }
        let size = response.content_length().ok_or_else(|| {
            StoreError::Backend(format!("GET {url} answered without a Content-Length"))
        })?;
        let stream = response.bytes_stream().map_err(std::io::Error::other);
        Ok((Box::pin(StreamReader::new(stream)), size))
    }

    async fn list(&self, path: &str) -> Result<Vec<FileInfo>> {
        let rel = relative(path)?;
        let url = format!("{}{ARTIFACTS_PREFIX}", self.base);
        let response = self
            .client
            .get(&url)
            .query(&[("path", rel.as_str())])
            .send()
            .await
            .map_err(|e| error::transport(&self.base, &url, &e))?;
        if !response.status().is_success() {
            return Err(self.failure(&Method::GET, &url, &rel, response).await);
        }
        let body = response.bytes().await.map_err(|e| error::transport(&self.base, &url, &e))?;
        // MLflow leaves `files` out of an empty listing, and may answer with no body.
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &body };
        let listing: api::ListArtifactsResponse = serde_json::from_slice(body)
            .map_err(|e| StoreError::Backend(format!("unexpected answer from GET {url}: {e}")))?;
        let mut files: Vec<FileInfo> = listing
            .files
            .into_iter()
            .map(|f| {
                // The proxy names children by base name; the trait wants paths from the root.
                let name = f.path.rsplit('/').next().unwrap_or(&f.path);
                FileInfo {
                    path: if rel.is_empty() { name.to_string() } else { format!("{rel}/{name}") },
                    is_dir: f.is_dir,
                    file_size: f.file_size.and_then(|n| u64::try_from(n).ok()),
                }
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    async fn delete(&self, path: &str) -> Result<()> {
        let (url, rel) = self.file_url(path)?;
        let response = self
            .client
            .delete(&url)
            .send()
            .await
            .map_err(|e| error::transport(&self.base, &url, &e))?;
        if !response.status().is_success() {
            return Err(self.failure(&Method::DELETE, &url, &rel, response).await);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked_and_encoded_per_segment() {
        let store = RestArtifactStore::new("http://h:5000/").unwrap();
        let (url, rel) = store.file_url("1/r/artifacts/./my model/a%20b.txt").unwrap();
        assert_eq!(rel, "1/r/artifacts/my model/a b.txt");
        assert_eq!(
            url,
            "http://h:5000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/my%20model/a%20b.txt"
        );
        for bad in ["", "/", "../x", "a/%2e%2e/../b", "/etc/passwd", "a?b"] {
            assert!(matches!(store.file_url(bad), Err(StoreError::InvalidParameter(_))), "{bad:?}");
        }
        assert!(RestArtifactStore::new("ftp://h").is_err());
    }

    #[test]
    fn refusals_name_the_request() {
        let url = "http://h/api/2.0/mlflow-artifacts/artifacts/a.txt";
        let status = |n| StatusCode::from_u16(n).unwrap();
        let mlflow = |code: &str| format!(r#"{{"error_code":"{code}","message":"m"}}"#);
        let err = refusal(
            &Method::GET,
            url,
            "a.txt",
            status(404),
            mlflow("RESOURCE_DOES_NOT_EXIST").as_bytes(),
        );
        assert!(
            matches!(&err, StoreError::NotFound(m) if m.contains(url) && m.contains("a.txt")),
            "{err:?}"
        );
        let err = refusal(&Method::GET, url, "a.txt", status(404), b"<html>nope</html>");
        assert!(matches!(&err, StoreError::NotFound(m) if m.contains("404")), "{err:?}");
        let err = refusal(
            &Method::GET,
            url,
            "a.txt",
            status(404),
            mlflow("ENDPOINT_NOT_FOUND").as_bytes(),
        );
        assert!(matches!(&err, StoreError::InvalidParameter(m) if m.contains(url)), "{err:?}");
        let err = refusal(
            &Method::PUT,
            url,
            "a.txt",
            status(400),
            mlflow("INVALID_PARAMETER_VALUE").as_bytes(),
        );
        assert!(
            matches!(&err, StoreError::InvalidParameter(m) if m.contains(url) && m.contains("400")),
            "{err:?}"
        );
        let err = refusal(&Method::PUT, url, "a.txt", status(503), b"");
        assert!(
            matches!(&err, StoreError::Backend(m) if m.contains(url) && m.contains("503")),
            "{err:?}"
        );
    }
}
