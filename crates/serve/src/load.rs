//! Resolving a model URI through the registry to its files, and reading them:
//! `models:/NAME@ALIAS` → version → `runs:/RUN/PATH` → the run's artifacts →
//! `model.json` (a `lathe_train` model) and `MLmodel` (its signature).

use std::sync::Arc;

use lathe_core::{ModelUri, ModelVersion};
use lathe_store::{ArtifactStore, Store};
use lathe_train::Model;
use tokio::io::AsyncReadExt;

use crate::{Error, Result, Signature};

/// Model files larger than this are refused rather than read into memory.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// A model version, loaded and ready to score.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// The URI it was loaded from.
    pub uri: String,
    /// Registered model name.
    pub name: String,
    /// Version number.
    pub version: i64,
    /// The alias it was resolved through, if any.
    pub alias: Option<String>,
    /// The fitted model.
    pub model: Model,
    /// Its input schema, in the model's feature order.
    pub signature: Signature,
}

/// Resolves and loads one model URI.
pub async fn load(
    uri: &str,
    store: &Arc<dyn Store>,
    artifacts: &Arc<dyn ArtifactStore>,
) -> Result<LoadedModel> {
    let unsupported = || Error::UnsupportedUri { uri: uri.to_string() };
    let parsed: ModelUri = uri.parse().map_err(|_| unsupported())?;
    let store_err = |source| Error::Store { uri: uri.to_string(), source };
    let invalid = |reason: String| Error::Invalid { uri: uri.to_string(), reason };
    let (version, alias): (ModelVersion, Option<String>) = match parsed {
        ModelUri::Alias { name, alias } => {
            (store.get_model_version_by_alias(&name, &alias).await.map_err(store_err)?, Some(alias))
        }
        ModelUri::Version { name, version } => {
            (store.get_model_version(&name, version).await.map_err(store_err)?, None)
        }
        ModelUri::LoggedModel { .. } | ModelUri::Run { .. } => return Err(unsupported()),
    };
    let dir = model_dir(&version.source, store).await.map_err(|e| match e {
        Lookup::Store(source) => store_err(source),
        Lookup::Unsupported(why) => invalid(why),
    })?;
    let model_json = read(artifacts, &format!("{dir}/model.json")).await.map_err(store_err)?;
    let model_json =
        String::from_utf8(model_json).map_err(|_| invalid("model.json is not UTF-8".into()))?;
    let model = Model::from_json(&model_json).map_err(|e| invalid(format!("model.json: {e}")))?;
    let mlmodel = read(artifacts, &format!("{dir}/MLmodel")).await.map_err(store_err)?;
    let mlmodel = String::from_utf8(mlmodel).map_err(|_| invalid("MLmodel is not UTF-8".into()))?;
    let signature = match signature_inputs(&mlmodel) {
        Some(json) => Signature::from_colspec_json(&json)
            .map_err(|e| invalid(format!("MLmodel signature: {e}")))?,
        None => Signature::from_colspec_json(&model.signature_inputs_json()).map_err(invalid)?,
    };
    let names: Vec<&str> = signature.columns.iter().map(|c| c.name.as_str()).collect();
    if names != model.feature_names.iter().map(String::as_str).collect::<Vec<_>>() {
        return Err(invalid("the MLmodel signature's inputs are not the model's features".into()));
    }
    Ok(LoadedModel {
        uri: uri.to_string(),
        name: version.name,
        version: version.version,
        alias,
        model,
        signature,
    })
}

enum Lookup {
    Store(lathe_store::StoreError),
    Unsupported(String),
}

/// The model directory, relative to the artifact store's root.
async fn model_dir(source: &str, store: &Arc<dyn Store>) -> std::result::Result<String, Lookup> {
    if let Some(path) = proxied_path(source) {
        return Ok(path);
    }
    if let Ok(ModelUri::Run { run_id, path }) = source.parse::<ModelUri>() {
        let run = store.get_run(&run_id).await.map_err(Lookup::Store)?;
        let root = proxied_path(&run.info.artifact_uri).ok_or_else(|| {
            Lookup::Unsupported(format!(
                "run {run_id} keeps artifacts at {}; only mlflow-artifacts:/ is served",
                run.info.artifact_uri
            ))
        })?;
        let path = path.trim_matches('/');
        return Ok(if path.is_empty() { root } else { format!("{root}/{path}") });
    }
    Err(Lookup::Unsupported(format!("model source '{source}' is not runs:/ or mlflow-artifacts:/")))
}

/// `mlflow-artifacts:/a/b` or `mlflow-artifacts://host/a/b` → `a/b`.
fn proxied_path(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("mlflow-artifacts:")?;
    let rest = match rest.strip_prefix("//") {
        Some(with_host) => with_host.split_once('/').map_or("", |(_, p)| p),
        None => rest,
    };
    Some(rest.trim_matches('/').to_string())
}

async fn read(artifacts: &Arc<dyn ArtifactStore>, path: &str) -> lathe_store::Result<Vec<u8>> {
    let (stream, size) = artifacts.get(path).await?;
    let mut bytes = Vec::with_capacity(usize::try_from(size.min(MAX_FILE_BYTES)).unwrap_or(0));
    stream
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| lathe_store::StoreError::Backend(format!("cannot read {path}: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(lathe_store::StoreError::Backend(format!("{path} is larger than 256 MiB")));
    }
    Ok(bytes)
}

/// The `signature.inputs` column-spec JSON of an `MLmodel` file, as
/// `lathe_train` and MLflow write it (one quoted scalar on one line).
fn signature_inputs(mlmodel: &str) -> Option<String> {
    let mut in_signature = false;
    for line in mlmodel.lines() {
        if !line.starts_with(' ') {
            in_signature = line.trim_end() == "signature:";
            continue;
        }
        let Some(value) = line.strip_prefix("  inputs:").filter(|_| in_signature) else {
            continue;
        };
        let value = value.trim();
        return Some(
            if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                inner.replace("''", "'")
            } else if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                serde_json::from_str::<String>(&format!("\"{inner}\"")).ok()?
            } else {
                value.to_string()
            },
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_inputs_are_read_from_mlmodel() {
        let text = "artifact_path: model\nsignature:\n  inputs: '[{\"type\": \"double\", \"name\": \"it''s\", \"required\": true}]'\n  outputs: '[]'\n";
        assert_eq!(
            signature_inputs(text).as_deref(),
            Some("[{\"type\": \"double\", \"name\": \"it's\", \"required\": true}]")
        );
        assert_eq!(signature_inputs("flavors:\n  inputs: x\n"), None);
        assert_eq!(proxied_path("mlflow-artifacts://h:5000/1/x/").as_deref(), Some("1/x"));
        assert_eq!(proxied_path("file:///tmp"), None);
    }
}
