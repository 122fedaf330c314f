//! The loaded weights of a [`Llama`] under Hugging Face's names, so that the
//! training forward pass and `merge` reuse the loaders (HF folders, GGUF
//! dequantized) instead of reading files a second time.

use std::collections::HashMap;

use candle_core::Tensor;

use super::Llama;

impl Llama {
    /// Every weight under its Hugging Face name (`model.layers.0.self_attn.q_proj.weight`, …),
    /// as held in memory (f32, `[out, in]`); `lm_head.weight` is present even
    /// when tied. Cloning a tensor shares its storage.
    pub fn named_tensors(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::new();
        out.insert("model.embed_tokens.weight".to_owned(), self.embed.clone());
        out.insert("model.norm.weight".to_owned(), self.norm.clone());
        out.insert("lm_head.weight".to_owned(), self.lm_head.clone());
        for (l, b) in self.blocks.iter().enumerate() {
            let p = format!("model.layers.{l}");
            for (name, t) in [
                ("input_layernorm", &b.input_norm),
                ("post_attention_layernorm", &b.post_norm),
                ("self_attn.q_proj", &b.q),
                ("self_attn.k_proj", &b.k),
                ("self_attn.v_proj", &b.v),
                ("self_attn.o_proj", &b.o),
                ("mlp.gate_proj", &b.gate),
                ("mlp.up_proj", &b.up),
                ("mlp.down_proj", &b.down),
            ] {
                out.insert(format!("{p}.{name}.weight"), t.clone());
            }
        }
        out
    }
}
