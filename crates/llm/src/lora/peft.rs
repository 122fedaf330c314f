//! Adapters in Hugging Face PEFT's format: `adapter_config.json` plus
//! `adapter_model.safetensors` with PEFT's tensor names
//! (`base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight`, `[r, in]`;
//! `…lora_B.weight`, `[out, r]`), so PEFT loads lathe's adapters and lathe loads PEFT's.
//!
//! The base is recorded twice: by name in PEFT's `base_model_name_or_path`,
//! and by a fingerprint of its weights in `lathe_base_model_fingerprint`
//! (PEFT ignores unknown keys), which is what refuses an adapter for another base.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{DType, Tensor};
use serde_json::{json, Value};

use super::{Adapters, LoraConfig, Target};
use crate::config::LlamaConfig;
use crate::error::{Error, Result};
use crate::model::Llama;

/// The adapter's configuration file.
pub const CONFIG_FILE: &str = "adapter_config.json";
/// The adapter's weights file.
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";
const FINGERPRINT_KEY: &str = "lathe_base_model_fingerprint";

/// Which base model an adapter belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseIdentity {
    /// A name for people (a Hub id or the path it was loaded from).
    pub name: String,
    /// A hash of the configuration and of samples of every weight.
    pub fingerprint: String,
}

impl BaseIdentity {
    /// The identity of a loaded model.
    pub fn of(model: &Llama, name: &str) -> Result<BaseIdentity> {
        Ok(BaseIdentity { name: name.to_owned(), fingerprint: fingerprint(model)? })
    }
}

/// FNV-1a over the configuration and the first and last 4096 values of
/// every weight: cheap on a 135M model, and different for any other
/// checkpoint of the same architecture.
pub fn fingerprint(model: &Llama) -> Result<String> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(format!("{:?}", model.config()).as_bytes());
    let tensors: BTreeMap<String, Tensor> = model.named_tensors().into_iter().collect();
    for (name, t) in &tensors {
        eat(name.as_bytes());
        eat(format!("{:?}", t.dims()).as_bytes());
        let flat = t.flatten_all()?.to_dtype(DType::F32)?;
        let n = flat.elem_count();
        let k = n.min(4096);
        for part in [flat.narrow(0, 0, k)?, flat.narrow(0, n - k, k)?] {
            for v in part.to_vec1::<f32>()? {
                eat(&v.to_le_bytes());
            }
        }
    }
    Ok(format!("fnv1a64:{h:016x}"))
}

/// Writes `adapters` into `dir` (created if needed) in PEFT's format.
pub fn save(dir: &Path, adapters: &Adapters, base: &BaseIdentity) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let c = adapters.config();
    let targets: Vec<&str> = c.targets.iter().map(|t| t.name()).collect();
    let config = json!({
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": c.rank,
        "lora_alpha": c.alpha,
        "lora_dropout": c.dropout,
        "target_modules": targets,
        "bias": "none",
        "fan_in_fan_out": false,
        "use_rslora": false,
        "use_dora": false,
        "init_lora_weights": true,
        "inference_mode": true,
        "base_model_name_or_path": base.name,
        FINGERPRINT_KEY: base.fingerprint,
    });
    let path = dir.join(CONFIG_FILE);
    let text = serde_json::to_string_pretty(&config)
        .map_err(|e| Error::config(&path, "(json)", e.to_string()))?;
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    let mut tensors = std::collections::HashMap::new();
    for (name, var) in adapters.named_vars() {
        tensors.insert(name, var.as_tensor().to_dtype(DType::F32)?);
    }
    candle_core::safetensors::save(&tensors, dir.join(WEIGHTS_FILE))?;
    Ok(())
}

/// What `adapter_config.json` says.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedConfig {
    /// Rank, alpha, dropout and targets.
    pub lora: LoraConfig,
    /// `base_model_name_or_path`, if present.
    pub base_name: Option<String>,
    /// lathe's fingerprint of the base, absent in PEFT's own files.
    pub base_fingerprint: Option<String>,
}

/// Reads `adapter_config.json`, refusing what lathe cannot apply (DoRA, biases, …).
pub fn read_config(dir: &Path) -> Result<SavedConfig> {
    let path = dir.join(CONFIG_FILE);
    if !path.exists() {
        return Err(Error::MissingFile {
            dir: dir.to_owned(),
            file: CONFIG_FILE.into(),
            hint: "a LoRA adapter folder holds adapter_config.json and adapter_model.safetensors",
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    parse_config(&text, &path)
}

/// Parses the text of an `adapter_config.json`; `path` names it in errors.
pub fn parse_config(text: &str, path: &Path) -> Result<SavedConfig> {
    let path = path.to_owned();
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::config(&path, "(json)", format!("is not valid: {e}")))?;
    let field = |k: &str| v.get(k).filter(|x| !x.is_null());
    if let Some(t) = field("peft_type").and_then(Value::as_str) {
        if t != "LORA" {
            return Err(Error::config(&path, "peft_type", format!("is '{t}', lathe applies LORA")));
        }
    }
    for (key, expect) in [("use_dora", false), ("fan_in_fan_out", false), ("use_rslora", false)] {
        if field(key).and_then(Value::as_bool).is_some_and(|b| b != expect) {
            return Err(Error::config(&path, key, format!("must be {expect} for lathe")));
        }
    }
    if field("bias").and_then(Value::as_str).is_some_and(|b| b != "none") {
        return Err(Error::config(&path, "bias", "must be 'none' for lathe"));
    }
    let rank = field("r")
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::config(&path, "r", "is missing or not a positive integer"))?
        as usize;
    let alpha = field("lora_alpha").and_then(Value::as_f64).unwrap_or(8.0);
    let dropout = field("lora_dropout").and_then(Value::as_f64).unwrap_or(0.0);
    let targets = match field("target_modules") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| Target::parse(t.as_str().unwrap_or_default()))
            .collect::<Result<Vec<_>>>(),
        Some(Value::String(s)) => Target::parse_list(s),
        _ => Err(Error::config(&path, "target_modules", "is missing or not a list")),
    }
    .map_err(|e| Error::config(&path, "target_modules", e.to_string()))?;
    let mut targets = targets;
    targets.sort();
    targets.dedup();
    Ok(SavedConfig {
        lora: LoraConfig { rank, alpha, dropout, targets },
        base_name: field("base_model_name_or_path").and_then(Value::as_str).map(str::to_owned),
        base_fingerprint: field(FINGERPRINT_KEY).and_then(Value::as_str).map(str::to_owned),
    })
}

/// Loads the adapter in `dir` for `base`, refusing one trained on another base.
pub fn load(
    dir: &Path,
    model: &LlamaConfig,
    base: &BaseIdentity,
    dtype: DType,
) -> Result<Adapters> {
    let saved = read_config(dir)?;
    check_base(&saved, dir, base)?;
    let path = dir.join(WEIGHTS_FILE);
    if !path.exists() {
        return Err(Error::MissingFile {
            dir: dir.to_owned(),
            file: WEIGHTS_FILE.into(),
            hint: "the adapter's weights",
        });
    }
    let tensors = candle_core::safetensors::load(&path, &candle_core::Device::Cpu)
        .map_err(|e| unreadable(&path, e))?;
    let tensors: BTreeMap<String, Tensor> = tensors.into_iter().collect();
    Adapters::from_named(saved.lora, model, &tensors, dtype, &path)
}

/// Loads an adapter from the bytes of its two files (read from a run's
/// artifacts, say); `source` names it in errors. Refuses one for another base.
pub fn load_bytes(
    config_text: &str,
    weights: &[u8],
    source: &Path,
    model: &LlamaConfig,
    base: &BaseIdentity,
    dtype: DType,
) -> Result<Adapters> {
    let saved = parse_config(config_text, &source.join(CONFIG_FILE))?;
    check_base(&saved, source, base)?;
    let path = source.join(WEIGHTS_FILE);
    let tensors = candle_core::safetensors::load_buffer(weights, &candle_core::Device::Cpu)
        .map_err(|e| unreadable(&path, e))?;
    let tensors: BTreeMap<String, Tensor> = tensors.into_iter().collect();
    Adapters::from_named(saved.lora, model, &tensors, dtype, &path)
}

fn unreadable(path: &Path, e: candle_core::Error) -> Error {
    Error::Weight {
        path: path.to_owned(),
        name: "(file)".into(),
        problem: format!("cannot be read as safetensors: {e}"),
    }
}

/// Refuses an adapter whose recorded fingerprint is not `base`'s, naming both.
fn check_base(saved: &SavedConfig, adapter: &Path, base: &BaseIdentity) -> Result<()> {
    match &saved.base_fingerprint {
        Some(fp) if *fp != base.fingerprint => Err(Error::AdapterBase {
            adapter: adapter.to_owned(),
            adapter_base: format!("{} ({fp})", saved.base_name.as_deref().unwrap_or("unnamed")),
            base: format!("{} ({})", base.name, base.fingerprint),
        }),
        _ => Ok(()),
    }
}
