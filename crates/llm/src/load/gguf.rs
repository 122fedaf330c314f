//! GGUF files (llama.cpp's format): hyper-parameters, tokenizer and chat
//! template from the metadata, weights dequantized to f32.
//!
//! Small models lose too much to 8-bit activations (SmolLM2-135M run through
//! quantized matmuls no longer knows the capital of France), so every tensor
//! is dequantized to f32 for the forward pass; the Q4_1 and Q8_0 projections
//! are also kept in their blocks, which decoding multiplies with f32
//! activations (`model/packed.rs`): the same weights, read in fewer bytes.
//! The Q and K projections, which llama.cpp's converter permutes for its
//! interleaved RoPE, are permuted back to Hugging Face's layout.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::{Device, Tensor};

use crate::chat::ChatTemplate;
use crate::config::LlamaConfig;
use crate::error::{Error, Result};
use crate::generate::CandleEngine;
use crate::model::packed::Packed;
use crate::model::Llama;
use crate::tokenizer::{byte_level_bpe_json, SpecialToken, TextTokenizer};

pub(super) fn load(path: &Path, device: &Device) -> Result<CandleEngine> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::new(file);
    let content = Content::read(&mut reader).map_err(|e| Error::Config {
        path: path.to_owned(),
        field: "(header)".into(),
        problem: format!("is not a readable GGUF file: {e}"),
    })?;
    let md = Metadata { map: &content.metadata, path };
    let arch = md.string("general.architecture")?;
    if arch != "llama" {
        return Err(Error::UnsupportedArchitecture {
            found: arch.to_owned(),
            path: path.to_owned(),
            supported: crate::config::SUPPORTED_ARCHITECTURES,
        });
    }
    let tokens = md.strings("tokenizer.ggml.tokens")?;
    let config = LlamaConfig {
        vocab_size: md.u32_or("llama.vocab_size", tokens.len() as u32)? as usize,
        hidden_size: md.u32("llama.embedding_length")? as usize,
        intermediate_size: md.u32("llama.feed_forward_length")? as usize,
        num_hidden_layers: md.u32("llama.block_count")? as usize,
        num_attention_heads: md.u32("llama.attention.head_count")? as usize,
        num_key_value_heads: md.u32("llama.attention.head_count_kv")? as usize,
        rms_norm_eps: f64::from(md.f32("llama.attention.layer_norm_rms_epsilon")?),
        rope_theta: f64::from(md.f32_or("llama.rope.freq_base", 10_000.0)?),
        max_position_embeddings: md.u32("llama.context_length")? as usize,
        tie_word_embeddings: !content.tensor_infos.contains_key("output.weight"),
        attention_bias: false,
    };
    config.validate(path)?;
    let (tokenizer, template) = tokenizer_and_template(&md, tokens)?;
    let (tensors, packed) = read_tensors(&content, &mut reader, &config, path, device)?;
    let model = Llama::from_tensors(config, tensors, path, device)?.with_packed(packed)?;
    Ok(CandleEngine::new(model, tokenizer, template))
}

fn tokenizer_and_template(
    md: &Metadata<'_>,
    tokens: Vec<String>,
) -> Result<(TextTokenizer, Option<ChatTemplate>)> {
    let model = md.string("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(Error::config(
            md.path,
            "tokenizer.ggml.model",
            format!("is '{model}'; lathe reads byte-level BPE ('gpt2') GGUF tokenizers"),
        ));
    }
    let merges = md.strings("tokenizer.ggml.merges")?;
    let types = md.array("tokenizer.ggml.token_type")?;
    // 3 = control, 4 = user-defined: matched whole, before pre-tokenization.
    let specials: Vec<SpecialToken> = types
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(t.to_i32(), Ok(3 | 4)))
        .filter_map(|(i, _)| {
            tokens.get(i).map(|c| SpecialToken { id: i as u32, content: c.clone() })
        })
        .collect();
    let token_at = |key: &str| -> Result<Option<String>> {
        match md.map.get(key) {
            None => Ok(None),
            Some(v) => {
                let id = v.to_u32().map_err(|e| Error::config(md.path, key, e.to_string()))?;
                Ok(tokens.get(id as usize).cloned())
            }
        }
    };
    let bos = token_at("tokenizer.ggml.bos_token_id")?;
    let eos = token_at("tokenizer.ggml.eos_token_id")?;
    let json = byte_level_bpe_json(&tokens, &merges, &specials);
    let tokenizer = TextTokenizer::from_json(&json, eos.as_slice())?;
    let template = match md.map.get("tokenizer.chat_template") {
        Some(v) => {
            let source = v
                .to_string()
                .map_err(|e| Error::config(md.path, "tokenizer.chat_template", e.to_string()))?;
            Some(ChatTemplate::new(
                source,
                bos.as_deref().unwrap_or(""),
                eos.as_deref().unwrap_or(""),
            )?)
        }
        None => None,
    };
    Ok((tokenizer, template))
}

/// GGUF tensor names → Hugging Face names.
fn hf_name(gguf: &str) -> Option<String> {
    let fixed = match gguf {
        "token_embd.weight" => Some("model.embed_tokens.weight"),
        "output_norm.weight" => Some("model.norm.weight"),
        "output.weight" => Some("lm_head.weight"),
        _ => None,
    };
    if let Some(f) = fixed {
        return Some(f.to_owned());
    }
    let rest = gguf.strip_prefix("blk.")?;
    let (layer, part) = rest.split_once('.')?;
    let module = match part {
        "attn_norm.weight" => "input_layernorm",
        "ffn_norm.weight" => "post_attention_layernorm",
        "attn_q.weight" => "self_attn.q_proj",
        "attn_k.weight" => "self_attn.k_proj",
        "attn_v.weight" => "self_attn.v_proj",
        "attn_output.weight" => "self_attn.o_proj",
        "ffn_gate.weight" => "mlp.gate_proj",
        "ffn_up.weight" => "mlp.up_proj",
        "ffn_down.weight" => "mlp.down_proj",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{module}.weight"))
}

/// Quantized copies of projections for decoding, by Hugging Face name.
type PackedByName = HashMap<String, Arc<Packed>>;

fn read_tensors(
    content: &Content,
    reader: &mut BufReader<File>,
    config: &LlamaConfig,
    path: &Path,
    device: &Device,
) -> Result<(HashMap<String, Tensor>, PackedByName)> {
    let mut out = HashMap::new();
    let mut packed = HashMap::new();
    let tied = !content.tensor_infos.contains_key("output.weight");
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    for name in names {
        let Some(hf) = hf_name(name) else { continue };
        let weight_err = |e: candle_core::Error| Error::Weight {
            path: path.to_owned(),
            name: name.clone(),
            problem: format!("cannot be read: {e}"),
        };
        let q = content.tensor(reader, name, device).map_err(weight_err)?;
        let mut t = q.dequantize(device).map_err(weight_err)?;
        let heads = if hf.ends_with("q_proj.weight") {
            Some(config.num_attention_heads)
        } else if hf.ends_with("k_proj.weight") {
            Some(config.num_key_value_heads)
        } else {
            None
        };
        if let Some(heads) = heads {
            t = unpermute(&t, heads)?;
        }
        // The embedding doubles as the output projection when tied; norms
        // and the embedding lookup itself stay f32 only.
        let decode_name = match hf.as_str() {
            "model.embed_tokens.weight" if tied => Some("lm_head.weight".to_owned()),
            n if n.ends_with("_proj.weight") || n == "lm_head.weight" => Some(hf.clone()),
            _ => None,
        };
        if let (Some(decode_name), Ok((rows, cols))) = (decode_name, t.dims2()) {
            let data = q.data().map_err(weight_err)?;
            if let Some(mut p) = Packed::from_gguf(q.dtype(), &data, rows, cols) {
                if let Some(heads) = heads {
                    p = p.permute_rows(&unpermuted_rows(rows, heads));
                }
                packed.insert(decode_name, Arc::new(p));
            }
        }
        out.insert(hf, t);
    }
    Ok((out, packed))
}

/// Row `i` of the un-permuted Q/K projection is row `from[i]` of the file's
/// (the row mapping of [`unpermute`]).
fn unpermuted_rows(rows: usize, heads: usize) -> Vec<usize> {
    let half = rows / heads / 2;
    (0..rows)
        .map(|r| {
            let (h, j, i) = (r / (2 * half), r % (2 * half) / half, r % half);
            h * 2 * half + i * 2 + j
        })
        .collect()
}

/// llama.cpp's converter permutation of a Q/K projection, `[out, in]`
/// (rows of each head reordered from halves to interleaved pairs); test
/// fixtures use it to write GGUF files.
pub fn permute_for_gguf(w: &Tensor, heads: usize) -> Result<Tensor> {
    let (out, inp) = w.dims2()?;
    Ok(w.reshape((heads, 2, out / heads / 2, inp))?.transpose(1, 2)?.reshape((out, inp))?)
}

fn unpermute(w: &Tensor, heads: usize) -> Result<Tensor> {
    let (out, inp) = w.dims2()?;
    Ok(w.reshape((heads, out / heads / 2, 2, inp))?.transpose(1, 2)?.reshape((out, inp))?)
}

struct Metadata<'a> {
    map: &'a HashMap<String, Value>,
    path: &'a Path,
}

impl<'a> Metadata<'a> {
    fn get(&self, key: &str) -> Result<&'a Value> {
        self.map
            .get(key)
            .ok_or_else(|| Error::config(self.path, key, "is missing from the GGUF metadata"))
    }

    fn bad(&self, key: &str, e: candle_core::Error) -> Error {
        Error::config(self.path, key, format!("has the wrong type: {e}"))
    }

    fn string(&self, key: &str) -> Result<&'a str> {
        self.get(key)?.to_string().map(String::as_str).map_err(|e| self.bad(key, e))
    }

    fn u32(&self, key: &str) -> Result<u32> {
        self.get(key)?.to_u32().map_err(|e| self.bad(key, e))
    }

    fn u32_or(&self, key: &str, default: u32) -> Result<u32> {
        if self.map.contains_key(key) {
            self.u32(key)
        } else {
            Ok(default)
        }
    }

    fn f32(&self, key: &str) -> Result<f32> {
        self.get(key)?.to_f32().map_err(|e| self.bad(key, e))
    }

    fn f32_or(&self, key: &str, default: f32) -> Result<f32> {
        if self.map.contains_key(key) {
            self.f32(key)
        } else {
            Ok(default)
        }
    }

    fn array(&self, key: &str) -> Result<&'a Vec<Value>> {
        self.get(key)?.to_vec().map_err(|e| self.bad(key, e))
    }

    fn strings(&self, key: &str) -> Result<Vec<String>> {
        self.array(key)?
            .iter()
            .map(|v| v.to_string().cloned().map_err(|e| self.bad(key, e)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpermute_inverts_the_converters_permutation() {
        let w = Tensor::arange(0f32, 48.0, &Device::Cpu).unwrap().reshape((12, 4)).unwrap();
        let p = permute_for_gguf(&w, 3).unwrap();
        assert_ne!(p.to_vec2::<f32>().unwrap(), w.to_vec2::<f32>().unwrap());
        let back = unpermute(&p, 3).unwrap();
        assert_eq!(back.to_vec2::<f32>().unwrap(), w.to_vec2::<f32>().unwrap());
    }

    #[test]
    fn unpermuted_rows_follow_unpermute() {
        let w = Tensor::arange(0f32, 48.0, &Device::Cpu).unwrap().reshape((12, 4)).unwrap();
        let moved = unpermute(&w, 3).unwrap().to_vec2::<f32>().unwrap();
        let rows = w.to_vec2::<f32>().unwrap();
        let by_map: Vec<Vec<f32>> =
            unpermuted_rows(12, 3).into_iter().map(|r| rows[r].clone()).collect();
        assert_eq!(by_map, moved);
    }

    #[test]
    fn maps_tensor_names() {
        assert_eq!(
            hf_name("blk.3.attn_k.weight").unwrap(),
            "model.layers.3.self_attn.k_proj.weight"
        );
        assert_eq!(hf_name("token_embd.weight").unwrap(), "model.embed_tokens.weight");
        assert!(hf_name("rope_freqs.weight").is_none());
    }
}
