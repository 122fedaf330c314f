//! AdamW with decoupled weight decay (Loshchilov & Hutter, as `torch.optim.AdamW`),
//! the warmup + cosine schedule of transformers' `get_cosine_schedule_with_warmup`,
//! and gradient clipping by global norm. Own code rather than candle-nn's
//! AdamW because checkpoints must save and restore the moments.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Tensor, Var};

use crate::error::{Error, Result};

/// AdamW's hyper-parameters (PyTorch's defaults but for the learning rate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWParams {
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Decoupled weight decay λ: each step multiplies a parameter by `1 − lr·λ`.
    pub weight_decay: f64,
}

impl Default for AdamWParams {
    fn default() -> Self {
        AdamWParams { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
    }
}

/// The optimizer's state for a fixed, ordered list of parameters.
pub struct AdamW {
    params: AdamWParams,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    steps: u64,
}

impl AdamW {
    /// Zero moments for `vars`.
    pub fn new(params: AdamWParams, vars: &[&Var]) -> Result<AdamW> {
        let zeros = |v: &&Var| v.as_tensor().zeros_like();
        Ok(AdamW {
            params,
            m: vars.iter().map(zeros).collect::<candle_core::Result<_>>()?,
            v: vars.iter().map(zeros).collect::<candle_core::Result<_>>()?,
            steps: 0,
        })
    }

    /// Optimizer steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One update of every parameter with its gradient, at learning rate `lr`.
    pub fn step(&mut self, vars: &[&Var], grads: &[Tensor], lr: f64) -> Result<()> {
        if vars.len() != self.m.len() || grads.len() != vars.len() {
            return Err(Error::InvalidParameter {
                param: "grads",
                problem: format!("{} gradients for {} parameters", grads.len(), self.m.len()),
            });
        }
        self.steps += 1;
        let p = self.params;
        let t = self.steps as i32;
        let c1 = 1.0 - p.beta1.powi(t);
        let c2 = 1.0 - p.beta2.powi(t);
        for (i, (var, g)) in vars.iter().zip(grads).enumerate() {
            let m = ((&self.m[i] * p.beta1)? + (g * (1.0 - p.beta1))?)?;
            let v = ((&self.v[i] * p.beta2)? + (g.sqr()? * (1.0 - p.beta2))?)?;
            let update = ((&m / c1)? / ((&v / c2)?.sqrt()? + p.eps)?)?;
            let decayed = (var.as_tensor() * (1.0 - lr * p.weight_decay))?;
            var.set(&(decayed - (update * lr)?)?)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }

    /// Writes the moments (`m.{name}`, `v.{name}`) and the step count to a safetensors file.
    pub fn save(&self, names: &[String], path: &Path) -> Result<()> {
        let mut t: HashMap<String, Tensor> = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            t.insert(format!("m.{n}"), self.m[i].clone());
            t.insert(format!("v.{n}"), self.v[i].clone());
        }
        t.insert("steps".into(), Tensor::new(&[self.steps as f32], &candle_core::Device::Cpu)?);
        candle_core::safetensors::save(&t, path)?;
        Ok(())
    }

    /// Reads what [`AdamW::save`] wrote, for the parameters named `names`.
    pub fn load(
        params: AdamWParams,
        names: &[String],
        vars: &[&Var],
        path: &Path,
    ) -> Result<AdamW> {
        let mut t =
            candle_core::safetensors::load(path, &candle_core::Device::Cpu).map_err(|e| {
                Error::Weight {
                    path: path.to_owned(),
                    name: "(file)".into(),
                    problem: e.to_string(),
                }
            })?;
        let mut take = |name: String, like: &Var| -> Result<Tensor> {
            let x = t.remove(&name).ok_or_else(|| Error::Weight {
                path: path.to_owned(),
                name: name.clone(),
                problem: "is missing".into(),
            })?;
            if x.dims() != like.dims() {
                return Err(Error::Weight {
                    path: path.to_owned(),
                    name,
                    problem: format!("has shape {:?}, expected {:?}", x.dims(), like.dims()),
                });
            }
            Ok(x.to_dtype(like.dtype())?)
        };
        let mut m = Vec::with_capacity(names.len());
        let mut v = Vec::with_capacity(names.len());
        for (n, var) in names.iter().zip(vars) {
            m.push(take(format!("m.{n}"), var)?);
            v.push(take(format!("v.{n}"), var)?);
        }
        let steps = t
            .remove("steps")
            .ok_or_else(|| Error::Weight {
                path: path.to_owned(),
                name: "steps".into(),
                problem: "is missing".into(),
            })?
            .to_vec1::<f32>()?
            .first()
            .copied()
            .unwrap_or(0.0) as u64;
        Ok(AdamW { params, m, v, steps })
    }
}

/// Linear warmup from 0, then cosine decay to 0 over the remaining steps:
/// the learning rate of optimizer step `step` (counted from 0).
pub fn cosine_with_warmup(base: f64, step: usize, warmup: usize, total: usize) -> f64 {
    if step < warmup {
        return base * step as f64 / warmup.max(1) as f64;
    }
    let progress = (step - warmup) as f64 / total.saturating_sub(warmup).max(1) as f64;
    base * 0.5 * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos())
}

/// Scales `grads` so their global L2 norm is at most `max_norm`; returns the
/// norm before clipping (as `torch.nn.utils.clip_grad_norm_`).
pub fn clip_grad_norm(grads: &mut [Tensor], max_norm: f64) -> Result<f64> {
    let mut sum = 0.0;
    for g in grads.iter() {
        sum += g.sqr()?.sum_all()?.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
    }
    let norm = sum.sqrt();
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        for g in grads.iter_mut() {
            *g = (&*g * coef)?;
        }
    }
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn schedule_warms_up_then_decays_to_zero() {
        assert_eq!(cosine_with_warmup(1.0, 0, 4, 20), 0.0);
        assert_eq!(cosine_with_warmup(1.0, 2, 4, 20), 0.5);
        assert_eq!(cosine_with_warmup(1.0, 4, 4, 20), 1.0);
        assert!((cosine_with_warmup(1.0, 12, 4, 20) - 0.5).abs() < 1e-12);
        assert!(cosine_with_warmup(1.0, 20, 4, 20).abs() < 1e-12);
    }

    /// Two steps of torch.optim.AdamW(lr=0.1, weight_decay=0.1) on p = [1, -2]
    /// with gradients [0.5, 0.25] then [-1, 2], computed by hand from its update rule.
    #[test]
    fn adamw_matches_torchs_update_rule() {
        let var = Var::new(&[1.0f64, -2.0], &Device::Cpu).unwrap();
        let p = AdamWParams { weight_decay: 0.1, ..AdamWParams::default() };
        let mut opt = AdamW::new(p, &[&var]).unwrap();
        let g1 = Tensor::new(&[0.5f64, 0.25], &Device::Cpu).unwrap();
        opt.step(&[&var], &[g1], 0.1).unwrap();
        // Step 1: m̂ = g, v̂ = g², so the update is sign(g)·(1 − tiny); decay 1 − 0.01.
        let x: Vec<f64> = var.as_tensor().to_vec1().unwrap();
        let expect = |p0: f64, g: f64| p0 * 0.99 - 0.1 * g / (g.abs() + 1e-8);
        assert!(
            (x[0] - expect(1.0, 0.5)).abs() < 1e-12 && (x[1] - expect(-2.0, 0.25)).abs() < 1e-12
        );
        let g2 = Tensor::new(&[-1.0f64, 2.0], &Device::Cpu).unwrap();
        opt.step(&[&var], &[g2], 0.1).unwrap();
        let y: Vec<f64> = var.as_tensor().to_vec1().unwrap();
        for (i, (ga, gb)) in [(0.5, -1.0), (0.25, 2.0)].into_iter().enumerate() {
            let m = 0.9 * 0.1 * ga + 0.1 * gb;
            let v = 0.999 * 0.001 * ga * ga + 0.001 * gb * gb;
            let (mh, vh) = (m / (1.0 - 0.81), v / (1.0 - 0.999f64.powi(2)));
            let want = x[i] * 0.99 - 0.1 * mh / (vh.sqrt() + 1e-8);
            assert!((y[i] - want).abs() < 1e-12, "{i}: {} vs {want}", y[i]);
        }
    }

    #[test]
    fn clipping_scales_to_the_global_norm() {
        let mut g = vec![
            Tensor::new(&[3.0f64], &Device::Cpu).unwrap(),
            Tensor::new(&[4.0f64], &Device::Cpu).unwrap(),
        ];
        assert_eq!(clip_grad_norm(&mut g, 10.0).unwrap(), 5.0);
        assert_eq!(g[0].to_vec1::<f64>().unwrap(), vec![3.0]);
        clip_grad_norm(&mut g, 1.0).unwrap();
        let a = g[0].to_vec1::<f64>().unwrap()[0];
        assert!((a - 0.6).abs() < 1e-6, "{a}");
    }
}
