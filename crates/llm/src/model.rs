//! The Llama-family decoder's forward pass, in f32 on candle, with a KV cache.
//!
//! One implementation serves both file formats: the loaders hand it tensors
//! under Hugging Face's names and layout (GGUF's Q/K rows are un-permuted on
//! load), so RoPE is always the non-interleaved "rotate half" variant.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor, D};
use candle_nn::ops::{rms_norm, silu, softmax_last_dim};
use candle_nn::rotary_emb::rope;

use crate::config::LlamaConfig;
use crate::error::{Error, Result};

mod kernels;
mod matvec;
pub(crate) mod packed;
mod weights;

use matvec::project;
use packed::Packed;

/// Rows up to which a product reads the packed weights (decoding, small
/// batches); longer inputs (prompts) multiply the f32 copy with gemm.
const PACKED_MAX_ROWS: usize = 8;

/// A projection's weight, `[out, in]`: always in f32, and also in the
/// file's quantized blocks when it came from a GGUF file that had them.
struct Proj {
    w: Tensor,
    packed: Option<Arc<Packed>>,
    /// `[out]`, added to every row (Qwen2's query, key and value).
    bias: Option<Tensor>,
}

impl Proj {
    fn new(w: Tensor) -> Proj {
        Proj { w, packed: None, bias: None }
    }

    fn with_bias(w: Tensor, bias: Option<Tensor>) -> Proj {
        Proj { w, packed: None, bias }
    }

    /// `x · Wᵀ (+ b)` for `x` of shape `[rows, in]`.
    fn project(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.product(x)?;
        Ok(match &self.bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        })
    }

    fn product(&self, x: &Tensor) -> Result<Tensor> {
        if let Some(p) = &self.packed {
            if let Ok((rows, cols)) = x.dims2() {
                let cpu = matches!(x.device(), Device::Cpu) && x.dtype() == DType::F32;
                if cpu && rows <= PACKED_MAX_ROWS && cols == p.dims().1 {
                    let xs = x.flatten_all()?.to_vec1::<f32>()?;
                    return Ok(Tensor::from_vec(p.project(&xs), (rows, p.dims().0), x.device())?);
                }
            }
        }
        project(x, &self.w)
    }
}

struct Block {
    input_norm: Tensor,
    q: Proj,
    k: Proj,
    v: Proj,
    o: Proj,
    post_norm: Tensor,
    gate: Proj,
    up: Proj,
    down: Proj,
}

impl Block {
    /// The projections under their Hugging Face module names.
    fn projections(&self) -> [(&'static str, &Proj); 7] {
        [
            ("self_attn.q_proj", &self.q),
            ("self_attn.k_proj", &self.k),
            ("self_attn.v_proj", &self.v),
            ("self_attn.o_proj", &self.o),
            ("mlp.gate_proj", &self.gate),
            ("mlp.up_proj", &self.up),
            ("mlp.down_proj", &self.down),
        ]
    }

    fn projection_mut(&mut self, module: &str) -> Option<&mut Proj> {
        Some(match module {
            "self_attn.q_proj" => &mut self.q,
            "self_attn.k_proj" => &mut self.k,
            "self_attn.v_proj" => &mut self.v,
            "self_attn.o_proj" => &mut self.o,
            "mlp.gate_proj" => &mut self.gate,
            "mlp.up_proj" => &mut self.up,
            "mlp.down_proj" => &mut self.down,
            _ => return None,
        })
    }
}

/// A loaded decoder: immutable weights, shareable across threads; each
/// generation brings its own [`KvCache`].
pub struct Llama {
    config: LlamaConfig,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    lm_head: Proj,
    cos: Tensor,
    sin: Tensor,
    device: Device,
}

/// Keys and values of the positions already seen, one pair per layer.
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl KvCache {
    /// Positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no position is held yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

struct Weights<'a> {
    tensors: HashMap<String, Tensor>,
    path: &'a Path,
}

impl Weights<'_> {
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = self.tensors.remove(name).ok_or_else(|| Error::Weight {
            path: self.path.to_owned(),
            name: name.to_owned(),
            problem: "is missing".into(),
        })?;
        if t.dims() != shape {
            return Err(Error::Weight {
                path: self.path.to_owned(),
                name: name.to_owned(),
                problem: format!("has shape {:?}, expected {shape:?}", t.dims()),
            });
        }
        Ok(t.to_dtype(DType::F32)?)
    }
}

impl Llama {
    /// Builds the model from tensors named as in a Hugging Face checkpoint
    /// (`model.layers.0.self_attn.q_proj.weight`, …); `path` names the
    /// source in errors. Shapes are checked against `config`.
    pub fn from_tensors(
        config: LlamaConfig,
        tensors: HashMap<String, Tensor>,
        path: &Path,
        device: &Device,
    ) -> Result<Self> {
        config.validate(path)?;
        let (h, i, hd) = (config.hidden_size, config.intermediate_size, config.head_dim());
        let (nh, nkv) = (config.num_attention_heads, config.num_key_value_heads);
        let mut w = Weights { tensors, path };
        let with_bias = config.attention_bias;
        let bias = |w: &mut Weights<'_>, name: &str, n: usize| -> Result<Option<Tensor>> {
            if with_bias {
                Ok(Some(w.take(name, &[n])?))
            } else {
                Ok(None)
            }
        };
        let embed = w.take("model.embed_tokens.weight", &[config.vocab_size, h])?;
        let mut blocks = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = format!("model.layers.{l}");
            blocks.push(Block {
                input_norm: w.take(&format!("{p}.input_layernorm.weight"), &[h])?,
                q: Proj::with_bias(
                    w.take(&format!("{p}.self_attn.q_proj.weight"), &[nh * hd, h])?,
                    bias(&mut w, &format!("{p}.self_attn.q_proj.bias"), nh * hd)?,
                ),
                k: Proj::with_bias(
                    w.take(&format!("{p}.self_attn.k_proj.weight"), &[nkv * hd, h])?,
                    bias(&mut w, &format!("{p}.self_attn.k_proj.bias"), nkv * hd)?,
                ),
                v: Proj::with_bias(
                    w.take(&format!("{p}.self_attn.v_proj.weight"), &[nkv * hd, h])?,
                    bias(&mut w, &format!("{p}.self_attn.v_proj.bias"), nkv * hd)?,
                ),
                o: Proj::new(w.take(&format!("{p}.self_attn.o_proj.weight"), &[h, nh * hd])?),
                post_norm: w.take(&format!("{p}.post_attention_layernorm.weight"), &[h])?,
                gate: Proj::new(w.take(&format!("{p}.mlp.gate_proj.weight"), &[i, h])?),
                up: Proj::new(w.take(&format!("{p}.mlp.up_proj.weight"), &[i, h])?),
                down: Proj::new(w.take(&format!("{p}.mlp.down_proj.weight"), &[h, i])?),
            });
        }
        let norm = w.take("model.norm.weight", &[h])?;
        let lm_head =
            Proj::new(if w.tensors.contains_key("lm_head.weight") && !config.tie_word_embeddings {
                w.take("lm_head.weight", &[config.vocab_size, h])?
            } else {
                embed.clone()
            });
        let (cos, sin) = rope_tables(&config, device)?;
        Ok(Llama { config, embed, blocks, norm, lm_head, cos, sin, device: device.clone() })
    }

    /// Attaches quantized copies of projections, by Hugging Face name
    /// (`model.layers.0.mlp.up_proj.weight`, `lm_head.weight`), for
    /// decoding; a name that is no projection is ignored, a shape that
    /// differs from the f32 weight's is an error.
    pub(crate) fn with_packed(mut self, packed: HashMap<String, Arc<Packed>>) -> Result<Self> {
        for (name, p) in packed {
            let target = if name == "lm_head.weight" {
                Some(&mut self.lm_head)
            } else {
                name.strip_prefix("model.layers.").and_then(|rest| rest.split_once('.')).and_then(
                    |(l, module)| {
                        let block = self.blocks.get_mut(l.parse::<usize>().ok()?)?;
                        block.projection_mut(module.strip_suffix(".weight")?)
                    },
                )
            };
            let Some(proj) = target else { continue };
            if proj.w.dims2()? != p.dims() {
                return Err(Error::Weight {
                    path: "(quantized copy)".into(),
                    name,
                    problem: format!("has shape {:?}, expected {:?}", p.dims(), proj.w.dims()),
                });
            }
            proj.packed = Some(p);
        }
        Ok(self)
    }

    /// The quantized copies held, by Hugging Face name (see
    /// [`Llama::with_packed`]).
    pub(crate) fn packed(&self) -> HashMap<String, Arc<Packed>> {
        let mut out = HashMap::new();
        if let Some(p) = &self.lm_head.packed {
            out.insert("lm_head.weight".to_owned(), p.clone());
        }
        for (l, b) in self.blocks.iter().enumerate() {
            for (module, proj) in b.projections() {
                if let Some(p) = &proj.packed {
                    out.insert(format!("model.layers.{l}.{module}.weight"), p.clone());
                }
            }
        }
        out
    }

    /// How many projections decode from quantized blocks (0 unless loaded
    /// from a GGUF file with Q4_1 or Q8_0 weights).
    pub fn packed_projections(&self) -> usize {
        self.packed().len()
    }

    /// The model's hyper-parameters.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// Where the weights live.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// An empty cache for one sequence.
    pub fn new_cache(&self) -> KvCache {
        KvCache { layers: vec![None; self.blocks.len()], len: 0 }
    }

    /// Runs `ids` after the cached positions and returns the logits of the
    /// last position, `[vocab]`.
    pub fn forward_last(&self, ids: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        on_pool(|| {
            let hidden = self.forward_hidden(ids, cache)?;
            let last = hidden.narrow(0, ids.len() - 1, 1)?;
            Ok(self.lm_head.project(&last)?.squeeze(0)?)
        })
    }

    /// Runs `ids` after the cached positions and returns the logits of every
    /// position, `[ids.len(), vocab]` (for scoring and tests).
    pub fn forward_all(&self, ids: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let hidden = self.forward_hidden(ids, cache)?;
        Ok(hidden.matmul(&self.lm_head.w.t()?)?)
    }

    /// One decoding step of several sequences at once: `ids[i]` follows the
    /// positions in `caches[i]` (which may differ in length). Returns the
    /// next-token logits, `[ids.len(), vocab]`, equal to what
    /// [`Llama::forward_last`] gives each sequence alone.
    ///
    /// The projections and the MLP, which read every weight, run as one
    /// matrix product over the batch, so the weights are read once per step
    /// instead of once per sequence; attention, which reads each sequence's
    /// own cache, runs per sequence.
    pub fn forward_decode_batch(&self, ids: &[u32], caches: &mut [&mut KvCache]) -> Result<Tensor> {
        on_pool(|| self.decode_batch(ids, caches))
    }

    fn decode_batch(&self, ids: &[u32], caches: &mut [&mut KvCache]) -> Result<Tensor> {
        let c = &self.config;
        let b = ids.len();
        if b == 0 || caches.len() != b {
            return Err(Error::InvalidParameter {
                param: "batch",
                problem: format!("{b} tokens for {} caches", caches.len()),
            });
        }
        if let Some(full) = caches.iter().find(|k| k.len + 1 > c.max_position_embeddings) {
            return Err(Error::ContextOverflow {
                tokens: full.len + 1,
                max_tokens: 0,
                context: c.max_position_embeddings,
            });
        }
        let eps = c.rms_norm_eps as f32;
        let (nh, nkv, hd) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim());
        let scale = 1.0 / (hd as f64).sqrt();
        let rep = nh / nkv;
        let rope_at: Vec<(Tensor, Tensor)> = caches
            .iter()
            .map(|k| Ok((self.cos.narrow(0, k.len, 1)?, self.sin.narrow(0, k.len, 1)?)))
            .collect::<Result<_>>()?;
        let mut x = self.embed.index_select(&Tensor::new(ids, &self.device)?, 0)?;
        for (l, blk) in self.blocks.iter().enumerate() {
            let h = rms_norm(&x, &blk.input_norm, eps)?;
            let (q, k, v) = (blk.q.project(&h)?, blk.k.project(&h)?, blk.v.project(&h)?);
            let mut ys = Vec::with_capacity(b);
            for (i, cache) in caches.iter_mut().enumerate() {
                let heads = |t: &Tensor, n: usize| -> Result<Tensor> {
                    Ok(t.narrow(0, i, 1)?.reshape((1, 1, n, hd))?.transpose(1, 2)?.contiguous()?)
                };
                let (cos, sin) = &rope_at[i];
                let qi = rope(&heads(&q, nh)?, cos, sin)?;
                let ki = rope(&heads(&k, nkv)?, cos, sin)?;
                let vi = heads(&v, nkv)?;
                let slot = &mut cache.layers[l];
                let (ki, vi) = match slot.take() {
                    Some((pk, pv)) => (Tensor::cat(&[&pk, &ki], 2)?, Tensor::cat(&[&pv, &vi], 2)?),
                    None => (ki, vi),
                };
                *slot = Some((ki.clone(), vi.clone()));
                let qi = qi.reshape((1, nkv, rep, hd))?;
                let att = (qi.matmul(&ki.t()?)? * scale)?;
                let y = softmax_last_dim(&att)?.matmul(&vi)?.reshape((1, nh * hd))?;
                ys.push(y);
            }
            let y = Tensor::cat(&ys, 0)?;
            x = (x + blk.o.project(&y)?)?;
            let h = rms_norm(&x, &blk.post_norm, eps)?;
            let m = (silu(&blk.gate.project(&h)?)? * blk.up.project(&h)?)?;
            x = (x + blk.down.project(&m)?)?;
        }
        for cache in caches.iter_mut() {
            cache.len += 1;
        }
        self.lm_head.project(&rms_norm(&x, &self.norm, eps)?)
    }

    fn forward_hidden(&self, ids: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let c = &self.config;
        let (t, pos) = (ids.len(), cache.len);
        if t == 0 {
            return Err(Error::InvalidParameter { param: "prompt", problem: "is empty".into() });
        }
        if pos + t > c.max_position_embeddings {
            return Err(Error::ContextOverflow {
                tokens: pos + t,
                max_tokens: 0,
                context: c.max_position_embeddings,
            });
        }
        let eps = c.rms_norm_eps as f32;
        let (nh, nkv, hd) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim());
        let scale = 1.0 / (hd as f64).sqrt();
        let cos = self.cos.narrow(0, pos, t)?;
        let sin = self.sin.narrow(0, pos, t)?;
        let rep = nh / nkv;
        let mask = if t > 1 { Some(causal_mask(t, pos, rep, &self.device)?) } else { None };
        let mut x = self.embed.index_select(&Tensor::new(ids, &self.device)?, 0)?;
        for (b, kv) in self.blocks.iter().zip(cache.layers.iter_mut()) {
            let h = rms_norm(&x, &b.input_norm, eps)?;
            let heads = |w: &Proj, n: usize| -> Result<Tensor> {
                Ok(w.project(&h)?.reshape((1, t, n, hd))?.transpose(1, 2)?.contiguous()?)
            };
            let q = rope(&heads(&b.q, nh)?, &cos, &sin)?;
            let k = rope(&heads(&b.k, nkv)?, &cos, &sin)?;
            let v = heads(&b.v, nkv)?;
            let (k, v) = match kv.take() {
                Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
                None => (k, v),
            };
            *kv = Some((k.clone(), v.clone()));
            // Grouped-query attention without copying the cache: the `rep`
            // query heads of a key/value head become `rep * t` rows against it.
            let q = q.reshape((1, nkv, rep * t, hd))?;
            let att = (q.matmul(&k.t()?)? * scale)?;
            let att = match &mask {
                Some(m) => att.broadcast_add(m)?,
                None => att,
            };
            let y = softmax_last_dim(&att)?.matmul(&v)?.reshape((1, nh, t, hd))?;
            let y = y.transpose(1, 2)?.reshape((t, nh * hd))?;
            x = (x + b.o.project(&y)?)?;
            let h = rms_norm(&x, &b.post_norm, eps)?;
            let m = (silu(&b.gate.project(&h)?)? * b.up.project(&h)?)?;
            x = (x + b.down.project(&m)?)?;
        }
        cache.len += t;
        Ok(rms_norm(&x, &self.norm, eps)?)
    }
}

/// Runs `f` on a thread of rayon's pool. A token runs some 200 projections,
/// each split across the pool; called from outside, every split parks the
/// caller and wakes a worker, and those context switches took a sixth of a
/// decoding step (and a tenth of a LoRA training step). From a worker, the caller takes part in the split and the
/// others are still spinning when the next one comes.
pub(crate) fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

/// cos/sin of every position for RoPE, `[max_positions, head_dim / 2]`.
fn rope_tables(c: &LlamaConfig, device: &Device) -> Result<(Tensor, Tensor)> {
    let hd = c.head_dim();
    let inv: Vec<f32> =
        (0..hd / 2).map(|i| (1.0 / c.rope_theta.powf(2.0 * i as f64 / hd as f64)) as f32).collect();
    let inv = Tensor::from_vec(inv, (1, hd / 2), device)?;
    let positions = Tensor::arange(0u32, c.max_position_embeddings as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((c.max_position_embeddings, 1))?;
    let freqs = positions.broadcast_mul(&inv)?;
    Ok((freqs.cos()?, freqs.sin()?))
}

/// Additive mask for `t` new positions after `pos` cached ones, repeated
/// for the `rep` query heads that share a key/value head: `-inf` where a
/// query would see a later key.
fn causal_mask(t: usize, pos: usize, rep: usize, device: &Device) -> Result<Tensor> {
    let total = pos + t;
    let data: Vec<f32> = (0..rep * t)
        .flat_map(|row| {
            let i = row % t;
            (0..total).map(move |j| if j > pos + i { f32::NEG_INFINITY } else { 0.0 })
        })
        .collect();
    Ok(Tensor::from_vec(data, (rep * t, total), device)?)
}

/// Index of the largest value of a `[vocab]` logits tensor.
pub fn argmax(logits: &Tensor) -> Result<u32> {
    Ok(logits.argmax(D::Minus1)?.to_scalar::<u32>()?)
}
