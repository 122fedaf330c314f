//! Hugging Face folders: config.json, tokenizer.json, tokenizer_config.json
//! (chat template, special tokens), generation_config.json (end-of-sequence
//! ids) and safetensors weights, sharded or not.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde_json::Value;

use crate::chat::ChatTemplate;
use crate::config::LlamaConfig;
use crate::error::{Error, Result};
use crate::generate::CandleEngine;
use crate::model::Llama;
use crate::tokenizer::TextTokenizer;

pub(super) fn load(dir: &Path, device: &Device) -> Result<CandleEngine> {
    let config_path = dir.join("config.json");
    let text = read(&config_path)?;
    let config = LlamaConfig::from_hf_json(&config_path, &text)?;
    let tokenizer_path = dir.join("tokenizer.json");
    if !tokenizer_path.exists() {
        return Err(Error::MissingFile {
            dir: dir.to_owned(),
            file: "tokenizer.json".into(),
            hint: "the tokenizer (transformers' save_pretrained writes it)",
        });
    }
    let tc = read_json_if_exists(&dir.join("tokenizer_config.json"))?;
    let special = |key: &str| -> Option<String> {
        match tc.as_ref()?.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("content")?.as_str().map(str::to_owned),
            _ => None,
        }
    };
    let (bos, eos) = (special("bos_token"), special("eos_token"));
    let mut tokenizer = TextTokenizer::from_file(&tokenizer_path, eos.as_slice())?;
    if let Some(gen) = read_json_if_exists(&dir.join("generation_config.json"))? {
        let ids: Vec<u32> = match gen.get("eos_token_id") {
            Some(Value::Number(n)) => n.as_u64().map(|n| n as u32).into_iter().collect(),
            Some(Value::Array(a)) => {
                a.iter().filter_map(|v| v.as_u64().map(|n| n as u32)).collect()
            }
            _ => Vec::new(),
        };
        tokenizer.add_eos_ids(&ids);
    }
    let template = match tc.as_ref().and_then(|c| c.get("chat_template")) {
        Some(Value::String(s)) => Some(s.clone()),
        // A list of named templates: the one named "default".
        Some(Value::Array(list)) => list
            .iter()
            .find(|t| t.get("name").and_then(Value::as_str) == Some("default"))
            .and_then(|t| t.get("template")?.as_str().map(str::to_owned)),
        _ => None,
    };
    let template = template
        .map(|t| ChatTemplate::new(&t, bos.as_deref().unwrap_or(""), eos.as_deref().unwrap_or("")))
        .transpose()?;
    let tensors = read_weights(dir, device)?;
    let model = Llama::from_tensors(config, tensors, dir, device)?;
    Ok(CandleEngine::new(model, tokenizer, template))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

fn read_json_if_exists(path: &Path) -> Result<Option<Value>> {
    if !path.exists() {
        return Ok(None);
    }
    serde_json::from_str(&read(path)?)
        .map(Some)
        .map_err(|e| Error::config(path, "(json)", format!("is not valid: {e}")))
}

/// The shard files an index's `weight_map` points to.
pub(super) fn shard_names(index: &Path, text: &str) -> Result<Vec<String>> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::config(index, "(json)", format!("is not valid: {e}")))?;
    let map = v
        .get("weight_map")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::config(index, "weight_map", "is missing or not an object"))?;
    let names: BTreeSet<String> =
        map.values().filter_map(|f| f.as_str().map(str::to_owned)).collect();
    Ok(names.into_iter().collect())
}

fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if index.exists() {
        let names = shard_names(&index, &read(&index)?)?;
        let files: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
        if let Some(missing) = files.iter().find(|f| !f.exists()) {
            return Err(Error::MissingFile {
                dir: dir.to_owned(),
                file: missing
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                hint: "a shard listed in model.safetensors.index.json",
            });
        }
        return Ok(files);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = entry.map_err(|e| Error::io(dir, e))?.path();
        if p.extension().is_some_and(|e| e == "safetensors") {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(Error::MissingFile {
            dir: dir.to_owned(),
            file: "*.safetensors".into(),
            hint: "the weights (model.safetensors, or shards with model.safetensors.index.json)",
        });
    }
    files.sort();
    Ok(files)
}

fn read_weights(dir: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    let mut all = HashMap::new();
    for file in weight_files(dir)? {
        let tensors = candle_core::safetensors::load(&file, device).map_err(|e| Error::Weight {
            path: file.clone(),
            name: "(file)".into(),
            problem: format!("cannot be read as safetensors: {e}"),
        })?;
        all.extend(tensors);
    }
    Ok(all)
}
