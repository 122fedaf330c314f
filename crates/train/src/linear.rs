//! Linear models for every task: ridge regression in closed form, and
//! logistic (binary) or softmax (multiclass) regression with L2 and L1
//! penalties (solved in `logistic.rs`).
//!
//! The objectives are scikit-learn's, so the optimum is the same point:
//! `Ridge(alpha)` on the raw features; `LogisticRegression(C, l1_ratio)`
//! on standardized features, i.e. `Σ loss + (1 - r)/(2C)·‖W‖² + r/C·‖W‖₁`
//! (intercepts unpenalized). `tests/tabular/linear.rs` checks both against
//! scikit-learn's fitted coefficients.

use lathe_core::{now_millis, FeatureMatrix, Metric, Param, RunRecorder, Target, TaskKind};
use serde::{Deserialize, Serialize};

use crate::checks::check_target;
use crate::logistic::{cholesky_solve, Problem, NEWTON_MAX_UNKNOWNS};
use crate::tabular::{ModelMeta, Task, TABULAR_FORMAT_VERSION};
use crate::{Error, Result, TabularLearner, TabularModel};

/// A fitted linear model: `raw_k = intercept_k + Σ_j coef_kj · (x_j - mean_j) / scale_j`,
/// then the identity, a sigmoid (binary) or a softmax (multiclass).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearWeights {
    /// Per-feature centre subtracted before scaling.
    pub mean: Vec<f64>,
    /// Per-feature divisor (1 where no scaling applies).
    pub scale: Vec<f64>,
    /// `outputs × features` weights, row-major.
    pub coef: Vec<f64>,
    /// One intercept per output.
    pub intercept: Vec<f64>,
}

impl LinearWeights {
    /// Features read.
    pub fn n_features(&self) -> usize {
        self.mean.len()
    }

    /// Raw scores per row (1, or one per class for multiclass).
    pub fn outputs(&self) -> usize {
        self.intercept.len()
    }

    /// Raw scores of `row` into `out`.
    pub(crate) fn predict_raw(&self, row: &[f64], out: &mut [f64]) {
        let d = self.n_features();
        for (k, o) in out.iter_mut().enumerate() {
            let w = &self.coef[k * d..(k + 1) * d];
            let mut z = self.intercept[k];
            for j in 0..d {
                z += w[j] * (row[j] - self.mean[j]) / self.scale[j];
            }
            *o = z;
        }
    }
}

/// Linear learner: ridge for regression, penalized logistic/softmax
/// regression for classifiers. Refuses missing values (impute first).
///
/// It solves to convergence rather than by rounds, so it ignores the
/// validation set and logs one metric, `iterations` (solver steps taken).
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    /// Ridge penalty for regression (scikit-learn's `alpha`).
    pub alpha: f64,
    /// Inverse penalty strength for classifiers (scikit-learn's `C`).
    pub c: f64,
    /// Share of the classifier penalty that is L1 (0: pure L2, 1: pure L1).
    pub l1_ratio: f64,
    /// Most proximal-gradient iterations for classifiers.
    pub max_iter: usize,
    /// Stop when no coefficient moves more than this in an iteration.
    pub tol: f64,
}

impl Default for Linear {
    fn default() -> Self {
        Linear { alpha: 1.0, c: 1.0, l1_ratio: 0.0, max_iter: 20_000, tol: 1e-10 }
    }
}

impl Linear {
    /// Sets one hyperparameter from text (`--params key=value`).
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let num = |name: &'static str, expected| {
            value.trim().parse::<f64>().map_err(|_| Error::InvalidParameter {
                name,
                value: value.into(),
                expected,
            })
        };
        match key {
            "alpha" => self.alpha = num("alpha", "a number >= 0")?,
            "c" => self.c = num("c", "a positive number")?,
            "l1_ratio" => self.l1_ratio = num("l1_ratio", "a number in [0, 1]")?,
            "max_iter" => {
                self.max_iter = value.trim().parse().map_err(|_| Error::InvalidParameter {
                    name: "max_iter",
                    value: value.into(),
                    expected: "a whole number",
                })?
            }
            _ => {
                return Err(Error::InvalidParameter {
                    name: "linear parameter",
                    value: key.into(),
                    expected: "one of alpha, c, l1_ratio, max_iter",
                })
            }
        }
        self.check()
    }

    fn check(&self) -> Result<()> {
        let invalid = |name, value: f64, expected| {
            Err(Error::InvalidParameter { name, value: value.to_string(), expected })
        };
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return invalid("alpha", self.alpha, "a number >= 0");
        }
        if !(self.c.is_finite() && self.c > 0.0) {
            return invalid("c", self.c, "a positive number");
        }
        if !(0.0..=1.0).contains(&self.l1_ratio) {
            return invalid("l1_ratio", self.l1_ratio, "a number in [0, 1]");
        }
        Ok(())
    }
}

impl TabularLearner for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn params(&self) -> Vec<Param> {
        let p = |k: &str, v: String| Param { key: k.into(), value: v };
        vec![
            p("model", self.name().into()),
            p("alpha", self.alpha.to_string()),
            p("c", self.c.to_string()),
            p("l1_ratio", self.l1_ratio.to_string()),
            p("max_iter", self.max_iter.to_string()),
        ]
    }

    fn fit<R: RunRecorder>(
        &self,
        train: &FeatureMatrix,
        y: &Target,
        _valid: Option<(&FeatureMatrix, &Target)>,
        recorder: &mut R,
    ) -> Result<TabularModel> {
        self.check()?;
        if train.rows() == 0 {
            return Err(Error::Empty { what: "training data" });
        }
        check_target(y, train.rows(), "training data")?;
        let d = train.cols();
        for j in 0..d {
            let count = (0..train.rows()).filter(|&i| !train.row(i)[j].is_finite()).count();
            if count > 0 {
                return Err(Error::Missing { column: train.names()[j].clone(), count });
            }
        }
        recorder.log_params(&self.params()).map_err(Error::recorder)?;
        let (weights, iterations) = match y.kind {
            TaskKind::Regression => (ridge(train, &y.values, self.alpha)?, 1),
            _ => {
                let (mean, scale) = moments(train);
                let z = standardize(train, &mean, &scale);
                let k = if y.kind == TaskKind::Binary { 1 } else { y.classes.len() };
                let problem = Problem { z: &z, y: &y.values, n: train.rows(), d, k };
                let n = train.rows() as f64;
                let (l2, l1) = ((1.0 - self.l1_ratio) / (self.c * n), self.l1_ratio / (self.c * n));
                let (theta, iterations) = if l1 == 0.0 && k * (d + 1) <= NEWTON_MAX_UNKNOWNS {
                    problem.newton(l2, self.max_iter, self.tol)
                } else {
                    problem.fista(l2, l1, self.max_iter, self.tol)
                };
                let (coef, intercept) = problem.split(&theta);
                (LinearWeights { mean, scale, coef, intercept }, iterations)
            }
        };
        let metric = Metric {
            key: "iterations".into(),
            value: iterations as f64,
            timestamp: now_millis(),
            step: 0,
        };
        recorder.log_metrics(&[metric]).map_err(Error::recorder)?;
        let meta = ModelMeta {
            format_version: TABULAR_FORMAT_VERSION,
            learner: self.name().into(),
            task: Task::from(&y.kind),
            target: y.name.clone(),
            classes: y.classes.clone(),
            feature_names: train.names().to_vec(),
            params: self.params().into_iter().map(|p| (p.key, p.value)).collect(),
            iterations,
        };
        TabularModel::from_linear(meta, weights)
    }
}

/// Column means and population standard deviations (1 for constants).
fn moments(x: &FeatureMatrix) -> (Vec<f64>, Vec<f64>) {
    let (n, d) = (x.rows() as f64, x.cols());
    let mut mean = vec![0.0; d];
    for i in 0..x.rows() {
        mean.iter_mut().zip(x.row(i)).for_each(|(m, v)| *m += v / n);
    }
    let mut var = vec![0.0; d];
    for i in 0..x.rows() {
        for (j, v) in x.row(i).iter().enumerate() {
            var[j] += (v - mean[j]).powi(2) / n;
        }
    }
    let std = var.into_iter().map(|v| if v > 0.0 { v.sqrt() } else { 1.0 }).collect();
    (mean, std)
}

fn standardize(x: &FeatureMatrix, mean: &[f64], scale: &[f64]) -> Vec<f64> {
    let mut z = Vec::with_capacity(x.values().len());
    for i in 0..x.rows() {
        z.extend(x.row(i).iter().zip(mean).zip(scale).map(|((v, m), s)| (v - m) / s));
    }
    z
}

/// `Ridge(alpha)`: solves `(Xcᵀ Xc + αI) w = Xcᵀ yc` on centred raw features by Cholesky.
fn ridge(x: &FeatureMatrix, y: &[f64], alpha: f64) -> Result<LinearWeights> {
    let (n, d) = (x.rows(), x.cols());
    let (mean, _) = moments(x);
    let y_mean = y.iter().sum::<f64>() / n as f64;
    let mut a = vec![0.0; d * d];
    let mut b = vec![0.0; d];
    let mut c = vec![0.0; d];
    for (i, &yi) in y.iter().enumerate() {
        c.iter_mut().zip(x.row(i)).zip(&mean).for_each(|((c, v), m)| *c = v - m);
        for j in 0..d {
            b[j] += c[j] * (yi - y_mean);
            for k in 0..=j {
                a[j * d + k] += c[j] * c[k];
            }
        }
    }
    for j in 0..d {
        a[j * d + j] += alpha;
    }
    let w = cholesky_solve(&mut a, &b, d).ok_or_else(|| Error::InvalidParameter {
        name: "alpha",
        value: alpha.to_string(),
        expected: "a positive alpha: the features are collinear",
    })?;
    Ok(LinearWeights { mean, scale: vec![1.0; d], coef: w, intercept: vec![y_mean] })
}
