//! Which artifact locations and model sources the server accepts.
//!
//! A client must never make the server read or write its own filesystem
//! outside the artifact root: local paths and `file:` URIs are refused,
//! and so is any location with `..` in it, however it is encoded.

use lathe_core::{LoggedModel, RunInfo};

use crate::ApiError;

/// The scheme of proxied artifacts.
pub(crate) const PROXY_SCHEME: &str = "mlflow-artifacts:";

/// Remote object stores a location may point at (the server never opens them).
const REMOTE_SCHEMES: [&str; 7] = ["s3", "gs", "wasbs", "abfss", "hdfs", "oss", "dbfs"];

/// Percent-decodes repeatedly, so `%252e` counts as `.`.
fn fully_decoded(s: &str) -> String {
    let mut cur = s.to_string();
    for _ in 0..4 {
        let next: String = percent_decode(&cur);
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn has_relative_parts(uri: &str) -> bool {
    let d = fully_decoded(uri);
    d.contains('\\')
        || d.contains('\0')
        || d.split(['/', '#', '?']).any(|part| part == ".." || part == ".")
}

/// The path under the proxy root of a `mlflow-artifacts:` URI, or `None` for other URIs.
pub(crate) fn proxy_path(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix(PROXY_SCHEME)?;
    // `mlflow-artifacts://host/path` and `mlflow-artifacts:/path` both name `path`.
    let rest = match rest.strip_prefix("//") {
        Some(with_host) => with_host.split_once('/').map(|(_, p)| p).unwrap_or(""),
        None => rest,
    };
    Some(rest.trim_start_matches('/').to_string())
}

fn scheme(uri: &str) -> Option<&str> {
    let (scheme, _) = uri.split_once(':')?;
    let ok = scheme.len() > 1
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then_some(scheme)
}

/// Checks an experiment's `artifact_location` given by a client.
pub(crate) fn check_artifact_location(location: &str) -> Result<(), ApiError> {
    let refuse =
        |why: &str| ApiError::invalid(format!("Invalid artifact_location '{location}': {why}"));
    if has_relative_parts(location) {
        return Err(refuse("relative path components ('..', '.') are not allowed"));
    }
    match scheme(location) {
        Some("mlflow-artifacts") => Ok(()),
        Some(s) if REMOTE_SCHEMES.contains(&s) => {
            let host = location[s.len() + 1..].strip_prefix("//").unwrap_or("");
            if host.split('/').next().unwrap_or("").is_empty() {
                return Err(refuse("a bucket or host is required"));
            }
            Ok(())
        }
        _ => Err(refuse(
            "the server does not write to its own filesystem; use mlflow-artifacts:/PATH or an object store URI (s3://, gs://, …)",
        )),
    }
}

/// Checks a model version's `source` against the run or logged model it claims to come from.
pub(crate) fn check_model_version_source(
    source: &str,
    run: Option<&RunInfo>,
    model: Option<&LoggedModel>,
) -> Result<(), ApiError> {
    let refuse =
        |why: &str| ApiError::invalid(format!("Invalid model version source: '{source}'. {why}"));
    if has_relative_parts(source) {
        return Err(refuse("Relative path components ('..') are not allowed."));
    }
    let within = |root: &str| {
        let root = root.trim_end_matches('/');
        source == root || source.strip_prefix(root).is_some_and(|rest| rest.starts_with('/'))
    };
    match scheme(source) {
        Some("runs") => {
            let id =
                source["runs:".len()..].trim_start_matches('/').split('/').next().unwrap_or("");
            match run {
                Some(r)
                    if source.starts_with("runs:/")
                        && !source.starts_with("runs://")
                        && r.run_id == id =>
                {
                    Ok(())
                }
                _ => Err(refuse("A runs:/ source must name the run given as run_id.")),
            }
        }
        Some("models") => match model {
            Some(m) if source == format!("models:/{}", m.model_id) => Ok(()),
            _ => Err(refuse("A models:/ source must name the logged model given as model_id.")),
        },
        Some("mlflow-artifacts") => {
            let ok = run.is_some_and(|r| within(&r.artifact_uri))
                || model.is_some_and(|m| within(&m.artifact_location));
            if ok {
                Ok(())
            } else {
                Err(refuse("It must lie within the artifact directory of the run given as run_id (or of the logged model given as model_id)."))
            }
        }
        Some(s) if REMOTE_SCHEMES.contains(&s) => Ok(()),
        _ => Err(refuse("Local paths and file: URIs on the server are not accepted as sources.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_locations_on_the_server_filesystem_are_refused() {
        for bad in [
            "file:///etc",
            "file://host/../../",
            "//proc/self/root",
            "/etc",
            "http:///#/../../etc/",
            "mlflow-artifacts:/a/../../b",
            "mlflow-artifacts:/a/%2e%2e/b",
            "s3:///nobucket",
            "relative/dir",
            "C:/Windows",
        ] {
            assert!(check_artifact_location(bad).is_err(), "{bad} accepted");
        }
        for good in ["mlflow-artifacts:/team-a", "s3://bucket/prefix", "gs://b/p"] {
            assert!(check_artifact_location(good).is_ok(), "{good} refused");
        }
    }

    #[test]
    fn proxy_paths() {
        assert_eq!(
            proxy_path("mlflow-artifacts:/1/abc/artifacts").as_deref(),
            Some("1/abc/artifacts")
        );
        assert_eq!(proxy_path("mlflow-artifacts://host:5000/1/x").as_deref(), Some("1/x"));
        assert_eq!(proxy_path("s3://b/k"), None);
    }
}
