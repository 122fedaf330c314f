//! One token's projections: `x · Wᵀ` for a single row `x`, split across
//! threads by rows of `W`.
//!
//! Decoding one token multiplies a 1 × n row by every weight matrix. gemm
//! (behind candle's `matmul`) runs such a product on one thread, so decode
//! used one of the cores while reading all the weights per token. Here each
//! thread takes a share of `W`'s rows, a dot product each.

use candle_core::{DType, Device, Storage, Tensor};
use rayon::prelude::*;

use crate::error::Result;

/// Output rows per task: enough to amortize the hand-off, small enough to
/// share out a 576-row projection.
const ROWS_PER_TASK: usize = 64;

/// `x.matmul(w.t())` for `x` of shape `[rows, n]` and `w` of `[m, n]`: by
/// row-parallel dot products when `x` is one f32 row on the CPU and both are
/// contiguous, by candle's `matmul` otherwise.
pub(super) fn project(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    if let Some(y) = one_row(x, w)? {
        return Ok(y);
    }
    Ok(x.matmul(&w.t()?)?)
}

fn one_row(x: &Tensor, w: &Tensor) -> Result<Option<Tensor>> {
    let (Ok((1, n)), Ok((m, wn))) = (x.dims2(), w.dims2()) else { return Ok(None) };
    let cpu = matches!(x.device(), Device::Cpu) && matches!(w.device(), Device::Cpu);
    if n != wn || !cpu || x.dtype() != DType::F32 || w.dtype() != DType::F32 {
        return Ok(None);
    }
    let x = x.contiguous()?;
    let (xs, xl) = x.storage_and_layout();
    let (ws, wl) = w.storage_and_layout();
    let (Storage::Cpu(xs), Storage::Cpu(ws)) = (&*xs, &*ws) else { return Ok(None) };
    if !wl.is_contiguous() {
        return Ok(None);
    }
    let row = &xs.as_slice::<f32>()?[xl.start_offset()..][..n];
    let weights = &ws.as_slice::<f32>()?[wl.start_offset()..][..m * n];
    let mut out = vec![0f32; m];
    out.par_chunks_mut(ROWS_PER_TASK).enumerate().for_each(|(task, chunk)| {
        let first = task * ROWS_PER_TASK;
        for (j, o) in chunk.iter_mut().enumerate() {
            *o = dot(row, &weights[(first + j) * n..][..n]);
        }
    });
    Ok(Some(Tensor::from_vec(out, (1, m), &Device::Cpu)?))
}

/// Sixteen running sums, so the compiler keeps several vector registers
/// busy instead of one dependent chain.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (xa, xb) in ca.zip(cb) {
        for i in 0..16 {
            sums[i] += xa[i] * xb[i];
        }
    }
    sums.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_equals_matmul_and_other_shapes_take_matmul() -> Result<()> {
        let dev = Device::Cpu;
        // 150 rows: two full tasks and a short one; 37 columns: a tail past 16.
        let w = Tensor::randn(0f32, 1.0, (150, 37), &dev)?;
        let x = Tensor::randn(0f32, 1.0, (1, 37), &dev)?;
        let fast = project(&x, &w)?;
        let slow = x.matmul(&w.t()?)?;
        assert_eq!(fast.dims(), slow.dims());
        let worst = (fast - &slow)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
        assert!(worst < 1e-4, "largest difference {worst}");
        let x3 = Tensor::randn(0f32, 1.0, (3, 37), &dev)?;
        let many = project(&x3, &w)?;
        let same =
            (many - x3.matmul(&w.t()?)?)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
        assert_eq!(same, 0.0, "several rows go through matmul itself");
        // A transposed (non-contiguous) weight takes matmul too.
        let wt = Tensor::randn(0f32, 1.0, (37, 150), &dev)?.t()?;
        let t = (project(&x, &wt)? - x.matmul(&wt.t()?)?)?.abs()?.flatten_all()?.max(0)?;
        assert_eq!(t.to_scalar::<f32>()?, 0.0);
        Ok(())
    }
}
