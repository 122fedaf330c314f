//! Where `lathe serve --llm` and `--adapter` find a language model: a local
//! folder or GGUF file, a Hub id, or a LoRA adapter that `lathe llm finetune
//! --register` logged (`models:/NAME@ALIAS`, `models:/NAME/VERSION`,
//! `runs:/RUN/adapter`). An adapter's version records its base model, which
//! is loaded once; each adapter is folded into it as its own served model,
//! sharing every unadapted weight and the tokenizer.

use std::path::Path;

use anyhow::{bail, Context};
use lathe_core::{ModelUri, Tag};
use lathe_llm::lora::peft::{self, BaseIdentity};
use lathe_llm::lora::{merge, DType};
use lathe_llm::CandleEngine;
use lathe_store::{ArtifactStore, Store};
use tokio::io::AsyncReadExt;

use super::model_source::proxied_path;

/// The version tag (and run tag) naming the base model an adapter was trained on.
pub(crate) const BASE_MODEL_TAG: &str = "lathe.llm.base_model";
/// The version tag holding the base's weight fingerprint.
pub(crate) const BASE_FINGERPRINT_TAG: &str = "lathe.llm.base_model_fingerprint";
/// The version tag saying what kind of LLM artifact a version is.
pub(crate) const KIND_TAG: &str = "lathe.llm.kind";
/// [`KIND_TAG`]'s value for a LoRA adapter.
pub(crate) const KIND_LORA: &str = "lora_adapter";

/// Whether `spec` names a model through the tracking store rather than a path or Hub id.
pub(crate) fn is_uri(spec: &str) -> bool {
    spec.starts_with("models:/") || spec.starts_with("runs:/")
}

/// An adapter's two files, read into memory, and what it belongs to.
pub(crate) struct AdapterFiles {
    /// The name it is served under unless told otherwise: the registered
    /// model's name, or the folder's.
    pub(crate) default_name: String,
    /// Where it came from, for messages.
    pub(crate) origin: String,
    /// The base model it was trained on, when recorded.
    pub(crate) base: Option<String>,
    config: String,
    weights: Vec<u8>,
}

impl AdapterFiles {
    /// Reads an adapter folder (`adapter_config.json` + `adapter_model.safetensors`).
    pub(crate) fn from_dir(dir: &Path) -> anyhow::Result<AdapterFiles> {
        let config_path = dir.join(peft::CONFIG_FILE);
        let config = std::fs::read_to_string(&config_path)
            .with_context(|| format!("cannot read {}", config_path.display()))?;
        let weights_path = dir.join(peft::WEIGHTS_FILE);
        let weights = std::fs::read(&weights_path)
            .with_context(|| format!("cannot read {}", weights_path.display()))?;
        let saved = peft::parse_config(&config, &config_path)?;
        Ok(AdapterFiles {
            default_name: dir
                .file_name()
                .map_or_else(|| "adapter".to_owned(), |n| n.to_string_lossy().into_owned()),
            origin: dir.display().to_string(),
            base: saved.base_name,
            config,
            weights,
        })
    }

    /// Reads the adapter `uri` names through the store: the version's (or
    /// run's) source, its files from the artifacts, its base from the
    /// version's tag, else the run's, else the adapter's own config.
    pub(crate) async fn from_uri(
        uri: &str,
        store: &dyn Store,
        artifacts: &dyn ArtifactStore,
    ) -> anyhow::Result<AdapterFiles> {
        let parsed: ModelUri = uri.parse().map_err(|_| {
            anyhow::anyhow!(
                "{uri:?} is not models:/NAME@ALIAS, models:/NAME/VERSION or runs:/RUN_ID/PATH"
            )
        })?;
        let (default_name, version) = match &parsed {
            ModelUri::Run { run_id, .. } => (run_id.clone(), None),
            ModelUri::Version { name, version } => {
                (name.clone(), Some(store.get_model_version(name, *version).await))
            }
            ModelUri::Alias { name, alias } => {
                (name.clone(), Some(store.get_model_version_by_alias(name, alias).await))
            }
            ModelUri::LoggedModel { .. } => bail!("{uri}: logged models are not supported here"),
        };
        let version = version.transpose().with_context(|| format!("cannot resolve {uri}"))?;
        let (run_id, path) = match (&parsed, &version) {
            (ModelUri::Run { run_id, path }, _) => (run_id.clone(), path.clone()),
            (_, Some(v)) => match v.source.parse::<ModelUri>() {
                Ok(ModelUri::Run { run_id, path }) => (run_id, path),
                _ => bail!("{uri}: its source {} is not runs:/RUN_ID/PATH", v.source),
            },
            (_, None) => bail!("{uri}: no model version"),
        };
        let run = store.get_run(&run_id).await.with_context(|| format!("{uri}: run {run_id}"))?;
        let root = proxied_path(&run.info.artifact_uri).with_context(|| {
            format!(
                "run {run_id} keeps its artifacts at {}; lathe reads only mlflow-artifacts:/",
                run.info.artifact_uri
            )
        })?;
        let dir = format!("{root}/{}", path.trim_matches('/'));
        let config_bytes =
            read(artifacts, &format!("{dir}/{}", peft::CONFIG_FILE)).await.with_context(|| {
                format!("{uri} is not a LoRA adapter (lathe llm finetune --register logs one)")
            })?;
        let config = String::from_utf8(config_bytes)
            .with_context(|| format!("{uri}: {} is not UTF-8", peft::CONFIG_FILE))?;
        let weights = read(artifacts, &format!("{dir}/{}", peft::WEIGHTS_FILE)).await?;
        let tagged =
            |tags: &[Tag]| tags.iter().find(|t| t.key == BASE_MODEL_TAG).map(|t| t.value.clone());
        let saved = peft::parse_config(&config, Path::new(uri))?;
        let base = version
            .as_ref()
            .and_then(|v| tagged(&v.tags))
            .or_else(|| tagged(&run.tags))
            .or(saved.base_name);
        Ok(AdapterFiles { default_name, origin: uri.to_owned(), base, config, weights })
    }

    /// This adapter folded into `base` (whose identity is `id`), as an
    /// engine sharing `base`'s tokenizer; refuses an adapter for another base.
    pub(crate) fn apply(
        &self,
        base: &CandleEngine,
        id: &BaseIdentity,
    ) -> anyhow::Result<CandleEngine> {
        let model = base.model();
        let adapters = peft::load_bytes(
            &self.config,
            &self.weights,
            Path::new(&self.origin),
            model.config(),
            id,
            DType::F32,
        )?;
        Ok(base.with_model(merge::merged_model(model, &adapters)?))
    }
}

async fn read(artifacts: &dyn ArtifactStore, path: &str) -> anyhow::Result<Vec<u8>> {
    let (mut stream, _) =
        artifacts.get(path).await.with_context(|| format!("cannot read artifact {path}"))?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.with_context(|| format!("cannot read artifact {path}"))?;
    Ok(bytes)
}
