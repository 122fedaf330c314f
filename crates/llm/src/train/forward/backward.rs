//! The decoder block's backward pass, written out: the gradients of the
//! adapters and of the block's input, from what the forward pass kept on a
//! [`Tape`].
//!
//! candle's autograd would give the same numbers (the tests hold the two
//! together), but it pays every op of the graph a zeroed buffer and an
//! addition per input, and it cannot skip what LoRA never needs: gradients
//! of the frozen weights, and below the first block, of the embeddings.

use std::collections::HashMap;

use candle_core::{Tensor, TensorId};

use super::{Pass, TrainModel};
use crate::error::{Error, Result};
use crate::lora::Target;
use crate::train::frozen::LoraLinear;
use crate::train::fused;

/// The gradients of the adapter matrices, by tensor.
#[derive(Default)]
pub struct AdapterGrads {
    by_id: HashMap<TensorId, Tensor>,
}

impl AdapterGrads {
    /// The gradient of an adapter matrix (`pair.a.as_tensor()`, …).
    pub fn get(&self, t: &Tensor) -> Option<&Tensor> {
        self.by_id.get(&t.id())
    }

    fn add(&mut self, t: &Tensor, grad: Tensor) -> Result<()> {
        let grad = match self.by_id.remove(&t.id()) {
            Some(prev) => (prev + grad)?,
            None => grad,
        };
        self.by_id.insert(t.id(), grad);
        Ok(())
    }
}

/// What one block's forward pass keeps for its backward pass.
pub(crate) struct Tape {
    pub(crate) x: Tensor,
    pub(crate) hn1: Tensor,
    pub(crate) q: Tensor,
    pub(crate) k: Tensor,
    pub(crate) v: Tensor,
    pub(crate) att: Tensor,
    pub(crate) y: Tensor,
    pub(crate) mid: Tensor,
    pub(crate) hn2: Tensor,
    pub(crate) g: Tensor,
    pub(crate) u: Tensor,
    pub(crate) m: Tensor,
    /// Dropout masks of the adapted projections, in [`Target::ALL`]'s order.
    pub(crate) masks: [Option<Tensor>; 7],
}

impl TrainModel {
    /// Backpropagates `dout`, the gradient of block `l`'s output, through
    /// the block: adds the adapters' gradients to `grads` and returns the
    /// gradient of the block's input (`None` when `need_dx` is false).
    pub(super) fn block_backward(
        &self,
        l: usize,
        tape: &Tape,
        pass: &Pass,
        dout: &Tensor,
        grads: &mut AdapterGrads,
        need_dx: bool,
    ) -> Result<Option<Tensor>> {
        let c = &self.config;
        let (b, t) = (pass.b, pass.t);
        let (nh, nkv, hd) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim());
        let eps = c.rms_norm_eps;
        let scale = 1.0 / (hd as f64).sqrt();
        let blk = &self.blocks[l];
        let masks = &tape.masks;
        // MLP: out = mid + down(silu(g)·u), g and u from hn2 = norm(mid).
        let dm = self.linear_dx(l, Target::Down, &tape.m, masks, dout, grads)?;
        let (dg, du) = fused::silu_mul_backward(&tape.g, &tape.u, &dm)?;
        let dhn2 = (self.linear_dx(l, Target::Gate, &tape.hn2, masks, &dg, grads)?
            + self.linear_dx(l, Target::Up, &tape.hn2, masks, &du, grads)?)?;
        let dmid = (dout + fused::rms_norm_backward(&tape.mid, &blk.post_norm, eps, &dhn2)?)?;
        // Attention: mid = x + o(y), y from softmax(q kᵀ) v.
        let dy = self.linear_dx(l, Target::O, &tape.y, masks, &dmid, grads)?;
        let dyh = fused::from_heads_backward(&dy, (b, t, nh, hd), nkv)?;
        let datt = dyh.matmul(&tape.v.t()?)?;
        let dv = tape.att.t()?.matmul(&dyh)?;
        let ds = fused::causal_softmax_backward(&tape.att, &datt, scale)?;
        let dq = ds.matmul(&tape.k)?;
        let dk = ds.t()?.matmul(&tape.q)?;
        let rope = Some((&pass.cos, &pass.sin));
        let dq = fused::to_heads_backward(&dq, (b, t, nh, hd), rope)?;
        let dk = fused::to_heads_backward(&dk, (b, t, nkv, hd), rope)?;
        let dv = fused::to_heads_backward(&dv, (b, t, nkv, hd), None)?;
        let parts = [
            self.linear_backward(l, Target::Q, &tape.hn1, masks, &dq, grads, need_dx)?,
            self.linear_backward(l, Target::K, &tape.hn1, masks, &dk, grads, need_dx)?,
            self.linear_backward(l, Target::V, &tape.hn1, masks, &dv, grads, need_dx)?,
        ];
        if !need_dx {
            return Ok(None);
        }
        let mut dhn1: Option<Tensor> = None;
        for part in parts.into_iter().flatten() {
            dhn1 = Some(match dhn1 {
                Some(sum) => (sum + part)?,
                None => part,
            });
        }
        let dx = match dhn1 {
            Some(d) => (dmid + fused::rms_norm_backward(&tape.x, &blk.input_norm, eps, &d)?)?,
            None => dmid,
        };
        Ok(Some(dx))
    }

    /// [`TrainModel::linear_backward`] where the input's gradient is needed.
    fn linear_dx(
        &self,
        l: usize,
        target: Target,
        input: &Tensor,
        masks: &[Option<Tensor>; 7],
        grad: &Tensor,
        grads: &mut AdapterGrads,
    ) -> Result<Tensor> {
        self.linear_backward(l, target, input, masks, grad, grads, true)?.ok_or_else(|| {
            Error::InvalidParameter {
                param: "backward",
                problem: format!("no input gradient for {}", target.name()),
            }
        })
    }

    /// The gradient of projection `target`'s input for the output's `grad`
    /// (when `need_dx`), adding the adapter's gradients to `grads`.
    #[allow(clippy::too_many_arguments)]
    fn linear_backward(
        &self,
        l: usize,
        target: Target,
        input: &Tensor,
        masks: &[Option<Tensor>; 7],
        grad: &Tensor,
        grads: &mut AdapterGrads,
        need_dx: bool,
    ) -> Result<Option<Tensor>> {
        let mask = &masks[target as usize];
        let w = &self.blocks[l].proj[target as usize];
        let Some(pair) = self.adapters.get(l, target) else {
            return Ok(if need_dx { Some(grad.matmul(w)?) } else { None });
        };
        let op =
            LoraLinear { w: w.clone(), scale: self.adapters.config().scale(), mask: mask.clone() };
        let (a, b) = (pair.a.as_tensor(), pair.b.as_tensor());
        let (dx, da, db) = op.backward(input, a, b, grad, need_dx)?;
        grads.add(a, da)?;
        grads.add(b, db)?;
        Ok(dx)
    }
}
