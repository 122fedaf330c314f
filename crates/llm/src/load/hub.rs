//! Model ids (`org/name`) resolved through the Hugging Face Hub.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Whether `spec` reads as a Hub model id (`org/name`) rather than a path.
pub fn looks_like_model_id(spec: &str) -> bool {
    let ok = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match spec.split_once('/') {
        Some((org, name)) => ok(org) && ok(name),
        None => false,
    }
}

/// Downloads (or finds in the Hub cache) the files of a Llama-family model
/// and returns the snapshot folder.
pub(super) fn download(
    model_id: &str,
    endpoint: Option<String>,
    cache_dir: Option<PathBuf>,
) -> Result<PathBuf> {
    let hub_err = |e: Box<dyn std::error::Error + Send + Sync>| Error::Hub {
        model_id: model_id.to_owned(),
        cause: e,
    };
    let mut builder = hf_hub::api::sync::ApiBuilder::from_env().with_progress(false);
    if let Some(endpoint) = endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(dir) = cache_dir {
        builder = builder.with_cache_dir(dir);
    }
    let api = builder.build().map_err(|e| hub_err(Box::new(e)))?;
    let repo = api.model(model_id.to_owned());
    let config = repo.get("config.json").map_err(|e| hub_err(Box::new(e)))?;
    for file in ["tokenizer.json", "tokenizer_config.json"] {
        repo.get(file).map_err(|e| hub_err(Box::new(e)))?;
    }
    match repo.get("model.safetensors.index.json") {
        Ok(index) => {
            let text = std::fs::read_to_string(&index).map_err(|e| Error::io(&index, e))?;
            for shard in super::hf::shard_names(&index, &text)? {
                repo.get(&shard).map_err(|e| hub_err(Box::new(e)))?;
            }
        }
        Err(_) => {
            repo.get("model.safetensors").map_err(|e| hub_err(Box::new(e)))?;
        }
    }
    // generation_config.json is optional; it may add end-of-sequence ids.
    let _ = repo.get("generation_config.json");
    config.parent().map(PathBuf::from).ok_or_else(|| Error::NotFound { path: config.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_ids_from_paths() {
        assert!(looks_like_model_id("HuggingFaceTB/SmolLM2-135M-Instruct"));
        for path in ["./a/b", "/abs/x", "model.gguf", "a/b/c", "~/m/x", "../x"] {
            assert!(!looks_like_model_id(path), "{path}");
        }
    }

    #[test]
    fn an_unreachable_hub_fails_with_an_offline_message() {
        // Port 9 (discard) on loopback refuses connections: a stand-in for no network.
        let dir = tempfile::tempdir().unwrap();
        let endpoint = Some("http://127.0.0.1:9".to_owned());
        let e = download("nobody/no-model", endpoint, Some(dir.path().to_owned())).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("nobody/no-model") && msg.contains("offline"), "{msg}");
    }
}
