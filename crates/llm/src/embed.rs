//! Sentence embeddings from BERT-family encoders (all-MiniLM-L6-v2 and
//! kin), as sentence-transformers computes them: token states of the last
//! layer, mean-pooled over the tokens, L2-normalized.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, D};
use candle_nn::ops::{layer_norm, softmax_last_dim};
use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Deserialize)]
struct BertConfig {
    #[serde(default)]
    architectures: Vec<String>,
    hidden_size: usize,
    num_attention_heads: usize,
    num_hidden_layers: usize,
    max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default)]
    hidden_act: Option<String>,
}

fn default_eps() -> f64 {
    1e-12
}

struct Dense {
    w: Tensor,
    b: Tensor,
}

impl Dense {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&self.w.t()?)?.broadcast_add(&self.b)?)
    }
}

struct Norm {
    w: Tensor,
    b: Tensor,
}

struct Layer {
    q: Dense,
    k: Dense,
    v: Dense,
    out: Dense,
    out_norm: Norm,
    up: Dense,
    down: Dense,
    ffn_norm: Norm,
}

/// A loaded sentence encoder.
pub struct Encoder {
    config: BertConfig,
    tokenizer: tokenizers::Tokenizer,
    words: Tensor,
    positions: Tensor,
    token_type: Tensor,
    embed_norm: Norm,
    layers: Vec<Layer>,
    max_len: usize,
}

impl Encoder {
    /// Loads a sentence-transformers folder: config.json (a BERT model),
    /// tokenizer.json, model.safetensors, and sentence_bert_config.json's
    /// `max_seq_length` if present.
    pub fn load(dir: &Path) -> Result<Self> {
        let need = |file: &str, hint: &'static str| -> Result<std::path::PathBuf> {
            let p = dir.join(file);
            if p.exists() {
                Ok(p)
            } else {
                Err(Error::MissingFile { dir: dir.to_owned(), file: file.to_owned(), hint })
            }
        };
        let config_path = need("config.json", "the encoder's hyper-parameters")?;
        let text = std::fs::read_to_string(&config_path).map_err(|e| Error::io(&config_path, e))?;
        let config: BertConfig = serde_json::from_str(&text).map_err(|e| {
            Error::config(&config_path, "(json)", format!("is not a BERT config: {e}"))
        })?;
        let arch = config.architectures.first().cloned().unwrap_or_else(|| "BertModel".into());
        if !matches!(arch.as_str(), "BertModel" | "BertForMaskedLM" | "BertForPreTraining") {
            return Err(Error::UnsupportedArchitecture {
                found: arch,
                path: config_path,
                supported: "BertModel folders (sentence-transformers encoders)",
            });
        }
        if config.hidden_act.as_deref().is_some_and(|a| a != "gelu") {
            return Err(Error::config(&config_path, "hidden_act", "must be 'gelu'"));
        }
        let tok_path = need("tokenizer.json", "the WordPiece tokenizer")?;
        let bytes = std::fs::read(&tok_path).map_err(|e| Error::io(&tok_path, e))?;
        let mut tokenizer = tokenizers::Tokenizer::from_bytes(&bytes)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", tok_path.display())))?;
        // One text at a time: no padding, so every token counts in the mean.
        tokenizer.with_padding(None);
        let st_config = dir.join("sentence_bert_config.json");
        let max_len = match std::fs::read_to_string(&st_config) {
            Ok(t) => serde_json::from_str::<serde_json::Value>(&t)
                .ok()
                .and_then(|v| v.get("max_seq_length")?.as_u64())
                .map_or(config.max_position_embeddings, |n| n as usize),
            Err(_) => config.max_position_embeddings,
        }
        .min(config.max_position_embeddings);
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(Error::tokenizer)?;
        let weights_path = need("model.safetensors", "the encoder's weights")?;
        let tensors = candle_core::safetensors::load(&weights_path, &Device::Cpu).map_err(|e| {
            Error::Weight {
                path: weights_path.clone(),
                name: "(file)".into(),
                problem: format!("cannot be read as safetensors: {e}"),
            }
        })?;
        Self::from_tensors(config, tokenizer, tensors, &weights_path, max_len)
    }

    fn from_tensors(
        config: BertConfig,
        tokenizer: tokenizers::Tokenizer,
        mut t: HashMap<String, Tensor>,
        path: &Path,
        max_len: usize,
    ) -> Result<Self> {
        // Some checkpoints prefix every name with "bert.".
        let prefix =
            if t.contains_key("bert.embeddings.word_embeddings.weight") { "bert." } else { "" };
        let mut take = |name: &str| -> Result<Tensor> {
            let full = format!("{prefix}{name}");
            t.remove(&full)
                .ok_or_else(|| Error::Weight {
                    path: path.to_owned(),
                    name: full,
                    problem: "is missing".into(),
                })?
                .to_dtype(DType::F32)
                .map_err(Error::from)
        };
        let dense = |take: &mut dyn FnMut(&str) -> Result<Tensor>, p: &str| -> Result<Dense> {
            Ok(Dense { w: take(&format!("{p}.weight"))?, b: take(&format!("{p}.bias"))? })
        };
        let norm = |take: &mut dyn FnMut(&str) -> Result<Tensor>, p: &str| -> Result<Norm> {
            Ok(Norm { w: take(&format!("{p}.weight"))?, b: take(&format!("{p}.bias"))? })
        };
        let words = take("embeddings.word_embeddings.weight")?;
        let positions = take("embeddings.position_embeddings.weight")?;
        let token_type = take("embeddings.token_type_embeddings.weight")?;
        let embed_norm = norm(&mut take, "embeddings.LayerNorm")?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            layers.push(Layer {
                q: dense(&mut take, &format!("{p}.attention.self.query"))?,
                k: dense(&mut take, &format!("{p}.attention.self.key"))?,
                v: dense(&mut take, &format!("{p}.attention.self.value"))?,
                out: dense(&mut take, &format!("{p}.attention.output.dense"))?,
                out_norm: norm(&mut take, &format!("{p}.attention.output.LayerNorm"))?,
                up: dense(&mut take, &format!("{p}.intermediate.dense"))?,
                down: dense(&mut take, &format!("{p}.output.dense"))?,
                ffn_norm: norm(&mut take, &format!("{p}.output.LayerNorm"))?,
            });
        }
        if config.num_attention_heads == 0
            || !config.hidden_size.is_multiple_of(config.num_attention_heads)
        {
            return Err(Error::config(path, "num_attention_heads", "must divide hidden_size"));
        }
        Ok(Encoder { config, tokenizer, words, positions, token_type, embed_norm, layers, max_len })
    }

    /// Width of the embeddings.
    pub fn dim(&self) -> usize {
        self.config.hidden_size
    }

    /// Longest input in tokens; longer texts are truncated, as in sentence-transformers.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Token ids of `text` ([CLS] … [SEP], truncated).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.tokenizer.encode(text, true).map_err(Error::tokenizer)?;
        Ok(enc.get_ids().to_vec())
    }

    /// The normalized embedding of each text, and the tokens each used.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<(Vec<f32>, usize)>> {
        texts
            .iter()
            .map(|t| {
                let ids = self.encode(t)?;
                Ok((self.embed_ids(&ids)?, ids.len()))
            })
            .collect()
    }

    fn embed_ids(&self, ids: &[u32]) -> Result<Vec<f32>> {
        let c = &self.config;
        let eps = c.layer_norm_eps as f32;
        let n = ids.len();
        let (heads, hd) = (c.num_attention_heads, c.hidden_size / c.num_attention_heads);
        let dev = &Device::Cpu;
        let x = self.words.index_select(&Tensor::new(ids, dev)?, 0)?;
        let x = (x + self.positions.narrow(0, 0, n)?)?.broadcast_add(&self.token_type.get(0)?)?;
        let mut x = layer_norm(&x, &self.embed_norm.w, &self.embed_norm.b, eps)?;
        let scale = 1.0 / (hd as f64).sqrt();
        for l in &self.layers {
            let split = |t: Tensor| -> Result<Tensor> {
                Ok(t.reshape((n, heads, hd))?.transpose(0, 1)?.contiguous()?)
            };
            let q = split(l.q.forward(&x)?)?;
            let k = split(l.k.forward(&x)?)?;
            let v = split(l.v.forward(&x)?)?;
            let att = softmax_last_dim(&(q.matmul(&k.t()?)? * scale)?)?;
            let y = att.matmul(&v)?.transpose(0, 1)?.reshape((n, c.hidden_size))?;
            x = layer_norm(&(l.out.forward(&y)? + &x)?, &l.out_norm.w, &l.out_norm.b, eps)?;
            let h = l.up.forward(&x)?.gelu_erf()?;
            x = layer_norm(&(l.down.forward(&h)? + &x)?, &l.ffn_norm.w, &l.ffn_norm.b, eps)?;
        }
        let mean = x.mean(0)?;
        let norm = mean.sqr()?.sum(D::Minus1)?.sqrt()?.maximum(1e-12)?;
        Ok(mean.broadcast_div(&norm)?.to_vec1()?)
    }
}
