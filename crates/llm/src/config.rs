//! The hyper-parameters of a Llama-family decoder, read from a Hugging Face
//! `config.json` or from GGUF metadata.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// Architectures whose Hugging Face checkpoints run through [`crate::model::Llama`].
pub const SUPPORTED_ARCHITECTURES: &str =
    "LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM folders, and GGUF files with general.architecture 'llama'";

/// What the forward pass needs to know about a model.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// Tokens in the vocabulary (rows of the embedding).
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the MLP's inner layer.
    pub intermediate_size: usize,
    /// Decoder blocks.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (fewer than query heads under grouped-query attention).
    pub num_key_value_heads: usize,
    /// RMSNorm's epsilon.
    pub rms_norm_eps: f64,
    /// RoPE's base frequency.
    pub rope_theta: f64,
    /// Longest sequence the model was trained for.
    pub max_position_embeddings: usize,
    /// Whether the output projection reuses the embedding matrix.
    pub tie_word_embeddings: bool,
    /// Whether the query, key and value projections add a bias (Qwen2).
    pub attention_bias: bool,
}

impl LlamaConfig {
    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Checks the relations the forward pass relies on.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.num_key_value_heads),
            ("max_position_embeddings", self.max_position_embeddings),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(Error::config(path, field, "must be positive"));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads)
            || !self.head_dim().is_multiple_of(2)
        {
            return Err(Error::config(
                path,
                "num_attention_heads",
                format!(
                    "({}) must divide hidden_size ({}) into heads of even width",
                    self.num_attention_heads, self.hidden_size
                ),
            ));
        }
        if !self.num_attention_heads.is_multiple_of(self.num_key_value_heads) {
            return Err(Error::config(
                path,
                "num_key_value_heads",
                format!(
                    "({}) must divide num_attention_heads ({})",
                    self.num_key_value_heads, self.num_attention_heads
                ),
            ));
        }
        Ok(())
    }

    /// Reads a Hugging Face `config.json`; refuses architectures other than Llama's.
    pub fn from_hf_json(path: &Path, text: &str) -> Result<Self> {
        let raw: HfConfig = serde_json::from_str(text)
            .map_err(|e| Error::config(path, "(json)", format!("is not valid: {e}")))?;
        let arch =
            raw.architectures.first().cloned().or(raw.model_type.clone()).unwrap_or_default();
        let qwen2 = matches!(arch.as_str(), "Qwen2ForCausalLM" | "qwen2");
        let llama = matches!(
            arch.as_str(),
            "LlamaForCausalLM" | "MistralForCausalLM" | "llama" | "mistral"
        );
        if !(llama || qwen2) {
            return Err(Error::UnsupportedArchitecture {
                found: if arch.is_empty() { "(none declared)".into() } else { arch },
                path: path.to_owned(),
                supported: SUPPORTED_ARCHITECTURES,
            });
        }
        let need = |v: Option<usize>, field: &str| {
            v.ok_or_else(|| Error::config(path, field, "is missing"))
        };
        if raw.use_sliding_window == Some(true) {
            return Err(Error::config(
                path,
                "use_sliding_window",
                "is true; sliding-window attention is not supported",
            ));
        }
        let heads = need(raw.num_attention_heads, "num_attention_heads")?;
        let config = LlamaConfig {
            vocab_size: need(raw.vocab_size, "vocab_size")?,
            hidden_size: need(raw.hidden_size, "hidden_size")?,
            intermediate_size: need(raw.intermediate_size, "intermediate_size")?,
            num_hidden_layers: need(raw.num_hidden_layers, "num_hidden_layers")?,
            num_attention_heads: heads,
            num_key_value_heads: raw.num_key_value_heads.unwrap_or(heads),
            rms_norm_eps: raw.rms_norm_eps.unwrap_or(1e-6),
            rope_theta: raw.rope_theta.unwrap_or(10_000.0),
            max_position_embeddings: raw.max_position_embeddings.unwrap_or(2048),
            tie_word_embeddings: raw.tie_word_embeddings.unwrap_or(false),
            attention_bias: raw.attention_bias.unwrap_or(qwen2),
        };
        config.validate(path)?;
        Ok(config)
    }
}

#[derive(Deserialize)]
struct HfConfig {
    #[serde(default)]
    architectures: Vec<String>,
    model_type: Option<String>,
    vocab_size: Option<usize>,
    hidden_size: Option<usize>,
    intermediate_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    num_key_value_heads: Option<usize>,
    rms_norm_eps: Option<f64>,
    rope_theta: Option<f64>,
    max_position_embeddings: Option<usize>,
    tie_word_embeddings: Option<bool>,
    attention_bias: Option<bool>,
    use_sliding_window: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_llama_config_and_defaults_kv_heads() {
        let text = r#"{"architectures":["LlamaForCausalLM"],"vocab_size":10,"hidden_size":8,
            "intermediate_size":16,"num_hidden_layers":2,"num_attention_heads":2}"#;
        let c = LlamaConfig::from_hf_json(Path::new("config.json"), text).unwrap();
        assert_eq!(c.num_key_value_heads, 2);
        assert_eq!(c.head_dim(), 4);
    }

    #[test]
    fn names_an_unsupported_architecture() {
        let text = r#"{"architectures":["GPT2LMHeadModel"]}"#;
        let e = LlamaConfig::from_hf_json(Path::new("m/config.json"), text).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("GPT2LMHeadModel") && msg.contains("m/config.json"), "{msg}");
    }

    #[test]
    fn refuses_heads_that_do_not_divide() {
        let text = r#"{"architectures":["LlamaForCausalLM"],"vocab_size":10,"hidden_size":8,
            "intermediate_size":16,"num_hidden_layers":2,"num_attention_heads":2,"num_key_value_heads":3}"#;
        let e = LlamaConfig::from_hf_json(Path::new("config.json"), text).unwrap_err();
        assert!(e.to_string().contains("num_key_value_heads"), "{e}");
    }
}
