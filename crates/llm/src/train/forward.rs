//! The training-grade forward pass of the Llama decoder: the same arithmetic
//! as [`crate::model::Llama`], from candle's matmul and this crate's fused
//! RMSNorm, heads with RoPE, causal softmax and SwiGLU ([`super::fused`]),
//! frozen and LoRA projections ([`super::frozen`]) and head with loss
//! ([`super::head_loss`]). Every op records a backward pass, so
//! [`TrainModel::forward`] differentiates with candle's autograd (candle's
//! own fused `rms_norm`, `softmax_last_dim` and `rope` record none, and
//! gradients would silently stop at them); training itself runs the
//! backward pass written out in [`backward`], which the tests hold to it.

use candle_core::{DType, Device, Tensor, D};
use lathe_core::SplitMix64;

use crate::config::LlamaConfig;
use crate::error::{Error, Result};
use crate::lora::{uniform, Adapters, Target};
use crate::model::{on_pool, Llama};

use super::frozen::{FrozenLinear, FrozenLinearAdd, LoraLinear};
use super::fused;
use super::head_loss::HeadLoss;

mod backward;

pub use backward::AdapterGrads;
use backward::Tape;

struct Block {
    input_norm: Tensor,
    post_norm: Tensor,
    /// `[out, in]` of each projection, in [`Target::ALL`]'s order.
    proj: [Tensor; 7],
    /// `[out]` biases, where the model has them (Qwen2's q, k, v).
    bias: [Option<Tensor>; 7],
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
        // Training runs on the CPU, wherever the model was loaded: its fused
        // ops are CPU kernels.
        let device = Device::Cpu;
        let mut take = |name: String| -> Result<Tensor> {
            let t = w.remove(&name).ok_or_else(|| Error::Weight {
                path: "(loaded model)".into(),
                name,
                problem: "is missing".into(),
            })?;
            Ok(t.to_device(&Device::Cpu)?.to_dtype(dtype)?)
        };
        let mut blocks = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = format!("model.layers.{l}");
            let mut proj = Vec::with_capacity(7);
            let mut bias: [Option<Tensor>; 7] = Default::default();
            for t in Target::ALL {
                proj.push(take(format!("{p}.{}.weight", t.path()))?);
                let name = format!("{p}.{}.bias", t.path());
                if config.attention_bias && matches!(t, Target::Q | Target::K | Target::V) {
                    bias[t as usize] = Some(take(name)?);
                }
            }
            let proj: [Tensor; 7] = proj.try_into().map_err(|_| Error::InvalidParameter {
                param: "model",
                problem: "a block does not have 7 projections".into(),
            })?;
            blocks.push(Block {
                input_norm: take(format!("{p}.input_layernorm.weight"))?,
                post_norm: take(format!("{p}.post_attention_layernorm.weight"))?,
                proj,
                bias,
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
    /// starting at position 0, through candle's autograd (a reference for
    /// tests; training uses [`TrainModel::loss_and_grads`]). Right padding is
    /// harmless: the causal mask keeps later (padded) positions out of
    /// earlier ones.
    pub fn forward(&self, ids: &Tensor, mut dropout: Option<Dropout<'_>>) -> Result<Tensor> {
        let pass = self.pass(ids)?;
        let mut x = self.embed.index_select(&ids.flatten_all()?, 0)?; // [b*t, h]
        for l in 0..self.blocks.len() {
            x = self.block(l, &x, &pass, dropout.as_mut(), false)?.0;
        }
        self.head(&x, &pass)
    }

    /// The mean cross-entropy of `ids` against `labels` (as
    /// [`masked_cross_entropy`] on [`TrainModel::forward`]'s logits) times
    /// `share`, the positions counted, and the gradients of the adapters.
    ///
    /// The backward pass is written out by hand ([`backward`]) instead of
    /// candle's autograd, which costs every op a zeroed buffer and an
    /// addition per input; the head and the loss run as one op that leaves
    /// the gradient of its input, without building the logits.
    pub fn loss_and_grads(
        &self,
        ids: &Tensor,
        labels: &[i64],
        share: f64,
        dropout: Option<Dropout<'_>>,
    ) -> Result<(Tensor, usize, AdapterGrads)> {
        on_pool(|| self.loss_and_grads_here(ids, labels, share, dropout))
    }

    fn loss_and_grads_here(
        &self,
        ids: &Tensor,
        labels: &[i64],
        share: f64,
        mut dropout: Option<Dropout<'_>>,
    ) -> Result<(Tensor, usize, AdapterGrads)> {
        let pass = self.pass(ids)?;
        let mut x = self.embed.index_select(&ids.flatten_all()?, 0)?;
        let mut tapes = Vec::with_capacity(self.blocks.len());
        for l in 0..self.blocks.len() {
            let (y, tape) = self.block(l, &x, &pass, dropout.as_mut(), true)?;
            x = y;
            tapes.extend(tape);
        }
        let (loss, count, mut upstream) = self.head_loss_grad(&x, labels, share)?;
        let mut grads = AdapterGrads::default();
        while let Some(tape) = tapes.pop() {
            let l = tapes.len();
            match self.block_backward(l, &tape, &pass, &upstream, &mut grads, l > 0)? {
                Some(dx) => upstream = dx,
                None => break,
            }
        }
        Ok((loss, count, grads))
    }

    /// The mean loss and the positions counted, without dropout and without
    /// gradients (evaluation).
    pub fn eval_loss(&self, ids: &Tensor, labels: &[i64]) -> Result<(f64, usize)> {
        on_pool(|| self.eval_loss_here(ids, labels))
    }

    fn eval_loss_here(&self, ids: &Tensor, labels: &[i64]) -> Result<(f64, usize)> {
        let pass = self.pass(ids)?;
        let mut x = self.embed.index_select(&ids.flatten_all()?, 0)?;
        for l in 0..self.blocks.len() {
            x = self.block(l, &x, &pass, None, false)?.0.detach();
        }
        let (loss, count, _) = self.head_loss(&x, labels, false)?;
        Ok((loss.to_dtype(DType::F64)?.to_scalar::<f64>()?, count))
    }

    /// [`TrainModel::loss_and_grads`] with **gradient checkpointing**: the
    /// forward pass keeps only each block's input, and the backward pass
    /// recomputes one block at a time from it (replaying its dropout masks)
    /// and backpropagates through that block alone. Memory holds one
    /// block's activations instead of every block's, for one more forward
    /// pass of compute; the gradients are the same.
    pub fn checkpointed_grads(
        &self,
        ids: &Tensor,
        labels: &[i64],
        share: f64,
        dropout: Option<Dropout<'_>>,
    ) -> Result<(Tensor, usize, AdapterGrads)> {
        on_pool(|| self.checkpointed_grads_here(ids, labels, share, dropout))
    }

    fn checkpointed_grads_here(
        &self,
        ids: &Tensor,
        labels: &[i64],
        share: f64,
        dropout: Option<Dropout<'_>>,
    ) -> Result<(Tensor, usize, AdapterGrads)> {
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
            let y = self.block(l, &x, &pass, d.as_mut(), false)?.0.detach();
            saved.push((std::mem::replace(&mut x, y), state));
        }
        let (loss, count, mut upstream) = self.head_loss_grad(&x, labels, share)?;
        drop(x);
        let mut grads = AdapterGrads::default();
        while let Some((input, mut state)) = saved.pop() {
            let l = saved.len();
            let mut d = state.as_mut().map(|rng| Dropout { p, rng });
            let (_, tape) = self.block(l, &input, &pass, d.as_mut(), true)?;
            let tape = tape.ok_or_else(|| Error::InvalidParameter {
                param: "backward",
                problem: "a block kept no tape".into(),
            })?;
            match self.block_backward(l, &tape, &pass, &upstream, &mut grads, l > 0)? {
                Some(dx) => upstream = dx,
                None => break,
            }
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

    /// Decoder block `l` on the residual stream `x` (`[b*t, h]`). When
    /// `taping`, the adapters are read without autograd and what the backward
    /// pass needs comes back on a [`Tape`] ([`backward`]).
    fn block(
        &self,
        l: usize,
        x: &Tensor,
        pass: &Pass,
        mut dropout: Option<&mut Dropout<'_>>,
        taping: bool,
    ) -> Result<(Tensor, Option<Tape>)> {
        let c = &self.config;
        let (b, t) = (pass.b, pass.t);
        let (nh, nkv, hd) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim());
        let eps = c.rms_norm_eps;
        let scale = 1.0 / (hd as f64).sqrt();
        let blk = &self.blocks[l];
        let mut masks: [Option<Tensor>; 7] = Default::default();
        let mut lin =
            |target: Target, input: &Tensor, residual: Option<&Tensor>| -> Result<Tensor> {
                let w = &blk.proj[target as usize];
                let (y, mask) =
                    self.linear(l, target, w, input, residual, dropout.as_deref_mut(), taping)?;
                masks[target as usize] = mask;
                Ok(y)
            };
        let hn1 = rms_norm(x, &blk.input_norm, eps)?;
        let rope = Some((&pass.cos, &pass.sin));
        // Grouped-query attention without copying keys and values: the
        // `rep` query heads of a key/value head become `rep * t` rows against it.
        let q = fused::to_heads(&lin(Target::Q, &hn1, None)?, (b, t, nh, hd), nkv, rope)?;
        let k = fused::to_heads(&lin(Target::K, &hn1, None)?, (b, t, nkv, hd), nkv, rope)?;
        let v = fused::to_heads(&lin(Target::V, &hn1, None)?, (b, t, nkv, hd), nkv, None)?;
        let att = fused::causal_softmax(&q.matmul(&k.t()?)?, scale)?;
        let y = fused::from_heads(&att.matmul(&v)?, (b, t, nh, hd))?;
        let mid = lin(Target::O, &y, Some(x))?;
        let hn2 = rms_norm(&mid, &blk.post_norm, eps)?;
        let (g, u) = (lin(Target::Gate, &hn2, None)?, lin(Target::Up, &hn2, None)?);
        let m = fused::silu_mul(&g, &u)?;
        let out = lin(Target::Down, &m, Some(&mid))?;
        let tape =
            taping.then(|| Tape { x: x.clone(), hn1, q, k, v, att, y, mid, hn2, g, u, m, masks });
        Ok((out, tape))
    }

    /// Final norm and the language-model head: logits `[b, t, vocab]`.
    fn head(&self, x: &Tensor, pass: &Pass) -> Result<Tensor> {
        let x = rms_norm(x, &self.norm, self.config.rms_norm_eps)?;
        let logits = x.contiguous()?.apply_op1(FrozenLinear { w: self.lm_head.clone() })?;
        Ok(logits.reshape((pass.b, pass.t, self.config.vocab_size))?)
    }

    /// Final norm, head and mean cross-entropy over the labelled positions
    /// of `x` (`[b*t, h]`) in one op ([`HeadLoss`]), the positions counted,
    /// and with `want_grad` the gradient of the normed `x`.
    fn head_loss(
        &self,
        x: &Tensor,
        labels: &[i64],
        want_grad: bool,
    ) -> Result<(Tensor, usize, Option<Tensor>)> {
        if labels.len() != x.dim(0)? {
            return Err(Error::InvalidParameter {
                param: "labels",
                problem: format!("has {} entries for {} positions", labels.len(), x.dim(0)?),
            });
        }
        let xn = rms_norm(&x.detach(), &self.norm, self.config.rms_norm_eps)?;
        let op = HeadLoss::new(self.lm_head.clone(), labels, want_grad);
        let loss = xn.apply_op1_no_bwd(&op)?;
        let grad = if want_grad { Some(op.take_grad()?) } else { None };
        Ok((loss, op.count(), grad))
    }

    /// The loss of the final hidden states `x` (as [`TrainModel::head_loss`])
    /// times `share`, the positions counted, and the gradient of `x`.
    fn head_loss_grad(
        &self,
        x: &Tensor,
        labels: &[i64],
        share: f64,
    ) -> Result<(Tensor, usize, Tensor)> {
        let (loss, count, dxn) = self.head_loss(x, labels, true)?;
        let dxn = dxn.ok_or_else(|| Error::InvalidParameter {
            param: "backward",
            problem: "the head left no gradient".into(),
        })?;
        let dx =
            fused::rms_norm_backward(x, &self.norm, self.config.rms_norm_eps, &(dxn * share)?)?;
        Ok(((loss * share)?, count, dx))
    }

    /// [`TrainModel::linear_product`] plus the projection's bias, where the
    /// model has one (the bias has no part in any gradient LoRA needs).
    #[allow(clippy::too_many_arguments)]
    fn linear(
        &self,
        layer: usize,
        target: Target,
        w: &Tensor,
        x: &Tensor,
        residual: Option<&Tensor>,
        dropout: Option<&mut Dropout<'_>>,
        detached: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let Some(b) = &self.blocks[layer].bias[target as usize] else {
            return self.linear_product(layer, target, w, x, residual, dropout, detached);
        };
        let (y, mask) = self.linear_product(layer, target, w, x, None, dropout, detached)?;
        let y = y.broadcast_add(b)?;
        let y = match residual {
            Some(r) => (r + y)?,
            None => y,
        };
        Ok((y, mask))
    }

    /// `x W^T`, plus `scale · dropout(x) A^T B^T` where the projection is
    /// adapted, plus `residual` when given; one op each way ([`super::frozen`]).
    /// Also returns the dropout mask it drew; `detached` reads the adapters
    /// without autograd.
    #[allow(clippy::too_many_arguments)]
    fn linear_product(
        &self,
        layer: usize,
        target: Target,
        w: &Tensor,
        x: &Tensor,
        residual: Option<&Tensor>,
        dropout: Option<&mut Dropout<'_>>,
        detached: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let x = x.contiguous()?;
        let w = w.clone();
        let Some(pair) = self.adapters.get(layer, target) else {
            let y = match residual {
                Some(r) => x.apply_op2(&r.contiguous()?, FrozenLinearAdd { w })?,
                None => x.apply_op1(FrozenLinear { w })?,
            };
            return Ok((y, None));
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
        let (a, b) = (pair.a.as_tensor(), pair.b.as_tensor());
        let (a, b) = if detached { (a.detach(), b.detach()) } else { (a.clone(), b.clone()) };
        let op = LoraLinear { w, scale: self.adapters.config().scale(), mask: mask.clone() };
        let y = x.apply_op3(&a, &b, op)?;
        let y = match residual {
            Some(r) => (r + y)?,
            None => y,
        };
        Ok((y, mask))
    }
}

/// Shape and tables one forward pass shares between its blocks.
struct Pass {
    b: usize,
    t: usize,
    cos: Tensor,
    sin: Tensor,
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
