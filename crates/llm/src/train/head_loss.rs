//! The language-model head and the masked cross-entropy as one op: the loss
//! and the gradient of the head's input come out of the same pass over the
//! logits, a few rows at a time, for the rows that carry a label only. It
//! records no backward pass: the trainer's hand-written one takes the
//! gradient with [`HeadLoss::take_grad`].
//!
//! Built from candle's ops, the head's logits (`[batch·seq, vocab]`, 100 MB
//! for 4 × 128 tokens of a 49k vocabulary) went through some fifteen
//! full-size tensors between the forward and the backward pass, each freshly
//! allocated and walked on one thread: more time than the model's own
//! matmuls. Here the logits of a chunk of rows live once, are turned into
//! softmax − one-hot in place (an [`InplaceOp1`] on gemm's own output)
//! across threads, and are multiplied back by the
//! head's weight; rows without a label (prompt tokens, padding) are never
//! projected at all.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp1, Device, InplaceOp1, Layout, Shape, Tensor};

use super::fused::Float;
use rayon::prelude::*;

/// Labelled rows whose logits are held at once: 128 × 49k f32 is 25 MB.
const ROWS_PER_CHUNK: usize = 128;

/// Mean over labelled rows of `−log softmax(x Wᵀ)[label]`.
pub(crate) struct HeadLoss {
    /// The head's weight, `[vocab, hidden]`.
    pub(crate) w: Tensor,
    /// One label per row of the input; negative where no loss is taken.
    pub(crate) labels: Vec<i64>,
    /// Where the forward pass leaves the input's gradient (of the loss
    /// itself), for [`HeadLoss::take_grad`]; `None` when none is wanted.
    pub(crate) grad: Option<Mutex<Option<Tensor>>>,
}

impl HeadLoss {
    /// The op for `labels`; `want_grad` false skips the gradient (evaluation).
    pub(crate) fn new(w: Tensor, labels: &[i64], want_grad: bool) -> HeadLoss {
        HeadLoss { w, labels: labels.to_vec(), grad: want_grad.then(|| Mutex::new(None)) }
    }

    /// The gradient of the input that the forward pass left, taken out.
    pub(crate) fn take_grad(&self) -> candle_core::Result<Tensor> {
        let slot = self
            .grad
            .as_ref()
            .ok_or_else(|| candle_core::Error::Msg("head-loss ran without its gradient".into()))?;
        slot.lock()
            .map_err(|_| poisoned())?
            .take()
            .ok_or_else(|| candle_core::Error::Msg("head-loss: no forward pass yet".into()))
    }

    /// Positions that carry a label.
    pub(crate) fn count(&self) -> usize {
        self.labels.iter().filter(|&&l| l >= 0).count()
    }

    fn run<T: Float>(&self, x: &Tensor) -> candle_core::Result<T> {
        let (n, hidden) = x.dims2()?;
        let vocab = self.w.dim(0)?;
        if self.labels.len() != n {
            return Err(candle_core::Error::Msg(format!(
                "head-loss: {} labels for {n} rows",
                self.labels.len()
            )));
        }
        if let Some(&bad) = self.labels.iter().find(|&&l| l >= vocab as i64) {
            return Err(candle_core::Error::Msg(format!(
                "head-loss: label {bad} is outside the vocabulary of {vocab}"
            )));
        }
        let rows: Vec<u32> = (0..n as u32).filter(|&r| self.labels[r as usize] >= 0).collect();
        let inv = 1.0 / rows.len().max(1) as f64;
        let (mut total, mut parts) = (0.0, Vec::new());
        for chunk in rows.chunks(ROWS_PER_CHUNK) {
            let index = Tensor::from_slice(chunk, chunk.len(), x.device())?;
            let logits = x.index_select(&index, 0)?.matmul(&self.w.t()?)?;
            let labels = chunk.iter().map(|&r| self.labels[r as usize] as usize).collect();
            let rows = SoftmaxMinusOneHot { labels, scale: inv, loss: Mutex::new(0.0) };
            logits.inplace_op1(&rows)?;
            total += *rows.loss.lock().map_err(|_| poisoned())?;
            if self.grad.is_some() {
                parts.push((index, logits.matmul(&self.w)?));
            }
        }
        if let Some(slot) = &self.grad {
            let mut dx = Tensor::zeros((n, hidden), x.dtype(), x.device())?;
            for (index, part) in parts {
                dx = dx.index_add(&index, &part, 0)?;
            }
            *slot.lock().map_err(|_| poisoned())? = Some(dx);
        }
        Ok(T::from_f64(total * inv))
    }
}

fn poisoned() -> candle_core::Error {
    candle_core::Error::Msg("head-loss: a thread panicked holding its state".into())
}

/// Rewrites a chunk of logits `[rows, vocab]` in place (no copy of the
/// chunk) into the loss's gradient, adding the rows' losses to `loss`.
struct SoftmaxMinusOneHot {
    labels: Vec<usize>,
    scale: f64,
    loss: Mutex<f64>,
}

impl SoftmaxMinusOneHot {
    fn rows<T: Float>(&self, data: &mut [T]) -> candle_core::Result<()> {
        let vocab = data.len() / self.labels.len().max(1);
        let total: f64 = data
            .par_chunks_mut(vocab)
            .zip(self.labels.par_iter())
            .map(|(row, &label)| softmax_minus_one_hot(row, label, self.scale))
            .sum();
        *self.loss.lock().map_err(|_| poisoned())? += total;
        Ok(())
    }
}

impl InplaceOp1 for SoftmaxMinusOneHot {
    fn name(&self) -> &'static str {
        "softmax-minus-one-hot"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            return Err(candle_core::Error::Msg("head-loss: logits are not contiguous".into()));
        };
        match storage {
            CpuStorage::F32(v) => self.rows(&mut v[start..end]),
            CpuStorage::F64(v) => self.rows(&mut v[start..end]),
            _ => Err(candle_core::Error::Msg("head-loss runs in f32 or f64".into())),
        }
    }
}

/// Turns a row of logits into `(softmax − one-hot(label)) · scale` in place
/// and returns the row's loss, `log Σ exp − logit[label]`. Sums run in f64,
/// exponentials in the row's own precision.
fn softmax_minus_one_hot<T: Float>(row: &mut [T], label: usize, scale: f64) -> f64 {
    let max = row.iter().fold(T::from_f64(f64::NEG_INFINITY), |m, &v| if v > m { v } else { m });
    let picked = row[label].to_f64();
    let mut sum = 0.0;
    for v in row.iter_mut() {
        let e = (*v - max).exp();
        sum += e.to_f64();
        *v = e;
    }
    let norm = T::from_f64(scale / sum);
    for v in row.iter_mut() {
        *v *= norm;
    }
    row[label] -= T::from_f64(scale);
    sum.ln() + max.to_f64() - picked
}

impl CustomOp1 for HeadLoss {
    fn name(&self) -> &'static str {
        "head-loss"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            return Err(candle_core::Error::Msg("head-loss needs a contiguous input".into()));
        };
        let device = Device::Cpu;
        let out = match storage {
            CpuStorage::F32(v) => {
                let x = Tensor::from_slice(&v[start..end], layout.shape(), &device)?;
                CpuStorage::F32(vec![self.run::<f32>(&x)?])
            }
            CpuStorage::F64(v) => {
                let x = Tensor::from_slice(&v[start..end], layout.shape(), &device)?;
                CpuStorage::F64(vec![self.run::<f64>(&x)?])
            }
            _ => return Err(candle_core::Error::Msg("head-loss runs in f32 or f64".into())),
        };
        Ok((out, Shape::from(())))
    }
}
