//! The decoder block's elementwise steps as single ops with hand-written
//! backward passes: RMSNorm, the move of projections into attention heads
//! and back (with RoPE on the way), the causal softmax of attention and
//! SwiGLU's `silu(g)·u`.
//!
//! Composed from candle's basic ops, each of them kept every intermediate
//! tensor alive for the backward pass (eight `[tokens, 1536]` tensors for
//! `silu(g)·u` alone, six score-sized ones for the softmax) and walked the
//! memory once per op; that was most of a LoRA step's memory and a large
//! share of its time. Fused, an op keeps only its output (and its inputs,
//! which the graph holds anyway), and its backward pass is one loop over the
//! rows. candle's own fused `rms_norm`, `softmax_last_dim` and `rope` record
//! no backward pass at all, hence these.
//!
//! Every op runs in f32 (training) and f64 (gradient checks), rows split
//! across rayon's threads; `tests` hold each to the composition it replaces,
//! value and gradient.

use candle_core::backend::BackendStorage;
use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Shape, Tensor, WithDType,
};
use rayon::prelude::*;

type CResult<T> = candle_core::Result<T>;

/// What the loops need beyond candle's [`WithDType`]: f32 and f64.
pub(crate) trait Float: WithDType + std::ops::Neg<Output = Self> {
    /// `e^self`.
    fn exp(self) -> Self;
}

impl Float for f32 {
    fn exp(self) -> f32 {
        f32::exp(self)
    }
}

impl Float for f64 {
    fn exp(self) -> f64 {
        f64::exp(self)
    }
}

fn err(op: &str, problem: &str) -> candle_core::Error {
    candle_core::Error::Msg(format!("{op}: {problem}"))
}

/// The contiguous values of `storage` under `layout`.
fn values<'a, T: WithDType>(
    op: &str,
    storage: &'a CpuStorage,
    layout: &Layout,
) -> CResult<&'a [T]> {
    let (start, end) =
        layout.contiguous_offsets().ok_or_else(|| err(op, "needs a contiguous input"))?;
    Ok(&storage.as_slice::<T>()?[start..end])
}

/// Runs `f` in f32 or f64, the dtypes training uses.
macro_rules! by_dtype {
    ($op:expr, $dtype:expr, $f:ident ( $($arg:expr),* )) => {
        match $dtype {
            DType::F32 => $f::<f32>($($arg),*),
            DType::F64 => $f::<f64>($($arg),*),
            other => Err(err($op, &format!("runs in f32 or f64, not {other:?}"))),
        }
    };
}

/// A contiguous copy of `t` (a no-op when it already is).
fn dense(t: &Tensor) -> CResult<Tensor> {
    t.contiguous()
}

// ---------------------------------------------------------------- SiLU · u

/// `silu(g) · u = g·σ(g)·u`, SwiGLU's gate.
pub(crate) fn silu_mul(g: &Tensor, u: &Tensor) -> CResult<Tensor> {
    dense(g)?.apply_op2(&dense(u)?, SiluMul)
}

struct SiluMul;

fn silu_mul_fwd<T: Float>(g: &[T], u: &[T]) -> CResult<CpuStorage> {
    let mut out = vec![T::zero(); g.len()];
    out.par_chunks_mut(4096).zip(g.par_chunks(4096)).zip(u.par_chunks(4096)).for_each(
        |((o, g), u)| {
            for ((o, &g), &u) in o.iter_mut().zip(g).zip(u) {
                *o = g / (T::one() + (-g).exp()) * u;
            }
        },
    );
    Ok(T::to_cpu_storage_owned(out))
}

impl CustomOp2 for SiluMul {
    fn name(&self) -> &'static str {
        "silu-mul"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        if l1.shape() != l2.shape() {
            return Err(err("silu-mul", "gate and up differ in shape"));
        }
        let out = by_dtype!(
            "silu-mul",
            s1.dtype(),
            silu_mul_fwd(values(self.name(), s1, l1)?, values(self.name(), s2, l2)?)
        )?;
        Ok((out, l1.shape().clone()))
    }

    fn bwd(
        &self,
        g: &Tensor,
        u: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CResult<(Option<Tensor>, Option<Tensor>)> {
        let (dg, du) = silu_mul_backward(g, u, grad)?;
        Ok((Some(dg), Some(du)))
    }
}

/// The gradients of [`silu_mul`]'s inputs `g` and `u` for the output's `dy`.
pub(crate) fn silu_mul_backward(g: &Tensor, u: &Tensor, dy: &Tensor) -> CResult<(Tensor, Tensor)> {
    // One op yields both gradients, stacked, then split.
    let n = g.elem_count();
    let both = dense(g)?.apply_op3_no_bwd(&dense(u)?, &dense(dy)?, &SiluMulGrad)?;
    Ok((both.narrow(0, 0, n)?.reshape(g.shape())?, both.narrow(0, n, n)?.reshape(u.shape())?))
}

/// `g`, `u`, `dy` → `[dg; du]` (flat): `dg = dy·u·σ(g)·(1 + g·(1 − σ(g)))`, `du = dy·g·σ(g)`.
struct SiluMulGrad;

fn silu_mul_grad<T: Float>(g: &[T], u: &[T], dy: &[T]) -> CResult<CpuStorage> {
    let n = dy.len();
    let mut out = vec![T::zero(); 2 * n];
    let (dg, du) = out.split_at_mut(n);
    dg.par_chunks_mut(4096)
        .zip(du.par_chunks_mut(4096))
        .zip(g.par_chunks(4096).zip(u.par_chunks(4096)).zip(dy.par_chunks(4096)))
        .for_each(|((dg, du), ((g, u), dy))| {
            for i in 0..dg.len() {
                let s = T::one() / (T::one() + (-g[i]).exp());
                dg[i] = dy[i] * u[i] * s * (T::one() + g[i] * (T::one() - s));
                du[i] = dy[i] * g[i] * s;
            }
        });
    Ok(T::to_cpu_storage_owned(out))
}

impl CustomOp3 for SiluMulGrad {
    fn name(&self) -> &'static str {
        "silu-mul-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        let out = by_dtype!(
            self.name(),
            s1.dtype(),
            silu_mul_grad(
                values(self.name(), s1, l1)?,
                values(self.name(), s2, l2)?,
                values(self.name(), s3, l3)?
            )
        )?;
        Ok((out, Shape::from(2 * l1.shape().elem_count())))
    }
}

// ---------------------------------------------------------------- RMSNorm

/// `x / √(mean(x²) + ε) · w` over the last dimension; `w` is frozen (no gradient).
pub(crate) fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> CResult<Tensor> {
    let w = w.to_dtype(x.dtype())?.flatten_all()?;
    dense(x)?.apply_op1(RmsNorm { w, eps })
}

struct RmsNorm {
    w: Tensor,
    eps: f64,
}

fn rms_norm_fwd<T: Float>(x: &[T], w: &Tensor, eps: f64) -> CResult<CpuStorage> {
    let w = w.to_vec1::<T>()?;
    let n = w.len();
    let mut out = vec![T::zero(); x.len()];
    out.par_chunks_mut(n).zip(x.par_chunks(n)).for_each(|(y, x)| {
        let r = rstd(x, eps);
        for ((y, &x), &w) in y.iter_mut().zip(x).zip(&w) {
            *y = x * r * w;
        }
    });
    Ok(T::to_cpu_storage_owned(out))
}

/// `1 / √(mean(x²) + ε)`, summed in f64.
fn rstd<T: Float>(x: &[T], eps: f64) -> T {
    let ms = x.iter().map(|v| v.to_f64() * v.to_f64()).sum::<f64>() / x.len() as f64;
    T::from_f64(1.0 / (ms + eps).sqrt())
}

impl CustomOp1 for RmsNorm {
    fn name(&self) -> &'static str {
        "rms-norm"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CResult<(CpuStorage, Shape)> {
        if l.dims().last() != Some(&self.w.elem_count()) {
            return Err(err(self.name(), "the weight does not match the last dimension"));
        }
        let out = by_dtype!(
            self.name(),
            s.dtype(),
            rms_norm_fwd(values(self.name(), s, l)?, &self.w, self.eps)
        )?;
        Ok((out, l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
        let grad_op = RmsNormGrad { w: self.w.clone(), eps: self.eps };
        Ok(Some(dense(x)?.apply_op2_no_bwd(&dense(grad)?, &grad_op)?))
    }
}

/// The gradient of [`rms_norm`]'s input `x` for the output's `dy`.
pub(crate) fn rms_norm_backward(x: &Tensor, w: &Tensor, eps: f64, dy: &Tensor) -> CResult<Tensor> {
    let w = w.to_dtype(x.dtype())?.flatten_all()?;
    dense(x)?.apply_op2_no_bwd(&dense(dy)?, &RmsNormGrad { w, eps })
}

/// `x`, `dy` → `dx = r·(g − x̂·mean(g·x̂))` with `g = dy·w`, `x̂ = x·r`, `r` the row's rstd.
struct RmsNormGrad {
    w: Tensor,
    eps: f64,
}

fn rms_norm_grad<T: Float>(x: &[T], dy: &[T], w: &Tensor, eps: f64) -> CResult<CpuStorage> {
    let w = w.to_vec1::<T>()?;
    let n = w.len();
    let mut out = vec![T::zero(); x.len()];
    out.par_chunks_mut(n).zip(x.par_chunks(n)).zip(dy.par_chunks(n)).for_each(|((dx, x), dy)| {
        let r = rstd(x, eps).to_f64();
        let dot: f64 =
            x.iter().zip(dy).zip(&w).map(|((x, dy), w)| (*dy * *w).to_f64() * x.to_f64() * r).sum();
        let mean = dot / n as f64;
        for i in 0..n {
            let g = (dy[i] * w[i]).to_f64();
            dx[i] = T::from_f64(r * (g - x[i].to_f64() * r * mean));
        }
    });
    Ok(T::to_cpu_storage_owned(out))
}

impl CustomOp2 for RmsNormGrad {
    fn name(&self) -> &'static str {
        "rms-norm-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        let out = by_dtype!(
            self.name(),
            s1.dtype(),
            rms_norm_grad(
                values(self.name(), s1, l1)?,
                values(self.name(), s2, l2)?,
                &self.w,
                self.eps
            )
        )?;
        Ok((out, l1.shape().clone()))
    }
}

// ---------------------------------------------------------------- heads and RoPE

/// Where a tensor's rows are: `[b·t, n·hd]` as projections write them
/// (tokens), or `[b, n, t, hd]` as attention reads them (heads).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Tokens,
    Heads,
}

/// Rotate-half RoPE tables `[t, hd]` (each half repeated) and the direction.
#[derive(Clone)]
struct Rotation {
    cos: Tensor,
    sin: Tensor,
    inverse: bool,
}

/// A projection's output `[b·t, n·hd]` as heads `[b, n, t, hd]`, each
/// head's vector rotated by RoPE when `cos`/`sin` (`[t, hd]`) are given.
/// The result may be viewed as `[b, groups, (n / groups)·t, hd]` (grouped
/// queries); `groups` sets that shape.
pub(crate) fn to_heads(
    x: &Tensor,
    (b, t, n, hd): (usize, usize, usize, usize),
    groups: usize,
    rope: Option<(&Tensor, &Tensor)>,
) -> CResult<Tensor> {
    let rotation = match rope {
        Some((cos, sin)) => Some(Rotation {
            cos: cos.to_dtype(x.dtype())?.contiguous()?,
            sin: sin.to_dtype(x.dtype())?.contiguous()?,
            inverse: false,
        }),
        None => None,
    };
    let out = Shape::from((b, groups, n / groups.max(1) * t, hd));
    dense(x)?.apply_op1(Heads { dims: (b, t, n, hd), from: Side::Tokens, rotation, out })
}

/// Attention's output `[b, n, t, hd]` (or any shape of the same layout) as
/// token rows `[b·t, n·hd]` for the output projection.
pub(crate) fn from_heads(
    y: &Tensor,
    (b, t, n, hd): (usize, usize, usize, usize),
) -> CResult<Tensor> {
    let out = Shape::from((b * t, n * hd));
    dense(y)?.apply_op1(Heads { dims: (b, t, n, hd), from: Side::Heads, rotation: None, out })
}

/// Moves rows between the two sides (rotating on the way); the backward
/// pass moves the gradient back, rotated the other way.
struct Heads {
    dims: (usize, usize, usize, usize),
    from: Side,
    rotation: Option<Rotation>,
    out: Shape,
}

fn heads_fwd<T: Float>(x: &[T], op: &Heads) -> CResult<CpuStorage> {
    let (b, t, n, hd) = op.dims;
    let tables = match &op.rotation {
        Some(r) => {
            let (cos, sin) =
                (r.cos.flatten_all()?.to_vec1::<T>()?, r.sin.flatten_all()?.to_vec1::<T>()?);
            if cos.len() != t * hd || sin.len() != t * hd {
                return Err(err("heads", "the RoPE tables do not match the sequence"));
            }
            Some((cos, sin, r.inverse))
        }
        None => None,
    };
    let half = hd / 2;
    // One head vector of position p, moved (and rotated) from `src` to `dst`.
    let place = |dst: &mut [T], src: &[T], p: usize| match &tables {
        None => dst.copy_from_slice(src),
        Some((cos, sin, inverse)) => {
            let (c, s) = (&cos[p * hd..][..hd], &sin[p * hd..][..hd]);
            for i in 0..half {
                let (x1, x2) = (src[i], src[i + half]);
                let (s1, s2) = if *inverse { (-s[i], -s[i + half]) } else { (s[i], s[i + half]) };
                dst[i] = x1 * c[i] - x2 * s1;
                dst[i + half] = x2 * c[i + half] + x1 * s2;
            }
        }
    };
    let mut out = vec![T::zero(); b * t * n * hd];
    match op.from {
        // Output rows of one (sequence, head): t vectors read across tokens.
        Side::Tokens => out.par_chunks_mut(t * hd).enumerate().for_each(|(bh, dst)| {
            let (bi, h) = (bh / n, bh % n);
            for p in 0..t {
                place(&mut dst[p * hd..][..hd], &x[((bi * t + p) * n + h) * hd..][..hd], p);
            }
        }),
        // Output rows of one token: n vectors read across heads.
        Side::Heads => out.par_chunks_mut(n * hd).enumerate().for_each(|(bp, dst)| {
            let (bi, p) = (bp / t, bp % t);
            for h in 0..n {
                place(&mut dst[h * hd..][..hd], &x[((bi * n + h) * t + p) * hd..][..hd], p);
            }
        }),
    }
    Ok(T::to_cpu_storage_owned(out))
}

impl CustomOp1 for Heads {
    fn name(&self) -> &'static str {
        "heads"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CResult<(CpuStorage, Shape)> {
        let (b, t, n, hd) = self.dims;
        if l.shape().elem_count() != b * t * n * hd || self.out.elem_count() != b * t * n * hd {
            return Err(err(self.name(), "the shapes do not hold b·t·n·hd values"));
        }
        let out = by_dtype!(self.name(), s.dtype(), heads_fwd(values(self.name(), s, l)?, self))?;
        Ok((out, self.out.clone()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
        let back = Heads {
            dims: self.dims,
            from: if self.from == Side::Tokens { Side::Heads } else { Side::Tokens },
            rotation: self.rotation.clone().map(|r| Rotation { inverse: !r.inverse, ..r }),
            out: x.shape().clone(),
        };
        Ok(Some(dense(grad)?.apply_op1_no_bwd(&back)?))
    }
}

/// The gradient of [`to_heads`]'s input (`[b·t, n·hd]`) for the output's `dy`.
pub(crate) fn to_heads_backward(
    dy: &Tensor,
    dims: (usize, usize, usize, usize),
    rope: Option<(&Tensor, &Tensor)>,
) -> CResult<Tensor> {
    let rotation = match rope {
        Some((cos, sin)) => Some(Rotation {
            cos: cos.to_dtype(dy.dtype())?.contiguous()?,
            sin: sin.to_dtype(dy.dtype())?.contiguous()?,
            inverse: true,
        }),
        None => None,
    };
    let out = Shape::from((dims.0 * dims.1, dims.2 * dims.3));
    dense(dy)?.apply_op1_no_bwd(&Heads { dims, from: Side::Heads, rotation, out })
}

/// The gradient of [`from_heads`]'s input, shaped `[b, groups, (n / groups)·t, hd]`.
pub(crate) fn from_heads_backward(
    dy: &Tensor,
    (b, t, n, hd): (usize, usize, usize, usize),
    groups: usize,
) -> CResult<Tensor> {
    let out = Shape::from((b, groups, n / groups.max(1) * t, hd));
    dense(dy)?.apply_op1_no_bwd(&Heads {
        dims: (b, t, n, hd),
        from: Side::Tokens,
        rotation: None,
        out,
    })
}

// ---------------------------------------------------------------- causal softmax

/// `softmax(scale · s + causal mask)` over the last dimension of attention
/// scores `[.., rows, t]` whose row `r` is the query at position `r mod t`
/// (`[b, heads, t, t]`, or `[b, kv_heads, rep·t, t]` for grouped queries):
/// the key `j` is hidden from the query `i` when `j > i`.
pub(crate) fn causal_softmax(scores: &Tensor, scale: f64) -> CResult<Tensor> {
    dense(scores)?.apply_op1(CausalSoftmax { scale })
}

struct CausalSoftmax {
    scale: f64,
}

fn causal_softmax_fwd<T: Float>(s: &[T], t: usize, scale: f64) -> CResult<CpuStorage> {
    let mut out = vec![T::zero(); s.len()];
    out.par_chunks_mut(t).zip(s.par_chunks(t)).enumerate().for_each(|(row, (y, s))| {
        let seen = row % t + 1;
        let scale = T::from_f64(scale);
        let max = s[..seen].iter().fold(T::from_f64(f64::NEG_INFINITY), |m, &v| {
            let v = v * scale;
            if v > m {
                v
            } else {
                m
            }
        });
        let mut sum = 0.0;
        for (y, &v) in y[..seen].iter_mut().zip(&s[..seen]) {
            *y = (v * scale - max).exp();
            sum += y.to_f64();
        }
        let inv = T::from_f64(1.0 / sum);
        for y in &mut y[..seen] {
            *y *= inv;
        }
    });
    Ok(T::to_cpu_storage_owned(out))
}

impl CustomOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "causal-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CResult<(CpuStorage, Shape)> {
        let dims = l.dims();
        let t = dims.last().copied().unwrap_or(0);
        if dims.len() < 2 || t == 0 || !dims[dims.len() - 2].is_multiple_of(t) {
            return Err(err(self.name(), "needs rows in whole sequences of keys"));
        }
        let out = by_dtype!(
            self.name(),
            s.dtype(),
            causal_softmax_fwd(values(self.name(), s, l)?, t, self.scale)
        )?;
        Ok((out, l.shape().clone()))
    }

    fn bwd(&self, _s: &Tensor, y: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
        Ok(Some(causal_softmax_backward(y, grad, self.scale)?))
    }
}

/// The gradient of [`causal_softmax`]'s scores from its output `y` and `dy`.
pub(crate) fn causal_softmax_backward(y: &Tensor, dy: &Tensor, scale: f64) -> CResult<Tensor> {
    dense(y)?.apply_op2_no_bwd(&dense(dy)?, &SoftmaxGrad { scale })
}

/// `y`, `dy` → `ds = scale · y·(dy − Σ dy·y)` per row (masked entries have `y = 0`).
struct SoftmaxGrad {
    scale: f64,
}

fn softmax_grad<T: Float>(y: &[T], dy: &[T], t: usize, scale: f64) -> CResult<CpuStorage> {
    let mut out = vec![T::zero(); y.len()];
    out.par_chunks_mut(t).zip(y.par_chunks(t).zip(dy.par_chunks(t))).for_each(|(ds, (y, dy))| {
        let dot: f64 = y.iter().zip(dy).map(|(y, dy)| (*y * *dy).to_f64()).sum();
        let dot = T::from_f64(dot);
        let scale = T::from_f64(scale);
        for i in 0..t {
            ds[i] = scale * y[i] * (dy[i] - dot);
        }
    });
    Ok(T::to_cpu_storage_owned(out))
}

impl CustomOp2 for SoftmaxGrad {
    fn name(&self) -> &'static str {
        "causal-softmax-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        let t = l1.dims().last().copied().unwrap_or(1);
        let out = by_dtype!(
            self.name(),
            s1.dtype(),
            softmax_grad(values(self.name(), s1, l1)?, values(self.name(), s2, l2)?, t, self.scale)
        )?;
        Ok((out, l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor, Var, D};

    use super::*;

    /// The fused op and its composition from candle's basic ops agree on
    /// the value and on the gradient of `Σ y·c` for random `c`, in f64.
    fn agree(
        shape: &[usize],
        fused: impl Fn(&Tensor) -> CResult<Tensor>,
        composed: impl Fn(&Tensor) -> CResult<Tensor>,
    ) {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::randn(0f64, 1.0, shape, &dev).unwrap()).unwrap();
        let (yf, yc) = (fused(x.as_tensor()).unwrap(), composed(x.as_tensor()).unwrap());
        let c = Tensor::randn(0f64, 1.0, yc.shape(), &dev).unwrap();
        let worst = |a: &Tensor, b: &Tensor| -> f64 {
            (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap()
        };
        assert!(worst(&yf, &yc) < 1e-12, "values differ by {}", worst(&yf, &yc));
        let gf = (yf * &c).unwrap().sum_all().unwrap().backward().unwrap();
        let gc = (yc * &c).unwrap().sum_all().unwrap().backward().unwrap();
        let (gf, gc) = (gf.get(x.as_tensor()).unwrap(), gc.get(x.as_tensor()).unwrap());
        assert!(worst(gf, gc) < 1e-12, "gradients differ by {}", worst(gf, gc));
    }

    fn weight(n: usize) -> Tensor {
        Tensor::arange(0u32, n as u32, &Device::Cpu)
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap()
            .affine(0.1, 0.5)
            .unwrap()
    }

    #[test]
    fn rms_norm_matches_its_composition() {
        agree(
            &[5, 8],
            |x| rms_norm(x, &weight(8), 1e-5),
            |x| {
                let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
                x.broadcast_div(&(ms + 1e-5)?.sqrt()?)?.broadcast_mul(&weight(8))
            },
        );
    }

    fn tables() -> (Tensor, Tensor) {
        let angles = Tensor::randn(0f64, 1.0, (3, 2), &Device::Cpu).unwrap();
        let angles = Tensor::cat(&[&angles, &angles], 1).unwrap();
        (angles.cos().unwrap(), angles.sin().unwrap())
    }

    #[test]
    fn heads_match_reshape_transpose_and_rotate_half() {
        let (cos, sin) = tables();
        let rotate = |x: &Tensor| -> CResult<Tensor> {
            let x1 = x.narrow(D::Minus1, 0, 2)?;
            let x2 = x.narrow(D::Minus1, 2, 2)?;
            let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
            x.broadcast_mul(&cos)? + rotated.broadcast_mul(&sin)?
        };
        // [b·t, n·hd] = [2·3, 2·4], grouped as [2, 1, 2·3, 4].
        let dims = (2, 3, 2, 4);
        let split = |x: &Tensor| x.reshape((2, 3, 2, 4))?.transpose(1, 2)?.contiguous();
        agree(
            &[6, 8],
            |x| to_heads(x, dims, 1, Some((&cos, &sin))),
            |x| rotate(&split(x)?)?.reshape((2, 1, 6, 4)),
        );
        agree(&[6, 8], |x| to_heads(x, dims, 2, None), split);
        agree(&[2, 2, 3, 4], |y| from_heads(y, dims), |y| y.transpose(1, 2)?.reshape((6, 8)));
    }

    #[test]
    fn causal_softmax_matches_masked_softmax_for_square_and_grouped_rows() {
        fn composed(x: &Tensor) -> CResult<Tensor> {
            let t = x.dim(D::Minus1)?;
            let rows = x.dim(D::Minus2)?;
            let mask: Vec<f64> = (0..rows)
                .flat_map(|r| (0..t).map(move |j| if j > r % t { f64::NEG_INFINITY } else { 0.0 }))
                .collect();
            let x = x.affine(0.5, 0.0)?.broadcast_add(&Tensor::from_vec(
                mask,
                (rows, t),
                x.device(),
            )?)?;
            let max = x.max_keepdim(D::Minus1)?.detach();
            let e = x.broadcast_sub(&max)?.exp()?;
            e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
        }
        agree(&[2, 3, 4, 4], |x| causal_softmax(x, 0.5), composed);
        agree(&[2, 1, 8, 4], |x| causal_softmax(x, 0.5), composed);
    }

    #[test]
    fn silu_mul_matches_its_composition() {
        // u = 2x + 1 ties both inputs to x, so both gradients are checked.
        agree(
            &[4, 6],
            |x| silu_mul(x, &x.affine(2.0, 1.0)?),
            |x| {
                let sig = ((x.neg()?.exp()? + 1.0)?).recip()?;
                (x * sig)? * x.affine(2.0, 1.0)?
            },
        );
    }
}
