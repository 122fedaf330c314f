//! The learners: what every tabular learner offers, a majority-class
//! baseline and L2-regularized logistic regression.

use lathe_core::{now_millis, Metric, Param, RunRecorder};

use crate::{
    model::sigmoid, Dataset, Error, Estimator, Model, Result, StandardScaler, FORMAT_VERSION,
};

/// A tabular binary-classification learner.
///
/// `fit` reports its parameters (`log_params`) and its training loss
/// (`log_metrics`, key `train_loss`, step = epoch) to the recorder as it goes,
/// and returns a self-contained [`Model`]. Same data, same parameters, same
/// model, bit for bit.
pub trait Learner {
    /// Short name, e.g. `logistic_regression`.
    fn name(&self) -> &'static str;
    /// The hyperparameters, as logged.
    fn params(&self) -> Vec<Param>;
    /// Fits on `train`, reporting to `recorder`.
    fn fit<R: RunRecorder>(&self, train: &Dataset, recorder: &mut R) -> Result<Model>;
}

fn param(key: &str, value: impl ToString) -> Param {
    Param { key: key.to_string(), value: value.to_string() }
}

fn log_loss_point<R: RunRecorder>(recorder: &mut R, step: usize, value: f64) -> Result<()> {
    let metric =
        Metric { key: "train_loss".into(), value, timestamp: now_millis(), step: step as i64 };
    recorder.log_metrics(&[metric]).map_err(Error::recorder)
}

fn start<R: RunRecorder>(learner: &impl Learner, train: &Dataset, recorder: &mut R) -> Result<()> {
    if train.n_rows() == 0 {
        return Err(Error::Empty { what: "training data" });
    }
    let mut params = learner.params();
    params.push(param("train_rows", train.n_rows()));
    params.push(param("n_features", train.n_features()));
    recorder.log_params(&params).map_err(Error::recorder)
}

/// Predicts the training share of the positive class for every row
/// (scikit-learn's `DummyClassifier(strategy="prior")`): its labels are the
/// majority class, its ROC AUC is 0.5. The bar any real model must clear.
#[derive(Debug, Clone, Copy, Default)]
pub struct MajorityClass;

impl Learner for MajorityClass {
    fn name(&self) -> &'static str {
        "majority_class"
    }

    fn params(&self) -> Vec<Param> {
        vec![param("model", self.name()), param("strategy", "prior")]
    }

    fn fit<R: RunRecorder>(&self, train: &Dataset, recorder: &mut R) -> Result<Model> {
        start(self, train, recorder)?;
        let p = train.positive_share();
        let loss = train
            .labels()
            .iter()
            .map(|&y| if y == 1 { -p.ln() } else { -(1.0 - p).ln() })
            .sum::<f64>()
            / train.n_rows() as f64;
        log_loss_point(recorder, 0, loss)?;
        Ok(Model {
            format_version: FORMAT_VERSION,
            feature_names: train.feature_names().to_vec(),
            label: train.label().clone(),
            estimator: Estimator::MajorityClass { positive_rate: p },
        })
    }
}

/// Logistic regression on standardized features, fitted by full-batch
/// gradient descent on `mean log loss + l2 / 2 · ‖w‖²` (the bias is not
/// penalized). This is scikit-learn's `LogisticRegression(C = 1 / (n · l2))`
/// objective, so both reach the same coefficients.
///
/// `train_loss` (the mean log loss, without the penalty) is logged at step 0
/// for the starting point and at step `k` after the `k`-th epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogisticRegression {
    /// Gradient step size; below `2 / L` it converges (about 0.6 for
    /// standardized features that are strongly correlated).
    pub learning_rate: f64,
    /// Full passes over the training rows.
    pub epochs: usize,
    /// L2 penalty on the weights.
    pub l2: f64,
}

impl Default for LogisticRegression {
    fn default() -> Self {
        LogisticRegression { learning_rate: 0.5, epochs: 500, l2: 0.01 }
    }
}

impl LogisticRegression {
    fn check(&self) -> Result<()> {
        let invalid =
            |name, value: String, expected| Err(Error::InvalidParameter { name, value, expected });
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return invalid("learning_rate", self.learning_rate.to_string(), "a positive number");
        }
        if self.epochs == 0 {
            return invalid("epochs", "0".into(), "at least 1");
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return invalid("l2", self.l2.to_string(), "a number >= 0");
        }
        Ok(())
    }
}

impl Learner for LogisticRegression {
    fn name(&self) -> &'static str {
        "logistic_regression"
    }

    fn params(&self) -> Vec<Param> {
        vec![
            param("model", self.name()),
            param("learning_rate", self.learning_rate),
            param("epochs", self.epochs),
            param("l2", self.l2),
            param("optimizer", "full_batch_gradient_descent"),
            param("scaler", "standard"),
        ]
    }

    fn fit<R: RunRecorder>(&self, train: &Dataset, recorder: &mut R) -> Result<Model> {
        self.check()?;
        start(self, train, recorder)?;
        let scaler = StandardScaler::fit(train)?;
        let x = scaler.transform(train)?;
        let (n, d) = (x.n_rows() as f64, x.n_features());
        let y = x.labels();
        let mut weights = vec![0.0; d];
        let mut bias = 0.0;
        let mut grad = vec![0.0; d];
        for epoch in 0..=self.epochs {
            // One forward pass gives the loss at this point and the gradient from it.
            grad.iter_mut().for_each(|g| *g = 0.0);
            let (mut grad_bias, mut loss) = (0.0, 0.0);
            for (row, &label) in x.rows().zip(y) {
                let z = bias + row.iter().zip(&weights).map(|(v, w)| v * w).sum::<f64>();
                let target = f64::from(label);
                // log(1 + e^-z) for y = 1, log(1 + e^z) for y = 0, without overflow.
                loss += softplus(if label == 1 { -z } else { z });
                let residual = sigmoid(z) - target;
                grad_bias += residual;
                grad.iter_mut().zip(row).for_each(|(g, v)| *g += residual * v);
            }
            log_loss_point(recorder, epoch, loss / n)?;
            if epoch == self.epochs {
                break;
            }
            for (w, g) in weights.iter_mut().zip(&grad) {
                *w -= self.learning_rate * (g / n + self.l2 * *w);
            }
            bias -= self.learning_rate * grad_bias / n;
        }
        Ok(Model {
            format_version: FORMAT_VERSION,
            feature_names: train.feature_names().to_vec(),
            label: train.label().clone(),
            estimator: Estimator::LogisticRegression { scaler, weights, bias },
        })
    }
}

/// `ln(1 + e^x)`, exact for large |x|.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softplus_is_stable() {
        assert_eq!(softplus(1000.0), 1000.0);
        assert_eq!(softplus(-1000.0), 0.0);
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn bad_hyperparameters_are_refused_before_anything_is_logged() {
        for bad in [
            LogisticRegression { learning_rate: 0.0, ..Default::default() },
            LogisticRegression { epochs: 0, ..Default::default() },
            LogisticRegression { l2: f64::NAN, ..Default::default() },
        ] {
            assert!(matches!(bad.check(), Err(Error::InvalidParameter { .. })), "{bad:?}");
        }
    }
}
