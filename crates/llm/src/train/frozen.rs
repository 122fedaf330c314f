//! Linear layers over frozen weights, each one op whose backward pass yields
//! only what LoRA needs: `x W^T` (the gradient of `x`), `r + x W^T` (a
//! residual added on the way out), and `x W^T + s·(x A^T) B^T` (the
//! gradients of `x`, `A` and `B`).
//!
//! candle's matmul always computes the gradient of both operands, so through
//! plain matmuls every step would also build a full-size gradient for each
//! frozen projection (as much memory again as the model) and spend a matmul
//! per projection on it. And each op of candle's graph costs its backward
//! pass a zeroed buffer and an addition per input: a LoRA projection built
//! from matmuls, a transpose, a scale and a sum was seven of them, here one.

use candle_core::backend::BackendStorage;
use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Storage, Tensor, WithDType,
};
use rayon::prelude::*;

type CResult<T> = candle_core::Result<T>;

fn err(problem: impl std::fmt::Display) -> candle_core::Error {
    candle_core::Error::Msg(format!("frozen-linear: {problem}"))
}

/// `x W^T` by the CPU backend's own matmul on the storages: no copy of the
/// input going in nor of the product coming out, as a round trip through a
/// `Tensor` would need (two activation-sized copies per projection).
fn product(x: &CpuStorage, layout: &Layout, w: &Tensor) -> CResult<(CpuStorage, Shape)> {
    let &[m, k] = layout.dims() else {
        return Err(err("needs a [rows, in] input"));
    };
    let wt = w.t()?;
    let n = wt.dim(1)?;
    if wt.dim(0)? != k {
        return Err(err(format!("input has {k} columns, the weight {}", wt.dim(0)?)));
    }
    let (ws, wl) = wt.storage_and_layout();
    let Storage::Cpu(ws) = &*ws else {
        return Err(err("the weight is not on the CPU"));
    };
    Ok((x.matmul(ws, (1, m, n, k), layout, wl)?, Shape::from((m, n))))
}

/// `dst += src`, elementwise, across threads.
fn add_into(dst: &mut CpuStorage, src: &CpuStorage, layout: &Layout) -> CResult<()> {
    fn add<T: WithDType>(dst: &mut [T], src: &[T]) {
        dst.par_chunks_mut(4096).zip(src.par_chunks(4096)).for_each(|(d, s)| {
            for (d, &s) in d.iter_mut().zip(s) {
                *d += s;
            }
        });
    }
    let (start, end) = layout.contiguous_offsets().ok_or_else(|| err("needs contiguous inputs"))?;
    match (dst, src) {
        (CpuStorage::F32(d), CpuStorage::F32(s)) if d.len() == end - start => {
            add(d, &s[start..end])
        }
        (CpuStorage::F64(d), CpuStorage::F64(s)) if d.len() == end - start => {
            add(d, &s[start..end])
        }
        _ => return Err(err("the addends differ in dtype or size")),
    }
    Ok(())
}

/// Forward `x W^T`, backward `grad W`.
pub(crate) struct FrozenLinear {
    /// `[out, in]`.
    pub(crate) w: Tensor,
}

impl CustomOp1 for FrozenLinear {
    fn name(&self) -> &'static str {
        "frozen-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> CResult<(CpuStorage, Shape)> {
        product(storage, layout, &self.w)
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
        Ok(Some(grad.matmul(&self.w)?))
    }
}

/// Forward `r + x W^T` for inputs `(x, r)`: a projection that writes into the
/// residual stream.
pub(crate) struct FrozenLinearAdd {
    /// `[out, in]`.
    pub(crate) w: Tensor,
}

impl CustomOp2 for FrozenLinearAdd {
    fn name(&self) -> &'static str {
        "frozen-linear-add"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        xl: &Layout,
        r: &CpuStorage,
        rl: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        let (mut out, shape) = product(x, xl, &self.w)?;
        if rl.shape() != &shape {
            return Err(err("the residual's shape differs from the product's"));
        }
        add_into(&mut out, r, rl)?;
        Ok((out, shape))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _r: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CResult<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some(grad.matmul(&self.w)?), Some(grad.clone())))
    }
}

/// Forward `x W^T + s·(m ⊙ x) A^T B^T` for inputs `(x, A, B)`, with `m` the
/// adapter's dropout mask (none: all ones).
pub(crate) struct LoraLinear {
    /// `[out, in]`, frozen.
    pub(crate) w: Tensor,
    /// `alpha / r`.
    pub(crate) scale: f64,
    /// Dropout on the adapter's input, already divided by the keep rate.
    pub(crate) mask: Option<Tensor>,
}

impl LoraLinear {
    /// The adapter's input: `x`, or `m ⊙ x` under dropout.
    fn adapter_input(&self, x: &Tensor) -> CResult<Tensor> {
        match &self.mask {
            Some(m) => x * m,
            None => Ok(x.clone()),
        }
    }

    /// The gradients of `x` (unless `need_dx` is false), `A` and `B` for the
    /// output's `grad`.
    pub(crate) fn backward(
        &self,
        x: &Tensor,
        a: &Tensor,
        b: &Tensor,
        grad: &Tensor,
        need_dx: bool,
    ) -> CResult<(Option<Tensor>, Tensor, Tensor)> {
        let (x, a, b) = (x.detach(), a.detach(), b.detach());
        let input = self.adapter_input(&x)?;
        let gb = (grad.matmul(&b)? * self.scale)?; // [rows, r]
        let dx = if need_dx {
            let through = gb.matmul(&a)?;
            let through = match &self.mask {
                Some(m) => (through * m)?,
                None => through,
            };
            Some((grad.matmul(&self.w)? + through)?)
        } else {
            None
        };
        let da = gb.t()?.matmul(&input)?;
        let db = grad.t()?.matmul(&(input.matmul(&a.t()?)? * self.scale)?)?;
        Ok((dx, da, db))
    }
}

impl CustomOp3 for LoraLinear {
    fn name(&self) -> &'static str {
        "lora-linear"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        xl: &Layout,
        a: &CpuStorage,
        al: &Layout,
        b: &CpuStorage,
        bl: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        let (mut out, shape) = product(x, xl, &self.w)?;
        // The rank-r side is small: plain tensors (one copy of x, under dropout).
        let dev = candle_core::Device::Cpu;
        let tensor = |s: &CpuStorage, l: &Layout| -> CResult<Tensor> {
            let (start, end) =
                l.contiguous_offsets().ok_or_else(|| err("needs contiguous inputs"))?;
            match s {
                CpuStorage::F32(v) => Tensor::from_slice(&v[start..end], l.shape(), &dev),
                CpuStorage::F64(v) => Tensor::from_slice(&v[start..end], l.shape(), &dev),
                _ => Err(err("runs in f32 or f64")),
            }
        };
        let (a, b) = (tensor(a, al)?, tensor(b, bl)?);
        let low = match &self.mask {
            Some(_) => self.adapter_input(&tensor(x, xl)?)?.matmul(&a.t()?)?,
            None => {
                let (low, _) = product(x, xl, &a)?;
                match low {
                    CpuStorage::F32(v) => Tensor::from_vec(v, (shape.dims()[0], a.dim(0)?), &dev)?,
                    CpuStorage::F64(v) => Tensor::from_vec(v, (shape.dims()[0], a.dim(0)?), &dev)?,
                    _ => return Err(err("runs in f32 or f64")),
                }
            }
        };
        let delta = (low * self.scale)?.matmul(&b.t()?)?;
        let (ds, dl) = delta.storage_and_layout();
        let Storage::Cpu(ds) = &*ds else { return Err(err("the update is not on the CPU")) };
        add_into(&mut out, ds, dl)?;
        Ok((out, shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        a: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CResult<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dx, da, db) = self.backward(x, a, b, grad, true)?;
        Ok((dx, Some(da), Some(db)))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor, Var};

    use super::*;

    fn worst(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap()
    }

    /// The fused ops against matmuls on Vars, value and gradients, in f64,
    /// with a dropout mask on the adapter and a residual on the frozen one.
    #[test]
    fn lora_and_residual_linears_match_plain_matmuls() {
        let dev = Device::Cpu;
        let var = |shape: (usize, usize)| {
            Var::from_tensor(&Tensor::randn(0f64, 1.0, shape, &dev).unwrap()).unwrap()
        };
        let (x, a, b, r) = (var((5, 6)), var((2, 6)), var((4, 2)), var((5, 4)));
        let w = Tensor::randn(0f64, 1.0, (4, 6), &dev).unwrap();
        let mask = Tensor::new(&[0f64, 2.0, 2.0, 0.0, 2.0, 2.0], &dev)
            .unwrap()
            .broadcast_as((5, 6))
            .unwrap()
            .contiguous()
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap();
        let c = Tensor::randn(0f64, 1.0, (5, 4), &dev).unwrap();
        let op = LoraLinear { w: w.clone(), scale: 1.5, mask: Some(mask.clone()) };
        let y = x.as_tensor().apply_op3(a.as_tensor(), b.as_tensor(), op).unwrap();
        let plain = (x.as_tensor().matmul(&w.t().unwrap()).unwrap()
            + ((x.as_tensor() * &mask).unwrap().matmul(&a.as_tensor().t().unwrap()).unwrap()
                * 1.5)
                .unwrap()
                .matmul(&b.as_tensor().t().unwrap())
                .unwrap())
        .unwrap();
        assert!(worst(&y, &plain) < 1e-12);
        let gf = (y * &c).unwrap().sum_all().unwrap().backward().unwrap();
        let gp = (plain * &c).unwrap().sum_all().unwrap().backward().unwrap();
        for v in [&x, &a, &b] {
            let (f, p) = (gf.get(v.as_tensor()).unwrap(), gp.get(v.as_tensor()).unwrap());
            assert!(worst(f, p) < 1e-12, "gradients differ by {}", worst(f, p));
        }
        let y = x.as_tensor().apply_op2(r.as_tensor(), FrozenLinearAdd { w: w.clone() }).unwrap();
        let plain = (r.as_tensor() + x.as_tensor().matmul(&w.t().unwrap()).unwrap()).unwrap();
        assert!(worst(&y, &plain) < 1e-12);
        let gf = (y * &c).unwrap().sum_all().unwrap().backward().unwrap();
        let gp = (plain * &c).unwrap().sum_all().unwrap().backward().unwrap();
        for v in [&x, &r] {
            let (f, p) = (gf.get(v.as_tensor()).unwrap(), gp.get(v.as_tensor()).unwrap());
            assert!(worst(f, p) < 1e-12, "gradients differ by {}", worst(f, p));
        }
    }
}
