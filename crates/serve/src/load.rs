//! Resolving a model URI through the registry to its files, and reading them:
//! `models:/NAME@ALIAS` → version → its source (`runs:/RUN/PATH`, a logged
//! model `models:/m-…`, or `mlflow-artifacts:/…`) → the model directory →
//! `MLmodel` (flavors and signature) and the flavor's data: `model.json`
//! for lathe's binary models, the fitted pipeline of `lathe train`
//! (`lathe_tabular`: preprocessing, metadata, trees or weights), LightGBM's text (`model.lgb`) for the
//! `lightgbm` flavor, XGBoost's JSON for the `xgboost` flavor, an ONNX
//! graph (`model.onnx`) for the `onnx` flavor.

use std::sync::Arc;

use lathe_core::{ModelUri, ModelVersion};
use lathe_store::{ArtifactStore, Store};
use lathe_train::{xgboost::XgbModel, FittedPipeline, Model, TreeEnsemble};
use tokio::io::AsyncReadExt;

use crate::{mlmodel::Mlmodel, Error, Result, Scorer, Signature};

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
    pub scorer: Scorer,
    /// Its input schema: requests are checked against it, rows arrive in its order.
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
    let text = |bytes: Vec<u8>, file: &str| {
        String::from_utf8(bytes).map_err(|_| invalid(format!("{file} is not UTF-8")))
    };
    let mlmodel =
        text(read(artifacts, &format!("{dir}/MLmodel")).await.map_err(store_err)?, "MLmodel")?;
    let mlmodel = Mlmodel::parse(&mlmodel).map_err(|e| invalid(format!("MLmodel: {e}")))?;
    let declared = match &mlmodel.signature_inputs {
        Some(json) => Some(
            Signature::from_colspec_json(json)
                .map_err(|e| invalid(format!("MLmodel signature: {e}")))?,
        ),
        None => None,
    };
    let (scorer, signature) = if let Some(lathe) = mlmodel.flavor("lathe") {
        let file = lathe.get("data").map_or("model.json", String::as_str);
        let json = text(read(artifacts, &format!("{dir}/{file}")).await.map_err(store_err)?, file)?;
        let model = Model::from_json(&json).map_err(|e| invalid(format!("{file}: {e}")))?;
        let signature = match declared {
            Some(signature) => signature,
            None => {
                Signature::from_colspec_json(&model.signature_inputs_json()).map_err(invalid)?
            }
        };
        let names: Vec<&str> = signature.columns.iter().map(|c| c.name.as_str()).collect();
        if names != model.feature_names.iter().map(String::as_str).collect::<Vec<_>>() {
            return Err(invalid(
                "the MLmodel signature's inputs are not the model's features".into(),
            ));
        }
        (Scorer::Lathe(model), signature)
    } else if let Some(tabular) = mlmodel.flavor(lathe_train::FLAVOR) {
        let file = |key: &str, default: &'static str| {
            tabular.get(key).cloned().unwrap_or_else(|| default.to_string())
        };
        let mut texts = Vec::with_capacity(3);
        for name in [
            file("preprocess", lathe_train::PREPROCESS_FILE),
            file("meta", lathe_train::META_FILE),
            file("data", lathe_train::TREES_FILE),
        ] {
            let bytes = read(artifacts, &format!("{dir}/{name}")).await.map_err(store_err)?;
            texts.push(text(bytes, &name)?);
        }
        let pipeline = FittedPipeline::from_files(&texts[0], &texts[1], &texts[2], None, None)
            .map_err(|e| invalid(e.to_string()))?;
        let signature = match declared {
            Some(signature) => signature,
            None => {
                Signature::from_colspec_json(&pipeline.signature_inputs_json()).map_err(invalid)?
            }
        };
        (Scorer::Tabular(Box::new(pipeline)), signature)
    } else if let Some(lgb) = mlmodel.flavor("lightgbm") {
        let file = lgb.get("data").map_or("model.lgb", String::as_str);
        let class = lgb.get("model_class").map_or("lightgbm.basic.Booster", String::as_str);
        if class != "lightgbm.basic.Booster" {
            return Err(invalid(format!(
                "its lightgbm model is a {class} saved with skops; lathe serves LightGBM's text \
                 format: log the booster (mlflow.lightgbm.log_model(model.booster_, ...))"
            )));
        }
        let model =
            text(read(artifacts, &format!("{dir}/{file}")).await.map_err(store_err)?, file)?;
        let trees = TreeEnsemble::parse(&model).map_err(|e| invalid(format!("{file}: {e}")))?;
        let signature = match declared {
            Some(signature) => signature,
            None => Signature::doubles(trees.feature_names()),
        };
        let order = feature_order(&signature, trees.feature_names()).map_err(invalid)?;
        (Scorer::LightGbm { trees, order }, signature)
    } else if let Some(xgb) = mlmodel.flavor("xgboost") {
        let file = xgb.get("data").map_or("model.xgb", String::as_str);
        let format = xgb.get("model_format").map_or("xgb", String::as_str);
        if format != "json" && !file.ends_with(".json") {
            return Err(invalid(format!(
                "its xgboost model is in the '{format}' format; lathe serves XGBoost's JSON \
                 format (mlflow.xgboost.log_model(..., model_format=\"json\"))"
            )));
        }
        let json = text(read(artifacts, &format!("{dir}/{file}")).await.map_err(store_err)?, file)?;
        let model = XgbModel::from_json(&json).map_err(|e| invalid(format!("{file}: {e}")))?;
        let signature = match declared {
            Some(signature) => signature,
            None => Signature::doubles(model.feature_names()),
        };
        let order = feature_order(&signature, model.feature_names()).map_err(invalid)?;
        (Scorer::Xgboost { model, order }, signature)
    } else if let Some(onnx) = mlmodel.flavor("onnx") {
        let file = onnx.get("data").map_or("model.onnx", String::as_str);
        let bytes = read(artifacts, &format!("{dir}/{file}")).await.map_err(store_err)?;
        let mut external = std::collections::BTreeMap::new();
        for name in external_files(&bytes).map_err(|e| invalid(format!("{file}: {e}")))? {
            let bytes = read(artifacts, &format!("{dir}/{name}")).await.map_err(store_err)?;
            external.insert(name, bytes);
        }
        // Optimizing a graph is CPU work: off the async workers, as a hot swap loads
        // while they answer requests.
        tokio::task::spawn_blocking(move || onnx_scorer(&bytes, &external, declared))
            .await
            .map_err(|e| invalid(format!("{file}: loading stopped: {e}")))?
            .map_err(|e| invalid(format!("{file}: {e}")))?
    } else {
        return Err(invalid(format!(
            "no flavor lathe can serve (it has: {}; lathe serves lathe, lathe_tabular, lightgbm, xgboost and onnx models)",
            mlmodel.flavor_names()
        )));
    };
    Ok(LoadedModel {
        uri: uri.to_string(),
        name: version.name,
        version: version.version,
        alias,
        scorer,
        signature,
    })
}

/// An ONNX graph and the signature that feeds it: the declared columns, in
/// order, are the input tensor's columns, so their count must match; a model
/// logged without a signature takes `f0`, `f1`, … by position.
#[cfg(feature = "onnx")]
fn onnx_scorer(
    bytes: &[u8],
    external: &std::collections::BTreeMap<String, Vec<u8>>,
    declared: Option<Signature>,
) -> std::result::Result<(Scorer, Signature), String> {
    let model = crate::onnx::OnnxModel::from_bytes(bytes, external)?;
    let signature = match declared {
        Some(signature) => signature,
        None => {
            Signature::doubles(&(0..model.features()).map(|i| format!("f{i}")).collect::<Vec<_>>())
        }
    };
    if signature.columns.len() != model.features() {
        return Err(format!(
            "its MLmodel signature has {} columns but the graph's input takes {} features",
            signature.columns.len(),
            model.features()
        ));
    }
    Ok((Scorer::Onnx(model), signature))
}

/// The files an ONNX model keeps its weights in, beside it.
#[cfg(feature = "onnx")]
fn external_files(bytes: &[u8]) -> std::result::Result<Vec<String>, String> {
    crate::onnx::OnnxModel::external_files(bytes)
}

/// Without the `onnx` feature nothing is read beside the model.
#[cfg(not(feature = "onnx"))]
fn external_files(_bytes: &[u8]) -> std::result::Result<Vec<String>, String> {
    Ok(Vec::new())
}

/// This build was made without the `onnx` feature.
#[cfg(not(feature = "onnx"))]
fn onnx_scorer(
    _bytes: &[u8],
    _external: &std::collections::BTreeMap<String, Vec<u8>>,
    _declared: Option<Signature>,
) -> std::result::Result<(Scorer, Signature), String> {
    Err("this lathe was built without ONNX support (cargo feature `onnx` of lathe-serve)".into())
}

/// For each of the model's features, the signature column that feeds it:
/// matched by name (LightGBM stores names with spaces turned into `_`,
/// so that spelling matches too), or by position when the model's names are
/// placeholders (XGBoost's `f0`, `f1`, …; LightGBM's `Column_0`, …) and the
/// counts agree.
fn feature_order(
    signature: &Signature,
    features: &[String],
) -> std::result::Result<Vec<usize>, String> {
    let columns: Vec<&str> = signature.columns.iter().map(|c| c.name.as_str()).collect();
    let lightgbm_spelling = |c: &str| c.replace(char::is_whitespace, "_");
    let by_name: Option<Vec<usize>> = features
        .iter()
        .map(|f| {
            columns
                .iter()
                .position(|c| c == f)
                .or_else(|| columns.iter().position(|c| lightgbm_spelling(c) == *f))
        })
        .collect();
    if let Some(order) = by_name {
        return Ok(order);
    }
    let placeholders = features
        .iter()
        .enumerate()
        .all(|(i, f)| *f == format!("f{i}") || *f == format!("Column_{i}"));
    if placeholders && features.len() == columns.len() {
        return Ok((0..features.len()).collect());
    }
    let missing: Vec<&str> = features
        .iter()
        .map(String::as_str)
        .filter(|f| !columns.iter().any(|c| c == f || lightgbm_spelling(c) == *f))
        .take(5)
        .collect();
    Err(format!("the model's features {missing:?} are not in its MLmodel signature"))
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
    if let Ok(ModelUri::LoggedModel { model_id }) = source.parse::<ModelUri>() {
        let logged = store.get_logged_model(&model_id).await.map_err(Lookup::Store)?;
        return proxied_path(&logged.artifact_location).ok_or_else(|| {
            Lookup::Unsupported(format!(
                "logged model {model_id} keeps artifacts at {}; only mlflow-artifacts:/ is served",
                logged.artifact_location
            ))
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_paths_are_read_from_proxied_uris() {
        assert_eq!(proxied_path("mlflow-artifacts://h:5000/1/x/").as_deref(), Some("1/x"));
        assert_eq!(proxied_path("file:///tmp"), None);
    }
}
