//! The training-grade forward pass of the Llama decoder: the same arithmetic
//! as [`crate::model::Llama`], built only from ops that record a backward
//! pass: candle's matmul and arithmetic, and this crate's fused RMSNorm,
//! RoPE, causal softmax and SwiGLU ([`super::fused`]), frozen projections
//! ([`super::frozen`]) and head with loss ([`super::head_loss`]). candle's
//! own fused `rms_norm`, `softmax_last_dim` and `rope` record none, and
//! gradients would silently stop at them.

use candle_core::{backprop::GradStore, DType, Device, Tensor, Var, D};
use lathe_core::SplitMix64;

use crate::config::LlamaConfig;
use crate::error::{Error, Result};
use crate::lora::{uniform, Adapters, Target};
use crate::model::Llama;

use super::frozen::{FrozenLinear, FrozenLinearAdd, LoraLinear};
use super::fused;
use super::head_loss::HeadLoss;

struct Block {
    input_norm: Tensor,
    post_norm: Tensor,
    /// `[out, in]` of each projection, in [`Target::ALL`]'s order.
    proj: [Tensor; 7],
}

/// Frozen base weights (plain tensors, no gradient) plus trainable adapters.
pub struct TrainModel {
    config: LlamaConfig,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    lm_head: Tensor,
    cos: Tensor,
    sin: Tensor,
    adapters: Adapters,
    dtype: DType,
    device: Device,
}

/// Dropout state for one forward pass; `None` evaluates without dropout.
pub struct Dropout<'a> {
    /// Probability of zeroing an input of an adapter.
    pub p: f64,
    /// Where the masks come from (seeded, so runs and resumes repeat).
    pub rng: &'a mut SplitMix64,
}

impl TrainModel {
    /// The base weights of `model`, converted to `dtype` (F32 to train, F64
    /// for gradient checks), with `adapters` on top.
    pub fn new(model: &Llama, adapters: Adapters, dtype: DType) -> Result<TrainModel> {
        let config = model.config().clone();
        let mut w = model.named_tensors();
        let device = model_device(&w)?;
        let mut take = |name: String| -> Result<Tensor> {
            let t = w.remove(&name).ok_or_else(|| Error::Weight {
                path: "(loaded model)".into(),
                name,
                problem: "is missing".into(),
            })?;
            Ok(t.to_dtype(dtype)?)
        };
        let mut blocks = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = format!("model.layers.{l}");
            let mut proj = Vec::with_capacity(7);
            for t in Target::ALL {
                proj.push(take(format!("{p}.{}.weight", t.path()))?);
            }
            let proj: [Tensor; 7] = proj.try_into().map_err(|_| Error::InvalidParameter {
                param: "model",
                problem: "a block does not have 7 projections".into(),
            })?;
            blocks.push(Block {
                input_norm: take(format!("{p}.input_layernorm.weight"))?,
                post_norm: take(format!("{p}.post_attention_layernorm.weight"))?,
                proj,
            });
        }
        let embed = take("model.embed_tokens.weight".into())?;
        let norm = take("model.norm.weight".into())?;
        let lm_head = take("lm_head.weight".into())?;
        let (cos, sin) = rope_tables(&config, dtype, &device)?;
        Ok(TrainModel { config, embed, blocks, norm, lm_head, cos, sin, adapters, dtype, device })
    }

    /// The adapters being trained.
    pub fn adapters(&self) -> &Adapters {
        &self.adapters
    }

    /// The base model's hyper-parameters.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// The device the tensors live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Logits `[batch, seq, vocab]` of `ids` (`[batch, seq]`, u32), each row
    /// starting at position 0. Right padding is harmless: the causal mask
    /// keeps later (padded) positions out of earlier ones.
    pub fn forward(&self, ids: &Tensor, mut dropout: Option<Dropout<'_>>) -> Result<Tensor> {
        let pass = self.pass(ids)?;
        let mut x = self.embed.index_select(&ids.flatten_all()?, 0)?; // [b*t, h]
        for l in 0..self.blocks.len() {
            x = self.block(l, &x, &pass, dropout.as_mut())?;
        }
        self.head(&x, &pass)
    }

    /// The mean cross-entropy of `ids` against `labels` (as
    /// [`masked_cross_entropy`] on [`TrainModel::forward`]'s logits) and the
    /// positions counted, without building the logits: the head and the loss
    /// run as one op that also leaves the gradient for `backward`.
    pub fn loss(
        &self,
        ids: &Tensor,
        labels: &[i64],
        mut dropout: Option<Dropout<'_>>,
    ) -> Result<(Tensor, usize)> {
        let pass = self.pass(ids)?;
        let mut x = self.embed.index_select(&ids.flatten_all()?, 0)?;
        for l in 0..self.blocks.len() {
            x = self.block(l, &x, &pass, dropout.as_mut())?;
        }
        self.head_loss(&x, labels, true)
    }

    /// [`TrainModel::loss`] times `share`, the positions counted, and the
    /// gradients of the adapters.
    pub fn loss_and_grads(
        &self,
        ids: &Tensor,
        labels: &[i64],
        share: f64,
        dropout: Option<Dropout<'_>>,
    ) -> Result<(Tensor, usize, GradStore)> {
        let (loss, count) = self.loss(ids, labels, dropout)?;
        let loss = (loss * share)?;
        let grads = loss.backward()?;
        Ok((loss, count, grads))
    }

    /// The mean loss and the positions counted, without dropout and without
    /// gradients (evaluation).
    pub fn eval_loss(&self, ids: &Tensor, labels: &[i64]) -> Result<(f64, usize)> {
        let pass = self.pass(ids)?;
        let mut x = self.embed.index_select(&ids.flatten_all()?, 0)?;
        for l in 0..self.blocks.len() {
            x = self.block(l, &x, &pass, None)?.detach();
        }
        let (loss, count) = self.head_loss(&x, labels, false)?;
        Ok((loss.to_dtype(DType::F64)?.to_scalar::<f64>()?, count))
    }

    /// The loss of `ids` against `labels` (as [`TrainModel::loss`],
    /// times `share`), the positions counted, and the gradients of the
    /// adapters, with **gradient checkpointing**: the forward pass keeps only
    /// each block's input, and the backward pass recomputes one block at a
    /// time from it (replaying its dropout masks) and backpropagates through
    /// that block alone. Memory holds one block's activations instead of
    /// every block's, for one more forward pass of compute; the gradients
    /// are those of [`TrainModel::forward`] + `backward` up to rounding.
    pub fn checkpointed_grads(
        &self,
        ids: &Tensor,
        labels: &[i64],
        share: f64,
        dropout: Option<Dropout<'_>>,
    ) -> Result<(Tensor, usize, GradStore)> {
        let pass = self.pass(ids)?;
        let (p, mut rng) = match dropout {
            Some(d) => (d.p, Some(d.rng)),
            None => (0.0, None),
        };
        let mut x = self.embed.index_select(&ids.flatten_all()?, 0)?;
        let mut saved = Vec::with_capacity(self.blocks.len());
        for l in 0..self.blocks.len() {
            let state = rng.as_deref().cloned();
            let mut d = rng.as_deref_mut().map(|rng| Dropout { p, rng });
            let y = self.block(l, &x, &pass, d.as_mut())?.detach();
            saved.push((std::mem::replace(&mut x, y), state));
        }
        let last = Var::from_tensor(&x)?;
        drop(x);
        let (loss, count) = self.head_loss(last.as_tensor(), labels, true)?;
        let loss = (loss * share)?;
        let mut grads = loss.backward()?;
        let mut upstream = take_grad(&mut grads, last.as_tensor())?;
        while let Some((input, mut state)) = saved.pop() {
            let l = saved.len();
            let input = Var::from_tensor(&input)?;
            let mut d = state.as_mut().map(|rng| Dropout { p, rng });
            let y = self.block(l, input.as_tensor(), &pass, d.as_mut())?;
            let mut block = (y * &upstream)?.sum_all()?.backward()?;
            for target in Target::ALL {
                if let Some(pair) = self.adapters.get(l, target) {
                    for v in [&pair.a, &pair.b] {
                        grads.insert(v.as_tensor(), take_grad(&mut block, v.as_tensor())?);
                    }
                }
            }
            upstream = take_grad(&mut block, input.as_tensor())?;
        }
        Ok((loss, count, grads))
    }

    /// What every block of one forward pass shares: shape and RoPE rows.
    fn pass(&self, ids: &Tensor) -> Result<Pass> {
        let c = &self.config;
        let (b, t) = ids.dims2()?;
        if t > c.max_position_embeddings {
            return Err(Error::ContextOverflow {
                tokens: t,
                max_tokens: 0,
                context: c.max_position_embeddings,
            });
        }
        Ok(Pass {
            b,
            t,
            cos: self.cos.narrow(0, 0, t)?.contiguous()?,
            sin: self.sin.narrow(0, 0, t)?.contiguous()?,
        })
    }

    /// Decoder block `l` on the residual stream `x` (`[b*t, h]`).
    fn block(
        &self,
        l: usize,
        x: &Tensor,
        pass: &Pass,
        mut dropout: Option<&mut Dropout<'_>>,
    ) -> Result<Tensor> {
        let c = &self.config;
        let (b, t) = (pass.b, pass.t);
        let (nh, nkv, hd) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim());
        let eps = c.rms_norm_eps;
        let scale = 1.0 / (hd as f64).sqrt();
        let blk = &self.blocks[l];
        let hn = rms_norm(x, &blk.input_norm, eps)?;
        let mut lin =
            |target: Target, input: &Tensor, residual: Option<&Tensor>| -> Result<Tensor> {
                self.linear(
                    l,
                    target,
                    &blk.proj[target as usize],
                    input,
                    residual,
                    dropout.as_deref_mut(),
                )
            };
        let rope = Some((&pass.cos, &pass.sin));
        // Grouped-query attention without copying keys and values: the
        // `rep` query heads of a key/value head become `rep * t` rows against it.
        let q = fused::to_heads(&lin(Target::Q, &hn, None)?, (b, t, nh, hd), nkv, rope)?;
        let k = fused::to_heads(&lin(Target::K, &hn, None)?, (b, t, nkv, hd), nkv, rope)?;
        let v = fused::to_heads(&lin(Target::V, &hn, None)?, (b, t, nkv, hd), nkv, None)?;
        let att = fused::causal_softmax(&q.matmul(&k.t()?)?, scale)?;
        let y = fused::from_heads(&att.matmul(&v)?, (b, t, nh, hd))?;
        let x = lin(Target::O, &y, Some(x))?;
        let hn = rms_norm(&x, &blk.post_norm, eps)?;
        let m = fused::silu_mul(&lin(Target::Gate, &hn, None)?, &lin(Target::Up, &hn, None)?)?;
        lin(Target::Down, &m, Some(&x))
    }

    /// Final norm and the language-model head: logits `[b, t, vocab]`.
    fn head(&self, x: &Tensor, pass: &Pass) -> Result<Tensor> {
        let x = rms_norm(x, &self.norm, self.config.rms_norm_eps)?;
        let logits = x.contiguous()?.apply_op1(FrozenLinear { w: self.lm_head.clone() })?;
        Ok(logits.reshape((pass.b, pass.t, self.config.vocab_size))?)
    }

    /// Final norm, head and mean cross-entropy over the labelled positions
    /// of `x` (`[b*t, h]`) in one op ([`HeadLoss`]).
    fn head_loss(&self, x: &Tensor, labels: &[i64], want_grad: bool) -> Result<(Tensor, usize)> {
        if labels.len() != x.dim(0)? {
            return Err(Error::InvalidParameter {
                param: "labels",
                problem: format!("has {} entries for {} positions", labels.len(), x.dim(0)?),
            });
        }
        let x = rms_norm(x, &self.norm, self.config.rms_norm_eps)?.contiguous()?;
        let op = HeadLoss::new(self.lm_head.clone(), labels, want_grad);
        let count = op.count();
        Ok((x.apply_op1(op)?, count))
    }

    /// `x W^T`, plus `scale · dropout(x) A^T B^T` where the projection is
    /// adapted, plus `residual` when given; one op each way ([`super::frozen`]).
    #[allow(clippy::too_many_arguments)]
    fn linear(
        &self,
        layer: usize,
        target: Target,
        w: &Tensor,
        x: &Tensor,
        residual: Option<&Tensor>,
        dropout: Option<&mut Dropout<'_>>,
    ) -> Result<Tensor> {
        let x = x.contiguous()?;
        let w = w.clone();
        let Some(pair) = self.adapters.get(layer, target) else {
            return Ok(match residual {
                Some(r) => x.apply_op2(&r.contiguous()?, FrozenLinearAdd { w })?,
                None => x.apply_op1(FrozenLinear { w })?,
            });
        };
        let mask = match dropout {
            Some(d) if d.p > 0.0 => {
                let keep = 1.0 / (1.0 - d.p);
                let n = x.elem_count();
                let m: Vec<f64> =
                    (0..n).map(|_| if uniform(d.rng) < d.p { 0.0 } else { keep }).collect();
                Some(Tensor::from_vec(m, x.shape(), &self.device)?.to_dtype(self.dtype)?)
            }
            _ => None,
        };
        let op = LoraLinear { w, scale: self.adapters.config().scale(), mask };
        let y = x.apply_op3(pair.a.as_tensor(), pair.b.as_tensor(), op)?;
        Ok(match residual {
            Some(r) => (r + y)?,
            None => y,
        })
    }
}

/// Shape and tables one forward pass shares between its blocks.
struct Pass {
    b: usize,
    t: usize,
    cos: Tensor,
    sin: Tensor,
}

/// The gradient of `t`, which the backward pass must have reached.
fn take_grad(grads: &mut GradStore, t: &Tensor) -> Result<Tensor> {
    grads.remove(t).ok_or_else(|| Error::InvalidParameter {
        param: "adapters",
        problem: "the backward pass did not reach a checkpointed tensor".into(),
    })
}

fn model_device(w: &std::collections::HashMap<String, Tensor>) -> Result<Device> {
    w.values()
        .next()
        .map(|t| t.device().clone())
        .ok_or_else(|| Error::InvalidParameter { param: "model", problem: "has no weights".into() })
}

/// `x / √(mean(x²) + ε) · w` over the last dimension ([`fused::rms_norm`]).
fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
    Ok(fused::rms_norm(x, w, eps)?)
}

/// cos/sin tables `[max_positions, hd]` (each half repeated), as the inference model uses.
fn rope_tables(c: &LlamaConfig, dtype: DType, device: &Device) -> Result<(Tensor, Tensor)> {
    let hd = c.head_dim();
    let n = c.max_position_embeddings;
    let inv: Vec<f64> =
        (0..hd / 2).map(|i| 1.0 / c.rope_theta.powf(2.0 * i as f64 / hd as f64)).collect();
    // The inference model computes the angles in f32; do the same so both agree to rounding.
    let mut cos = Vec::with_capacity(n * hd);
    let mut sin = Vec::with_capacity(n * hd);
    for p in 0..n {
        for _half in 0..2 {
            for f in &inv {
                let angle = p as f32 * *f as f32;
                cos.push(f64::from(angle.cos()));
                sin.push(f64::from(angle.sin()));
            }
        }
    }
    let cos = Tensor::from_vec(cos, (n, hd), device)?.to_dtype(dtype)?;
    let sin = Tensor::from_vec(sin, (n, hd), device)?.to_dtype(dtype)?;
    Ok((cos, sin))
}

/// Mean cross-entropy of `logits` `[b, t, vocab]` against `labels` `[b, t]`
/// (i64, the next token at each position, -100 where no loss is taken), and
/// the number of positions that counted.
pub fn masked_cross_entropy(logits: &Tensor, labels: &[i64]) -> Result<(Tensor, usize)> {
    let (b, t, v) = logits.dims3()?;
    if labels.len() != b * t {
        return Err(Error::InvalidParameter {
            param: "labels",
            problem: format!("has {} entries for {b}x{t} positions", labels.len()),
        });
    }
    let device = logits.device();
    let dtype = logits.dtype();
    let logits = logits.reshape((b * t, v))?;
    let max = logits.max_keepdim(D::Minus1)?.detach();
    let shifted = logits.broadcast_sub(&max)?;
    let logz = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    let logp = shifted.broadcast_sub(&logz)?;
    let idx: Vec<u32> = labels.iter().map(|&l| if l < 0 { 0 } else { l as u32 }).collect();
    let weight: Vec<f64> = labels.iter().map(|&l| if l < 0 { 0.0 } else { 1.0 }).collect();
    let count = weight.iter().filter(|w| **w > 0.0).count();
    let picked = logp.gather(&Tensor::from_vec(idx, (b * t, 1), device)?, 1)?.squeeze(1)?;
    let weight = Tensor::from_vec(weight, b * t, device)?.to_dtype(dtype)?;
    let total = (picked * weight)?.sum_all()?;
    Ok(((total * (-1.0 / count.max(1) as f64))?, count))
}
