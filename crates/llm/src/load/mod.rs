//! Loading a model for generation from a path or a Hugging Face model id:
//! a Hugging Face folder (config.json, tokenizer.json, safetensors), a GGUF
//! file, or a folder holding one GGUF file.

mod gguf;
mod hf;
mod hub;

use std::path::{Path, PathBuf};

use candle_core::Device;

use crate::error::{Error, Result};
use crate::generate::CandleEngine;

pub use gguf::permute_for_gguf;
pub use hub::looks_like_model_id;

/// The format a model was loaded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFormat {
    /// A Hugging Face folder with safetensors weights.
    HuggingFace,
    /// A GGUF file, dequantized to f32.
    Gguf,
}

/// A loaded model and where it came from.
pub struct LoadedModel {
    /// The engine that generates with it.
    pub engine: CandleEngine,
    /// A short name (the folder's or file's stem).
    pub name: String,
    /// The file or folder it was read from.
    pub path: PathBuf,
    /// Its format.
    pub format: ModelFormat,
}

/// Loads `spec`: an existing path, else a Hugging Face model id fetched
/// through the Hub (which fails with a clear message when offline).
pub fn load(spec: &str) -> Result<LoadedModel> {
    load_path(&resolve(spec)?)
}

/// The local path of `spec`, downloading a model id from the Hub.
pub fn resolve(spec: &str) -> Result<PathBuf> {
    let path = Path::new(spec);
    if path.exists() {
        return Ok(path.to_owned());
    }
    if looks_like_model_id(spec) {
        let endpoint = std::env::var("HF_ENDPOINT").ok();
        return hub::download(spec, endpoint, None);
    }
    Err(Error::NotFound { path: path.to_owned() })
}

/// The device models load onto, from `LATHE_DEVICE` ([`parse_device`]).
pub fn device() -> Result<Device> {
    parse_device(std::env::var("LATHE_DEVICE").ok().as_deref())
}

/// `cpu`, `cuda` or `cuda:N`; unset means the first CUDA GPU when lathe is
/// built with the `cuda` feature and one is present, else the CPU. A CUDA
/// device asked of a build without the feature is an error that says so.
/// Fine-tuning always runs on the CPU (its fused ops are CPU kernels).
pub fn parse_device(setting: Option<&str>) -> Result<Device> {
    let invalid = |problem: String| Error::InvalidParameter { param: "LATHE_DEVICE", problem };
    let cuda = |ordinal: usize| {
        Device::new_cuda(ordinal).map_err(|e| {
            invalid(format!("asks for CUDA GPU {ordinal}, which this build cannot use: {e} (build with --features cuda)"))
        })
    };
    match setting.map(str::trim) {
        None | Some("") => Ok(Device::cuda_if_available(0)?),
        Some("cpu") => Ok(Device::Cpu),
        Some("cuda") => cuda(0),
        Some(other) => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => cuda(n),
            _ => Err(invalid(format!("is {other:?}; expected cpu, cuda or cuda:N"))),
        },
    }
}

/// Loads a model from a local folder or GGUF file onto [`device`].
pub fn load_path(path: &Path) -> Result<LoadedModel> {
    let device = device()?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".to_owned());
    if path.is_dir() {
        if path.join("config.json").exists() {
            let engine = hf::load(path, &device)?;
            return Ok(LoadedModel {
                engine,
                name,
                path: path.to_owned(),
                format: ModelFormat::HuggingFace,
            });
        }
        let ggufs = gguf_files(path)?;
        return match ggufs.as_slice() {
            [one] => {
                let engine = gguf::load(one, &device)?;
                Ok(LoadedModel { engine, name, path: one.clone(), format: ModelFormat::Gguf })
            }
            [] => Err(Error::MissingFile {
                dir: path.to_owned(),
                file: "config.json".into(),
                hint: "a Hugging Face model folder needs config.json, tokenizer.json and *.safetensors (or hold one .gguf file)",
            }),
            _ => Err(Error::config(
                path,
                "*.gguf",
                format!("{} GGUF files found; pass the one to load", ggufs.len()),
            )),
        };
    }
    let engine = gguf::load(path, &device)?;
    Ok(LoadedModel { engine, name, path: path.to_owned(), format: ModelFormat::Gguf })
}

fn gguf_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = entry.map_err(|e| Error::io(dir, e))?.path();
        if p.extension().is_some_and(|e| e == "gguf") {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_setting_is_parsed_and_a_cuda_request_without_the_feature_is_refused() {
        assert!(parse_device(Some("cpu")).unwrap().is_cpu());
        let bad = parse_device(Some("tpu")).unwrap_err().to_string();
        assert!(
            bad.contains("LATHE_DEVICE") && bad.contains("expected cpu, cuda or cuda:N"),
            "{bad}"
        );
        let bad = parse_device(Some("cuda:x")).unwrap_err().to_string();
        assert!(bad.contains("expected cpu, cuda or cuda:N"), "{bad}");
        if cfg!(not(feature = "cuda")) {
            // Unset: the CPU, as no CUDA backend is compiled in.
            assert!(parse_device(None).unwrap().is_cpu());
            for asked in ["cuda", "cuda:1"] {
                let err = parse_device(Some(asked)).unwrap_err().to_string();
                assert!(err.contains("--features cuda") && err.contains("LATHE_DEVICE"), "{err}");
            }
        }
    }
}
