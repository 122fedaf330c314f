//! Where tracking data lives: `--tracking-uri` / `--backend-store-uri` → a
//! store, and the artifact store that goes with it.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{bail, Context};
use lathe_store::{ArtifactStore, LocalArtifactStore, Store};

/// Where new experiments put artifacts: always the proxied scheme, so a
/// database written by the CLI directly and later served by `lathe server`
/// agree on where files are.
pub(crate) const ARTIFACT_ROOT: &str = "mlflow-artifacts:/";

/// The default tracking URI: `MLFLOW_TRACKING_URI`, else `./lathe.db`.
pub(crate) const DEFAULT_TRACKING_URI: &str = "sqlite:///lathe.db";

/// A parsed backend location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
    Http(String),
}

/// Parses `sqlite:///relative.db`, `sqlite:////abs.db`, `postgresql://…`, `http(s)://…`.
pub(crate) fn parse(uri: &str) -> anyhow::Result<Backend> {
    if let Some(path) = uri.strip_prefix("sqlite:///") {
        if path.is_empty() {
            bail!("invalid tracking uri '{uri}': expected sqlite:///PATH");
        }
        return Ok(Backend::Sqlite(PathBuf::from(path)));
    }
    if uri.starts_with("postgresql://") || uri.starts_with("postgres://") {
        return Ok(Backend::Postgres(uri.to_string()));
    }
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return Ok(Backend::Http(uri.trim_end_matches('/').to_string()));
    }
    bail!(
        "invalid tracking uri '{uri}': expected sqlite:///PATH, postgresql://USER@HOST/DB or http(s)://HOST:PORT"
    )
}

/// Opens the store a URI names.
pub(crate) async fn open(uri: &str) -> anyhow::Result<Arc<dyn Store>> {
    match parse(uri)? {
        Backend::Sqlite(path) => {
            let store = lathe_store_sqlite::open(&path, ARTIFACT_ROOT)
                .await
                .with_context(|| format!("cannot open tracking store {uri}"))?;
            Ok(Arc::new(store))
        }
        Backend::Postgres(url) => {
            let store = lathe_store_postgres::open(&url, ARTIFACT_ROOT)
                .await
                .with_context(|| format!("cannot open tracking store {}", redact(&url)))?;
            Ok(Arc::new(store))
        }
        Backend::Http(url) => Ok(Arc::new(lathe_store_rest::RestStore::new(&url)?)),
    }
}

/// The artifact store for runs tracked at `uri`: a tracking server's
/// artifact proxy for `http(s)://`, so the files land where the server (its
/// UI, `lathe serve` elsewhere) reads them, as MLflow's client does; for a
/// database, the directory `destination` that `lathe server` would proxy.
pub(crate) fn open_artifacts(
    uri: &str,
    destination: &Path,
) -> anyhow::Result<Arc<dyn ArtifactStore>> {
    match parse(uri)? {
        Backend::Http(url) => Ok(Arc::new(lathe_store_rest::RestArtifactStore::new(&url)?)),
        Backend::Sqlite(_) | Backend::Postgres(_) => {
            let store = LocalArtifactStore::open(destination).with_context(|| {
                format!("cannot use artifacts destination {}", destination.display())
            })?;
            Ok(Arc::new(store))
        }
    }
}

/// A URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_backend() {
        assert_eq!(parse("sqlite:///x.db").unwrap(), Backend::Sqlite("x.db".into()));
        assert_eq!(parse("sqlite:////tmp/x.db").unwrap(), Backend::Sqlite("/tmp/x.db".into()));
        assert!(matches!(parse("postgresql://u@h/db").unwrap(), Backend::Postgres(_)));
        assert_eq!(parse("http://h:5000/").unwrap(), Backend::Http("http://h:5000".into()));
        assert!(parse("mysql://x").is_err());
        assert!(parse("sqlite:///").is_err());
        assert_eq!(redact("postgresql://u:secret@h/db"), "postgresql://u:***@h/db");
    }

    #[test]
    fn artifacts_follow_the_tracking_uri() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("mlartifacts");
        // A server's proxy is used as is: nothing is created on the client.
        open_artifacts("http://127.0.0.1:5000", &dest).unwrap();
        assert!(!dest.exists());
        open_artifacts("sqlite:///x.db", &dest).unwrap();
        assert!(dest.is_dir());
        assert!(open_artifacts("mysql://x", &dest).is_err());
    }
}
