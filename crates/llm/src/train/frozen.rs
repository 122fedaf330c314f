//! `x W^T` for a frozen weight W whose backward pass yields the gradient of
//! `x` only. candle's matmul always computes the gradient of both operands,
//! so through plain matmuls every step would also build a full-size gradient
//! for each frozen projection (as much memory again as the model) and spend a
//! matmul per projection on it; LoRA needs none of them.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Storage, Tensor};

/// The custom op: forward `x W^T`, backward `grad W`.
pub(crate) struct FrozenLinear {
    /// `[out, in]`.
    pub(crate) w: Tensor,
}

impl CustomOp1 for FrozenLinear {
    fn name(&self) -> &'static str {
        "frozen-linear"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            return Err(candle_core::Error::Msg("frozen-linear needs a contiguous input".into()));
        };
        let device = candle_core::Device::Cpu;
        let x = match storage {
            CpuStorage::F32(v) => Tensor::from_slice(&v[start..end], layout.shape(), &device)?,
            CpuStorage::F64(v) => Tensor::from_slice(&v[start..end], layout.shape(), &device)?,
            _ => return Err(candle_core::Error::Msg("frozen-linear runs in f32 or f64".into())),
        };
        let y = x.matmul(&self.w.t()?)?;
        let shape = y.shape().clone();
        let (s, l) = y.storage_and_layout();
        let out = match (&*s, l.contiguous_offsets()) {
            (Storage::Cpu(c), Some((0, n))) if n == shape.elem_count() => c.clone(),
            _ => {
                return Err(candle_core::Error::Msg(
                    "frozen-linear: unexpected output layout".into(),
                ))
            }
        };
        Ok((out, shape))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad.matmul(&self.w)?))
    }
}
