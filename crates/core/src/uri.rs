//! Model URIs: how a user names a model to load or serve.

use std::{fmt, str::FromStr};

use crate::Error;

/// A reference to a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelUri {
    /// `models:/NAME/VERSION`.
    Version {
        /// Registered model name.
        name: String,
        /// Version number.
        version: i64,
    },
    /// `models:/NAME@ALIAS`.
    Alias {
        /// Registered model name.
        name: String,
        /// Alias such as `champion`.
        alias: String,
    },
    /// `models:/m-<id>`: an MLflow 3 logged model.
    LoggedModel {
        /// The logged model id.
        model_id: String,
    },
    /// `runs:/RUN_ID/PATH`.
    Run {
        /// The run.
        run_id: String,
        /// Path under the run's artifact root.
        path: String,
    },
}

impl FromStr for ModelUri {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidModelUri(s.to_string());
        if let Some(rest) = s.strip_prefix("models:/") {
            if let Some((name, alias)) = rest.split_once('@') {
                if name.is_empty() || alias.is_empty() || alias.contains('/') {
                    return Err(bad());
                }
                return Ok(ModelUri::Alias { name: name.into(), alias: alias.into() });
            }
            if let Some((name, version)) = rest.split_once('/') {
                let version = version.parse().map_err(|_| bad())?;
                if name.is_empty() {
                    return Err(bad());
                }
                return Ok(ModelUri::Version { name: name.into(), version });
            }
            if rest.starts_with("m-") && rest.len() > 2 {
                return Ok(ModelUri::LoggedModel { model_id: rest.into() });
            }
            return Err(bad());
        }
        if let Some(rest) = s.strip_prefix("runs:/") {
            let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
            if run_id.is_empty() {
                return Err(bad());
            }
            return Ok(ModelUri::Run { run_id: run_id.into(), path: path.into() });
        }
        Err(bad())
    }
}

impl fmt::Display for ModelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelUri::Version { name, version } => write!(f, "models:/{name}/{version}"),
            ModelUri::Alias { name, alias } => write!(f, "models:/{name}@{alias}"),
            ModelUri::LoggedModel { model_id } => write!(f, "models:/{model_id}"),
            ModelUri::Run { run_id, path } => write!(f, "runs:/{run_id}/{path}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_form() {
        for s in ["models:/m/3", "models:/m@champion", "models:/m-abc", "runs:/abc/model"] {
            let uri: ModelUri = s.parse().unwrap();
            assert_eq!(uri.to_string(), s);
        }
    }

    #[test]
    fn rejects_malformed() {
        for s in ["models:/", "models:/m/x", "models:/@a", "runs:/", "s3://b/k", "models:/m@a/b"] {
            assert!(s.parse::<ModelUri>().is_err(), "{s}");
        }
    }
}
