//! Where `lathe predict` and `lathe eval` find a trained pipeline: a local
//! model folder, or `runs:/RUN/PATH`, `models:/NAME/VERSION`,
//! `models:/NAME@ALIAS` resolved through the tracking store to files under
//! the artifacts destination, or through the tracking server's artifact
//! proxy when the tracking URI is `http(s)://` (`mlflow-artifacts:/` paths).

use std::{path::Path, sync::Arc};

use anyhow::{bail, Context};
use lathe_core::ModelUri;
use lathe_store::{ArtifactStore, Store};
use lathe_train::{FittedPipeline, INPUT_EXAMPLE_FILE, META_FILE, MLMODEL_FILE, PREPROCESS_FILE};
use tokio::io::AsyncReadExt;

use crate::tracking_uri;

/// The flags that say where a model lives when it is not a local folder.
#[derive(Debug, clap::Args)]
pub(crate) struct SourceArgs {
    #[command(flatten)]
    pub(crate) tracking: super::TrackingArgs,
    #[command(flatten)]
    pub(crate) artifacts: super::ArtifactsArgs,
}

/// A pipeline and where it came from.
pub(crate) struct Loaded {
    pub(crate) pipeline: FittedPipeline,
    /// The experiment of the run that logged it, when it came through the store.
    pub(crate) experiment_id: Option<String>,
}

/// Loads the pipeline `uri` names, opening the store only when it is not a folder.
pub(crate) async fn load(uri: &str, source: &SourceArgs) -> anyhow::Result<Loaded> {
    if Path::new(uri).is_dir() {
        return load_folder(uri);
    }
    let store = tracking_uri::open(&source.tracking.tracking_uri).await?;
    let artifacts = open_artifacts(source)?;
    load_with(uri, store.as_ref(), artifacts.as_ref()).await
}

/// The artifact store that goes with the tracking URI.
pub(crate) fn open_artifacts(source: &SourceArgs) -> anyhow::Result<Arc<dyn ArtifactStore>> {
    source.artifacts.open(&source.tracking)
}

fn load_folder(uri: &str) -> anyhow::Result<Loaded> {
    let pipeline = FittedPipeline::load(Path::new(uri))
        .with_context(|| format!("cannot load the model folder {uri}"))?;
    Ok(Loaded { pipeline, experiment_id: None })
}

/// Loads the pipeline `uri` names through an open store.
pub(crate) async fn load_with(
    uri: &str,
    store: &dyn Store,
    artifacts: &dyn ArtifactStore,
) -> anyhow::Result<Loaded> {
    if Path::new(uri).is_dir() {
        return load_folder(uri);
    }
    let parsed: ModelUri = uri.parse().map_err(|_| {
        anyhow::anyhow!(
            "model {uri:?}: not a folder, and not runs:/RUN_ID/PATH, models:/NAME/VERSION or \
             models:/NAME@ALIAS"
        )
    })?;
    let (run_id, path) = run_and_path(&parsed, store, uri).await?;
    let run = store.get_run(&run_id).await.with_context(|| format!("model {uri}: run {run_id}"))?;
    let root = proxied_path(&run.info.artifact_uri).with_context(|| {
        format!(
            "run {run_id} keeps its artifacts at {}; lathe reads only mlflow-artifacts:/",
            run.info.artifact_uri
        )
    })?;
    let dir = format!("{root}/{}", path.trim_matches('/'));
    let read = |name: &'static str| read_text(artifacts, format!("{dir}/{name}"));
    let preprocess = read(PREPROCESS_FILE)
        .await
        .with_context(|| format!("model {uri} is not a lathe train model"))?;
    let meta = read(META_FILE).await?;
    // Tree models keep LightGBM's text, linear ones their weights.
    let trees = match read(lathe_train::TREES_FILE).await {
        Ok(text) => text,
        Err(_) => read(lathe_train::LINEAR_FILE).await?,
    };
    let mlmodel = read(MLMODEL_FILE).await.ok();
    let example = read(INPUT_EXAMPLE_FILE).await.ok();
    let pipeline = FittedPipeline::from_files(
        &preprocess,
        &meta,
        &trees,
        mlmodel.as_deref(),
        example.as_deref(),
    )
    .with_context(|| format!("cannot load model {uri}"))?;
    Ok(Loaded { pipeline, experiment_id: Some(run.info.experiment_id) })
}

/// The run and the path inside its artifacts that `uri` points at.
async fn run_and_path(
    parsed: &ModelUri,
    store: &dyn Store,
    uri: &str,
) -> anyhow::Result<(String, String)> {
    let version = match parsed {
        ModelUri::Run { run_id, path } => return Ok((run_id.clone(), path.clone())),
        ModelUri::Version { name, version } => store.get_model_version(name, *version).await,
        ModelUri::Alias { name, alias } => store.get_model_version_by_alias(name, alias).await,
        ModelUri::LoggedModel { .. } => bail!("model {uri}: logged models are not supported here"),
    }
    .with_context(|| format!("cannot resolve model {uri}"))?;
    match version.source.parse::<ModelUri>() {
        Ok(ModelUri::Run { run_id, path }) => Ok((run_id, path)),
        _ if !version.run_id.is_empty() => Ok((version.run_id, "model".into())),
        _ => bail!("model {uri}: its source {} is not runs:/RUN_ID/PATH", version.source),
    }
}

async fn read_text(artifacts: &dyn ArtifactStore, path: String) -> anyhow::Result<String> {
    let (mut stream, _) =
        artifacts.get(&path).await.with_context(|| format!("cannot read artifact {path}"))?;
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .await
        .with_context(|| format!("cannot read artifact {path}"))?;
    Ok(text)
}

/// `mlflow-artifacts:/a/b` or `mlflow-artifacts://host/a/b` → `a/b`.
pub(crate) fn proxied_path(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("mlflow-artifacts:")?;
    let rest = match rest.strip_prefix("//") {
        Some(with_host) => with_host.split_once('/').map_or("", |(_, p)| p),
        None => rest,
    };
    Some(rest.trim_matches('/').to_string())
}
