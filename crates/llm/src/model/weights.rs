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
        out.insert("lm_head.weight".to_owned(), self.lm_head.w.clone());
        for (l, b) in self.blocks.iter().enumerate() {
            let p = format!("model.layers.{l}");
            out.insert(format!("{p}.input_layernorm.weight"), b.input_norm.clone());
            out.insert(format!("{p}.post_attention_layernorm.weight"), b.post_norm.clone());
            for (name, proj) in b.projections() {
                out.insert(format!("{p}.{name}.weight"), proj.w.clone());
                if let Some(bias) = &proj.bias {
                    out.insert(format!("{p}.{name}.bias"), bias.clone());
                }
            }
        }
        out
    }
}
