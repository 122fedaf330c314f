//! The start of LoRA fine-tuning: a training-grade forward pass of the
//! Llama decoder built only from ops that record a backward pass, with
//! low-rank adapters `y = W x + (alpha / r) · B (A x)` on chosen projections.
//!
//! candle's fused inference ops (`rms_norm`, `softmax_last_dim`, the RoPE
//! kernels, quantized matmul) have no backward: gradients would silently
//! stop at them. Here RMSNorm, RoPE, softmax and SiLU are spelled out in
//! primitive tensor ops instead, and the base weights are plain tensors
//! (not `Var`s), so only the adapters are trained.

use std::collections::BTreeMap;

use candle_core::{DType, Tensor, Var, D};
use lathe_core::SplitMix64;

use crate::error::{Error, Result};
use crate::model::{Block, Llama};

/// The projections an adapter can sit on, PEFT's names.
pub const TARGETS: [&str; 7] =
    ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/// One adapter: `A` `[r, in]`, `B` `[out, r]`, as PEFT stores them.
pub struct Adapter {
    /// Down-projection, initialized uniformly (Kaiming, as PEFT).
    pub a: Var,
    /// Up-projection, initialized to zero so training starts from the base model.
    pub b: Var,
}

/// A base model with adapters, in the dtype the training runs in.
pub struct LoraModel {
    blocks: Vec<[Tensor; 9]>,
    embed: Tensor,
    norm: Tensor,
    lm_head: Tensor,
    cos: Tensor,
    sin: Tensor,
    eps: f64,
    heads: (usize, usize, usize),
    scale: f64,
    /// Adapters by (layer, target).
    pub adapters: BTreeMap<(usize, &'static str), Adapter>,
}

fn block_weights(b: &Block) -> [&Tensor; 9] {
    [&b.input_norm, &b.q, &b.k, &b.v, &b.o, &b.post_norm, &b.gate, &b.up, &b.down]
}

fn target_index(target: &str) -> Option<usize> {
    // Positions of the projections in `block_weights`.
    Some(match target {
        "q_proj" => 1,
        "k_proj" => 2,
        "v_proj" => 3,
        "o_proj" => 4,
        "gate_proj" => 6,
        "up_proj" => 7,
        "down_proj" => 8,
        _ => return None,
    })
}

impl LoraModel {
    /// Adapters of rank `rank` on `targets` of every layer of `base`, with
    /// weights converted to `dtype` (f64 for gradient checks).
    pub fn new(
        base: &Llama,
        targets: &[&str],
        rank: usize,
        alpha: f64,
        seed: u64,
        dtype: DType,
    ) -> Result<Self> {
        if rank == 0 {
            return Err(Error::InvalidParameter {
                param: "rank",
                problem: "must be at least 1".into(),
            });
        }
        let c = base.config();
        let mut rng = SplitMix64::new(seed);
        let mut adapters = BTreeMap::new();
        let mut blocks = Vec::with_capacity(base.blocks.len());
        for (l, b) in base.blocks.iter().enumerate() {
            let ws = block_weights(b);
            for &t in targets {
                let (name, i) = TARGETS
                    .iter()
                    .find(|n| **n == t)
                    .and_then(|n| Some((*n, target_index(n)?)))
                    .ok_or_else(|| Error::InvalidParameter {
                        param: "targets",
                        problem: format!("'{t}' is not one of {}", TARGETS.join(", ")),
                    })?;
                let (out, inp) = ws[i].dims2()?;
                // PEFT's init: kaiming_uniform(a = sqrt(5)) bounds A by 1/sqrt(in).
                let bound = 1.0 / (inp as f64).sqrt();
                let data: Vec<f64> = (0..rank * inp)
                    .map(|_| {
                        ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * bound
                    })
                    .collect();
                let device = ws[i].device();
                let a = Var::from_tensor(
                    &Tensor::from_vec(data, (rank, inp), device)?.to_dtype(dtype)?,
                )?;
                let b = Var::from_tensor(&Tensor::zeros((out, rank), dtype, device)?)?;
                adapters.insert((l, name), Adapter { a, b });
            }
            let converted: Vec<Tensor> =
                ws.iter().map(|w| w.to_dtype(dtype)).collect::<candle_core::Result<_>>()?;
            blocks.push(converted.try_into().map_err(|_| Error::InvalidParameter {
                param: "model",
                problem: "block has an unexpected number of weights".into(),
            })?);
        }
        Ok(LoraModel {
            blocks,
            embed: base.embed.to_dtype(dtype)?,
            norm: base.norm.to_dtype(dtype)?,
            lm_head: base.lm_head.to_dtype(dtype)?,
            cos: base.cos.to_dtype(dtype)?,
            sin: base.sin.to_dtype(dtype)?,
            eps: c.rms_norm_eps,
            heads: (c.num_attention_heads, c.num_key_value_heads, c.head_dim()),
            scale: alpha / rank as f64,
            adapters,
        })
    }

    fn project(
        &self,
        x: &Tensor,
        layer: usize,
        target: &'static str,
        w: &Tensor,
    ) -> Result<Tensor> {
        let y = x.matmul(&w.t()?)?;
        match self.adapters.get(&(layer, target)) {
            Some(ad) => Ok((y
                + (x.matmul(&ad.a.as_tensor().t()?)?.matmul(&ad.b.as_tensor().t()?)?
                    * self.scale)?)?),
            None => Ok(y),
        }
    }

    /// Logits of every position of `ids`, `[ids.len(), vocab]`, through ops
    /// that all record their backward pass.
    pub fn forward(&self, ids: &[u32]) -> Result<Tensor> {
        let (nh, nkv, hd) = self.heads;
        let t = ids.len();
        let device = self.embed.device();
        let mut x = self.embed.index_select(&Tensor::new(ids, device)?, 0)?;
        let cos = Tensor::cat(&[&self.cos.narrow(0, 0, t)?; 2], 1)?;
        let sin = Tensor::cat(&[&self.sin.narrow(0, 0, t)?; 2], 1)?;
        let mask: Vec<f64> =
            (0..t).flat_map(|i| (0..t).map(move |j| if j > i { -1e9 } else { 0.0 })).collect();
        let mask = Tensor::from_vec(mask, (t, t), device)?.to_dtype(x.dtype())?;
        for (l, w) in self.blocks.iter().enumerate() {
            let h = rms_norm(&x, &w[0], self.eps)?;
            let heads = |y: Tensor, n: usize| -> Result<Tensor> {
                Ok(y.reshape((t, n, hd))?.transpose(0, 1)?)
            };
            let q = rope(&heads(self.project(&h, l, "q_proj", &w[1])?, nh)?, &cos, &sin)?;
            let k = rope(&heads(self.project(&h, l, "k_proj", &w[2])?, nkv)?, &cos, &sin)?;
            let v = heads(self.project(&h, l, "v_proj", &w[3])?, nkv)?;
            let rep = nh / nkv;
            // Each key/value head serves `rep` consecutive query heads.
            let k = Tensor::cat(&vec![&k.unsqueeze(1)?; rep], 1)?.reshape((nh, t, hd))?;
            let v = Tensor::cat(&vec![&v.unsqueeze(1)?; rep], 1)?.reshape((nh, t, hd))?;
            let att = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?.broadcast_add(&mask)?;
            let y = softmax(&att)?.matmul(&v)?.transpose(0, 1)?.reshape((t, nh * hd))?;
            x = (x + self.project(&y, l, "o_proj", &w[4])?)?;
            let h = rms_norm(&x, &w[5], self.eps)?;
            let gate = self.project(&h, l, "gate_proj", &w[6])?;
            let silu = (&gate / (gate.neg()?.exp()? + 1.0)?)?;
            let m = (silu * self.project(&h, l, "up_proj", &w[7])?)?;
            x = (x + self.project(&m, l, "down_proj", &w[8])?)?;
        }
        Ok(rms_norm(&x, &self.norm, self.eps)?.matmul(&self.lm_head.t()?)?)
    }

    /// Mean next-token cross-entropy over `ids`.
    pub fn loss(&self, ids: &[u32]) -> Result<Tensor> {
        if ids.len() < 2 {
            return Err(Error::InvalidParameter {
                param: "ids",
                problem: "need at least 2 tokens".into(),
            });
        }
        let logits = self.forward(&ids[..ids.len() - 1])?;
        let targets = Tensor::new(&ids[1..], logits.device())?;
        Ok(candle_nn::loss::cross_entropy(&logits, &targets)?)
    }
}

fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
    let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
    Ok(x.broadcast_div(&(ms + eps)?.sqrt()?)?.broadcast_mul(w)?)
}

/// Non-interleaved RoPE (`x·cos + rotate_half(x)·sin`), `x` `[heads, t, d]`.
fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let d = x.dim(D::Minus1)?;
    let x1 = x.narrow(D::Minus1, 0, d / 2)?;
    let x2 = x.narrow(D::Minus1, d / 2, d / 2)?;
    let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
    Ok((x.broadcast_mul(cos)? + rotated.broadcast_mul(sin)?)?)
}

fn softmax(x: &Tensor) -> Result<Tensor> {
    let e = x.broadcast_sub(&x.max_keepdim(D::Minus1)?)?.exp()?;
    Ok(e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?)
}
