//! Tiny Llama models with random weights, written to disk in both formats
//! (a Hugging Face folder, a GGUF file): the fixtures of this crate's tests
//! and of the HTTP tests in other crates. Two layers, grouped-query
//! attention, a 261-token byte-level BPE vocabulary with ChatML specials.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file::Value;
/// Storage types of GGUF tensors, for [`write_gguf`].
pub use candle_core::quantized::GgmlDType;
use candle_core::quantized::QTensor;
use candle_core::{Device, Tensor};
use lathe_core::SplitMix64;
use serde_json::json;

use crate::config::LlamaConfig;
use crate::error::{Error, Result};
use crate::load::permute_for_gguf;
use crate::tokenizer::{byte_level_alphabet, byte_level_bpe_json, SpecialToken};

/// SmolLM2's ChatML template, which the tiny models ship.
pub const CHAT_TEMPLATE: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

const MERGES: [&str; 3] = ["Ġ t", "h e", "Ġt he"];

/// The tiny model's hyper-parameters.
pub fn config() -> LlamaConfig {
    LlamaConfig {
        vocab_size: tokens().len(),
        hidden_size: 32,
        intermediate_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        rms_norm_eps: 1e-5,
        rope_theta: 10_000.0,
        max_position_embeddings: 256,
        tie_word_embeddings: false,
        attention_bias: false,
    }
}

/// The vocabulary: `<|im_start|>` (0), `<|im_end|>` (1, end of sequence),
/// the 256 byte-level characters, then the merged tokens.
pub fn tokens() -> Vec<String> {
    let mut t = vec!["<|im_start|>".to_owned(), "<|im_end|>".to_owned()];
    t.extend(byte_level_alphabet().iter().map(char::to_string));
    t.extend(MERGES.iter().map(|m| m.replace(' ', "")));
    t
}

fn specials() -> Vec<SpecialToken> {
    vec![
        SpecialToken { id: 0, content: "<|im_start|>".into() },
        SpecialToken { id: 1, content: "<|im_end|>".into() },
    ]
}

/// Random weights under Hugging Face names, from `seed`.
pub fn weights(seed: u64) -> Result<HashMap<String, Tensor>> {
    let c = config();
    let mut rng = SplitMix64::new(seed);
    let mut random = |shape: (usize, usize), scale: f32| -> Result<Tensor> {
        let n = shape.0 * shape.1;
        let data: Vec<f32> = (0..n)
            .map(|_| ((rng.next_u64() >> 11) as f32 / (1u64 << 53) as f32 * 2.0 - 1.0) * scale)
            .collect();
        Ok(Tensor::from_vec(data, shape, &Device::Cpu)?)
    };
    let (h, i, hd) = (c.hidden_size, c.intermediate_size, c.head_dim());
    let mut w = HashMap::new();
    w.insert("model.embed_tokens.weight".to_owned(), random((c.vocab_size, h), 1.0)?);
    w.insert("lm_head.weight".to_owned(), random((c.vocab_size, h), 0.3)?);
    let norm = |rng: &mut dyn FnMut((usize, usize), f32) -> Result<Tensor>| -> Result<Tensor> {
        Ok((rng((1, h), 0.2)? + 1.0)?.squeeze(0)?)
    };
    w.insert("model.norm.weight".to_owned(), norm(&mut random)?);
    for l in 0..c.num_hidden_layers {
        let p = format!("model.layers.{l}");
        let kv = c.num_key_value_heads * hd;
        w.insert(format!("{p}.input_layernorm.weight"), norm(&mut random)?);
        w.insert(format!("{p}.post_attention_layernorm.weight"), norm(&mut random)?);
        w.insert(format!("{p}.self_attn.q_proj.weight"), random((h, h), 0.3)?);
        w.insert(format!("{p}.self_attn.k_proj.weight"), random((kv, h), 0.3)?);
        w.insert(format!("{p}.self_attn.v_proj.weight"), random((kv, h), 0.3)?);
        w.insert(format!("{p}.self_attn.o_proj.weight"), random((h, h), 0.3)?);
        w.insert(format!("{p}.mlp.gate_proj.weight"), random((i, h), 0.3)?);
        w.insert(format!("{p}.mlp.up_proj.weight"), random((i, h), 0.3)?);
        w.insert(format!("{p}.mlp.down_proj.weight"), random((h, i), 0.2)?);
    }
    Ok(w)
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::config(path, "(json)", e.to_string()))?;
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// Writes a Hugging Face folder: config.json, tokenizer.json,
/// tokenizer_config.json, and the weights in `shards` safetensors files
/// (with an index when more than one).
pub fn write_hf_folder(dir: &Path, seed: u64, shards: usize) -> Result<()> {
    write_folder(dir, ("LlamaForCausalLM", "llama"), weights(seed)?, shards)
}

/// The tiny model as a Qwen2 checkpoint: the same weights plus biases on the
/// query, key and value projections, under `Qwen2ForCausalLM`.
pub fn write_qwen2_hf_folder(dir: &Path, seed: u64) -> Result<()> {
    let c = config();
    let mut w = weights(seed)?;
    let mut rng = SplitMix64::new(seed ^ 0xB1A5);
    let kv = c.num_key_value_heads * c.head_dim();
    for l in 0..c.num_hidden_layers {
        for (module, n) in [("q_proj", c.hidden_size), ("k_proj", kv), ("v_proj", kv)] {
            let data: Vec<f32> = (0..n)
                .map(|_| ((rng.next_u64() >> 11) as f32 / (1u64 << 53) as f32 * 2.0 - 1.0) * 0.5)
                .collect();
            let name = format!("model.layers.{l}.self_attn.{module}.bias");
            w.insert(name, Tensor::from_vec(data, n, &Device::Cpu)?);
        }
    }
    write_folder(dir, ("Qwen2ForCausalLM", "qwen2"), w, 1)
}

fn write_folder(
    dir: &Path,
    (architecture, model_type): (&str, &str),
    w: HashMap<String, Tensor>,
    shards: usize,
) -> Result<()> {
    let c = config();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    write_json(
        &dir.join("config.json"),
        &json!({
            "architectures": [architecture], "model_type": model_type,
            "vocab_size": c.vocab_size, "hidden_size": c.hidden_size,
            "intermediate_size": c.intermediate_size, "num_hidden_layers": c.num_hidden_layers,
            "num_attention_heads": c.num_attention_heads, "num_key_value_heads": c.num_key_value_heads,
            "rms_norm_eps": c.rms_norm_eps, "rope_theta": c.rope_theta,
            "max_position_embeddings": c.max_position_embeddings, "tie_word_embeddings": false,
            "hidden_act": "silu", "torch_dtype": "float32"
        }),
    )?;
    let merges: Vec<String> = MERGES.iter().map(|m| (*m).to_owned()).collect();
    write_json(&dir.join("tokenizer.json"), &byte_level_bpe_json(&tokens(), &merges, &specials()))?;
    write_json(
        &dir.join("tokenizer_config.json"),
        &json!({"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "chat_template": CHAT_TEMPLATE}),
    )?;
    let mut names: Vec<&String> = w.keys().collect();
    names.sort();
    let shards = shards.max(1);
    let per = names.len().div_ceil(shards);
    let mut weight_map = serde_json::Map::new();
    for (k, chunk) in names.chunks(per).enumerate() {
        let file = if shards == 1 {
            "model.safetensors".to_owned()
        } else {
            format!("model-{:05}-of-{shards:05}.safetensors", k + 1)
        };
        let part: HashMap<&str, Tensor> =
            chunk.iter().map(|n| (n.as_str(), w[*n].clone())).collect();
        candle_core::safetensors::save(&part, dir.join(&file))?;
        for n in chunk {
            weight_map.insert((*n).clone(), json!(file));
        }
    }
    if shards > 1 {
        write_json(
            &dir.join("model.safetensors.index.json"),
            &json!({"metadata": {}, "weight_map": weight_map}),
        )?;
    }
    Ok(())
}

/// Writes the same model as a GGUF file (llama.cpp's names, Q/K permuted,
/// tokenizer and chat template in the metadata), tensors stored as `dtype`.
pub fn write_gguf(path: &Path, seed: u64, dtype: GgmlDType) -> Result<()> {
    let c = config();
    let w = weights(seed)?;
    let get = |name: &str| -> Result<&Tensor> {
        w.get(name).ok_or_else(|| Error::Weight {
            path: path.to_owned(),
            name: name.to_owned(),
            problem: "is missing".into(),
        })
    };
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut put = |name: String, t: &Tensor, dtype: GgmlDType| -> Result<()> {
        tensors.push((name, QTensor::quantize(t, dtype)?));
        Ok(())
    };
    put("token_embd.weight".into(), get("model.embed_tokens.weight")?, dtype)?;
    put("output.weight".into(), get("lm_head.weight")?, dtype)?;
    // Norms stay f32, as llama.cpp's converter keeps them.
    put("output_norm.weight".into(), get("model.norm.weight")?, GgmlDType::F32)?;
    for l in 0..c.num_hidden_layers {
        let p = format!("model.layers.{l}");
        let q = get(&format!("{p}.self_attn.q_proj.weight"))?;
        let k = get(&format!("{p}.self_attn.k_proj.weight"))?;
        put(format!("blk.{l}.attn_q.weight"), &permute_for_gguf(q, c.num_attention_heads)?, dtype)?;
        put(format!("blk.{l}.attn_k.weight"), &permute_for_gguf(k, c.num_key_value_heads)?, dtype)?;
        for (g, h) in [
            ("attn_v", "self_attn.v_proj"),
            ("attn_output", "self_attn.o_proj"),
            ("ffn_gate", "mlp.gate_proj"),
            ("ffn_up", "mlp.up_proj"),
            ("ffn_down", "mlp.down_proj"),
        ] {
            put(format!("blk.{l}.{g}.weight"), get(&format!("{p}.{h}.weight"))?, dtype)?;
        }
        for (g, h) in [("attn_norm", "input_layernorm"), ("ffn_norm", "post_attention_layernorm")] {
            put(format!("blk.{l}.{g}.weight"), get(&format!("{p}.{h}.weight"))?, GgmlDType::F32)?;
        }
    }
    let toks = tokens();
    let token_types: Vec<Value> =
        (0..toks.len()).map(|i| Value::I32(if i < 2 { 3 } else { 1 })).collect();
    let metadata: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String("llama".into())),
        ("general.name", Value::String("tiny".into())),
        ("llama.vocab_size", Value::U32(c.vocab_size as u32)),
        ("llama.context_length", Value::U32(c.max_position_embeddings as u32)),
        ("llama.embedding_length", Value::U32(c.hidden_size as u32)),
        ("llama.feed_forward_length", Value::U32(c.intermediate_size as u32)),
        ("llama.block_count", Value::U32(c.num_hidden_layers as u32)),
        ("llama.attention.head_count", Value::U32(c.num_attention_heads as u32)),
        ("llama.attention.head_count_kv", Value::U32(c.num_key_value_heads as u32)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(c.rms_norm_eps as f32)),
        ("llama.rope.freq_base", Value::F32(c.rope_theta as f32)),
        ("llama.rope.dimension_count", Value::U32(c.head_dim() as u32)),
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("smollm".into())),
        (
            "tokenizer.ggml.tokens",
            Value::Array(toks.iter().map(|t| Value::String(t.clone())).collect()),
        ),
        ("tokenizer.ggml.token_type", Value::Array(token_types)),
        (
            "tokenizer.ggml.merges",
            Value::Array(MERGES.iter().map(|m| Value::String((*m).into())).collect()),
        ),
        ("tokenizer.ggml.bos_token_id", Value::U32(0)),
        ("tokenizer.ggml.eos_token_id", Value::U32(1)),
        ("tokenizer.chat_template", Value::String(CHAT_TEMPLATE.into())),
    ];
    let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    candle_core::quantized::gguf_file::write(&mut file, &md, &ts)?;
    Ok(())
}
