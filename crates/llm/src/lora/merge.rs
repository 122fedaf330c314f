//! Folding an adapter into its base: `W' = W + (alpha / r) · B A` for every
//! adapted projection, written as a Hugging Face folder that loads like any
//! other model (and serves without the adapter machinery).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Tensor};

use super::{Adapters, Target};
use crate::error::{Error, Result};
use crate::model::Llama;

/// The base's weights with the adapters folded in, under Hugging Face names, f32.
pub fn merged_tensors(model: &Llama, adapters: &Adapters) -> Result<HashMap<String, Tensor>> {
    let mut w = model.named_tensors();
    let scale = adapters.config().scale();
    for l in 0..model.config().num_hidden_layers {
        for t in Target::ALL {
            let Some(pair) = adapters.get(l, t) else { continue };
            let name = format!("model.layers.{l}.{}.weight", t.path());
            let base = w.get(&name).ok_or_else(|| Error::Weight {
                path: "(loaded model)".into(),
                name: name.clone(),
                problem: "is missing".into(),
            })?;
            // The product in f64 keeps the merge's rounding below the base's.
            let delta = pair
                .b
                .as_tensor()
                .to_dtype(DType::F64)?
                .matmul(&pair.a.as_tensor().to_dtype(DType::F64)?)?
                .to_device(base.device())?;
            let merged = (base.to_dtype(DType::F64)? + (delta * scale)?)?.to_dtype(DType::F32)?;
            w.insert(name, merged);
        }
    }
    Ok(w)
}

/// The base with the adapters folded in, ready to generate: only the adapted
/// projections are new tensors, every other weight (and its quantized copy
/// for decoding) is shared with `model`. The adapted projections decode from
/// f32: their merged values are no longer on the file's quantization grid.
pub fn merged_model(model: &Llama, adapters: &Adapters) -> Result<Llama> {
    let tensors = merged_tensors(model, adapters)?;
    let mut packed = model.packed();
    for l in 0..model.config().num_hidden_layers {
        for t in Target::ALL {
            if adapters.get(l, t).is_some() {
                packed.remove(&format!("model.layers.{l}.{}.weight", t.path()));
            }
        }
    }
    Llama::from_tensors(
        model.config().clone(),
        tensors,
        Path::new("(base with adapter)"),
        model.device(),
    )?
    .with_packed(packed)
}

/// Files of a Hugging Face folder that a merged model keeps from its base.
const COPIED: [&str; 5] = [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "generation_config.json",
    "special_tokens_map.json",
];

/// Writes the merged model into `out`: the base folder's configuration and
/// tokenizer files, and the merged weights as `model.safetensors`.
pub fn write_merged(base_dir: &Path, out: &Path, model: &Llama, adapters: &Adapters) -> Result<()> {
    if !base_dir.is_dir() || !base_dir.join("config.json").exists() {
        return Err(Error::MissingFile {
            dir: base_dir.to_owned(),
            file: "config.json".into(),
            hint: "merge writes a Hugging Face folder and takes its configuration and tokenizer from a Hugging Face base folder (not a GGUF file)",
        });
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    for f in COPIED {
        let src = base_dir.join(f);
        if src.exists() {
            std::fs::copy(&src, out.join(f)).map_err(|e| Error::io(&src, e))?;
        }
    }
    let tensors = merged_tensors(model, adapters)?;
    candle_core::safetensors::save(&tensors, out.join("model.safetensors"))?;
    Ok(())
}
