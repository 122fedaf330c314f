//! Solvers for penalized logistic (one output, sigmoid) and softmax
//! (one output per class) regression on standardized features.
//!
//! Pure L2 uses Newton's method with backtracking: the problem is small
//! (features × classes unknowns) and badly conditioned when features are
//! correlated, where gradient methods crawl. With an L1 part the objective
//! is not smooth, so FISTA (accelerated proximal gradient) takes over.

use crate::trees::softmax;

/// Above this many unknowns the Hessian gets too big for Newton.
pub(crate) const NEWTON_MAX_UNKNOWNS: usize = 600;

/// Standardized rows `z` (`n × d`), class indices `y`, `k` outputs.
/// Unknowns are `k` blocks of `d` weights then the intercept.
pub(crate) struct Problem<'a> {
    pub z: &'a [f64],
    pub y: &'a [f64],
    pub n: usize,
    pub d: usize,
    pub k: usize,
}

impl Problem<'_> {
    fn width(&self) -> usize {
        self.d + 1
    }

    /// Probabilities of row `i` into `p` (sigmoid of the one score, or softmax).
    fn probabilities(&self, theta: &[f64], i: usize, p: &mut [f64]) {
        let (d, w) = (self.d, self.width());
        let row = &self.z[i * d..(i + 1) * d];
        for (c, pc) in p.iter_mut().enumerate() {
            let t = &theta[c * w..(c + 1) * w];
            *pc = t[d] + t[..d].iter().zip(row).map(|(a, b)| a * b).sum::<f64>();
        }
        if self.k == 1 {
            p[0] = 1.0 / (1.0 + (-p[0]).exp());
        } else {
            softmax(p);
        }
    }

    /// `p - onehot(y)` for output `c` of row `i`.
    fn residual(&self, i: usize, c: usize, pc: f64) -> f64 {
        let label = self.y[i] as usize;
        let target = if self.k == 1 { self.y[i] } else { f64::from(u8::from(c == label)) };
        pc - target
    }

    /// Mean log loss plus `l2/2·‖W‖²`, its gradient, and (if asked) its Hessian.
    fn evaluate(&self, theta: &[f64], l2: f64, hessian: Option<&mut [f64]>) -> (f64, Vec<f64>) {
        let (d, w, k, n) = (self.d, self.width(), self.k, self.n as f64);
        let m = k * w;
        let mut grad = vec![0.0; m];
        let mut p = vec![0.0; k];
        let mut loss = 0.0;
        let mut h = hessian;
        let mut zt = vec![1.0; w];
        for i in 0..self.n {
            self.probabilities(theta, i, &mut p);
            zt[..d].copy_from_slice(&self.z[i * d..(i + 1) * d]);
            let label = self.y[i] as usize;
            let own = if k == 1 {
                if label == 1 {
                    p[0]
                } else {
                    1.0 - p[0]
                }
            } else {
                p[label]
            };
            loss -= own.max(1e-300).ln() / n;
            for c in 0..k {
                let r = self.residual(i, c, p[c]) / n;
                grad[c * w..(c + 1) * w].iter_mut().zip(&zt).for_each(|(g, x)| *g += r * x);
            }
            if let Some(h) = h.as_deref_mut() {
                for c in 0..k {
                    for c2 in 0..k {
                        let s = if k == 1 {
                            p[0] * (1.0 - p[0])
                        } else {
                            p[c] * (f64::from(u8::from(c == c2)) - p[c2])
                        } / n;
                        for a in 0..w {
                            let row =
                                &mut h[(c * w + a) * m + c2 * w..(c * w + a) * m + c2 * w + w];
                            row.iter_mut().zip(&zt).for_each(|(hv, xb)| *hv += s * zt[a] * xb);
                        }
                    }
                }
            }
        }
        for c in 0..k {
            for j in 0..d {
                let idx = c * w + j;
                loss += 0.5 * l2 * theta[idx] * theta[idx];
                grad[idx] += l2 * theta[idx];
                if let Some(h) = h.as_deref_mut() {
                    h[idx * m + idx] += l2;
                }
            }
        }
        (loss, grad)
    }

    /// Newton's method with step halving until the loss decreases.
    pub(crate) fn newton(&self, l2: f64, max_iter: usize, tol: f64) -> (Vec<f64>, usize) {
        let m = self.k * self.width();
        let mut theta = vec![0.0; m];
        let mut h = vec![0.0; m * m];
        for it in 0..max_iter {
            h.iter_mut().for_each(|v| *v = 0.0);
            let (loss, grad) = self.evaluate(&theta, l2, Some(&mut h));
            // Softmax intercepts share one free direction (their sum): a tiny ridge pins it.
            (0..m).for_each(|i| h[i * m + i] += 1e-12);
            let Some(step) = cholesky_solve(&mut h, &grad, m) else { return (theta, it) };
            let mut t = 1.0;
            loop {
                let trial: Vec<f64> = theta.iter().zip(&step).map(|(a, s)| a - t * s).collect();
                let (trial_loss, _) = self.evaluate(&trial, l2, None);
                if trial_loss <= loss || t < 1e-10 {
                    let moved = step.iter().map(|s| (t * s).abs()).fold(0.0, f64::max);
                    theta = trial;
                    if moved < tol {
                        return (theta, it + 1);
                    }
                    break;
                }
                t /= 2.0;
            }
        }
        (theta, max_iter)
    }

    /// FISTA with adaptive restart on the mean loss + `l2/2·‖W‖²` + `l1·‖W‖₁`, step 1/L.
    pub(crate) fn fista(&self, l2: f64, l1: f64, max_iter: usize, tol: f64) -> (Vec<f64>, usize) {
        let (d, w, m) = (self.d, self.width(), self.k * self.width());
        let step = 1.0 / (0.5 * self.top_eigenvalue() + l2);
        let mut theta = vec![0.0; m];
        let mut v = theta.clone();
        let mut t = 1.0f64;
        for it in 0..max_iter {
            let (_, grad) = self.evaluate(&v, l2, None);
            let previous = theta.clone();
            let mut moved = 0.0f64;
            for idx in 0..m {
                let mut next = v[idx] - step * grad[idx];
                if idx % w < d && l1 > 0.0 {
                    next = next.signum() * (next.abs() - step * l1).max(0.0);
                }
                moved = moved.max((next - previous[idx]).abs());
                theta[idx] = next;
            }
            // Adaptive restart (O'Donoghue & Candès): drop the momentum when
            // it points against the proximal step; much faster near the optimum.
            let against: f64 = (0..m).map(|i| (v[i] - theta[i]) * (theta[i] - previous[i])).sum();
            if against > 0.0 {
                t = 1.0;
            }
            let t_next = (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0;
            for idx in 0..m {
                v[idx] = theta[idx] + (t - 1.0) / t_next * (theta[idx] - previous[idx]);
            }
            t = t_next;
            if moved < tol {
                return (theta, it + 1);
            }
        }
        (theta, max_iter)
    }

    /// Weights (`k × d`) and intercepts from the unknowns. Softmax is
    /// unchanged by adding one constant to every intercept and they are not
    /// penalized, so they are centred to sum to 0 (scikit-learn's choice).
    pub(crate) fn split(&self, theta: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (d, w) = (self.d, self.width());
        let coef = (0..self.k).flat_map(|c| theta[c * w..c * w + d].to_vec()).collect();
        let mut intercept: Vec<f64> = (0..self.k).map(|c| theta[c * w + d]).collect();
        if self.k > 1 {
            let mean = intercept.iter().sum::<f64>() / self.k as f64;
            intercept.iter_mut().for_each(|b| *b -= mean);
        }
        (coef, intercept)
    }

    /// 1.05 × the largest eigenvalue of `[Z 1]ᵀ[Z 1] / n` (power iteration):
    /// twice the Lipschitz constant of the mean loss's gradient, bounded safely.
    fn top_eigenvalue(&self) -> f64 {
        let (d, n) = (self.d, self.n as f64);
        let mut v = vec![1.0; d + 1];
        let mut lambda = 1.0;
        for _ in 0..100 {
            let mut next = vec![0.0; d + 1];
            for row in self.z.chunks(d) {
                let s = v[d] + row.iter().zip(&v).map(|(a, b)| a * b).sum::<f64>();
                next[..d].iter_mut().zip(row).for_each(|(o, x)| *o += s * x / n);
                next[d] += s / n;
            }
            let norm = next.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 {
                break;
            }
            lambda = norm;
            v = next.into_iter().map(|x| x / norm).collect();
        }
        1.05 * lambda
    }
}

/// Solves `A x = b` for symmetric positive definite `A` (`m × m`, overwritten
/// by its Cholesky factor); `None` when `A` is not positive definite.
pub(crate) fn cholesky_solve(a: &mut [f64], b: &[f64], m: usize) -> Option<Vec<f64>> {
    for j in 0..m {
        for k in 0..=j {
            let s: f64 = (0..k).map(|i| a[j * m + i] * a[k * m + i]).sum();
            if j == k {
                let v = a[j * m + j] - s;
                if v <= 0.0 {
                    return None;
                }
                a[j * m + j] = v.sqrt();
            } else {
                a[j * m + k] = (a[j * m + k] - s) / a[k * m + k];
            }
        }
    }
    let mut x = b.to_vec();
    for j in 0..m {
        x[j] = (x[j] - (0..j).map(|i| a[j * m + i] * x[i]).sum::<f64>()) / a[j * m + j];
    }
    for j in (0..m).rev() {
        x[j] = (x[j] - (j + 1..m).map(|i| a[i * m + j] * x[i]).sum::<f64>()) / a[j * m + j];
    }
    Some(x)
}
