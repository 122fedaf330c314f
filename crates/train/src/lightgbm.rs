//! Training through LightGBM (the `lightgbm3` bindings), shared by the
//! gradient-boosting and random-forest learners.
//!
//! LightGBM fits; the result is read back from its text format into a
//! [`TabularModel`] that predicts in pure Rust. Per-round validation metrics
//! are recomputed from the trees (see `staged.rs`) because the bindings run
//! every round inside one call.

use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use lathe_core::{now_millis, FeatureMatrix, Metric, Param, RunRecorder, Target, TaskKind};
use serde_json::{json, Map, Value};

use crate::checks::{check_target, feature_difference};
use crate::staged::{metric_name, staged_metric};
use crate::tabular::{ModelMeta, Task, TABULAR_FORMAT_VERSION};
use crate::{Error, Result, TabularModel};

/// How rows of each class are weighted in the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClassWeight {
    /// Every row weighs 1.
    #[default]
    None,
    /// scikit-learn's `balanced`: class `c` weighs `n / (classes · n_c)`.
    Balanced,
}

/// A LightGBM fit: the learner's name, its parameters for LightGBM, and
/// what lathe handles itself.
pub(crate) struct LgbmFit {
    pub learner: &'static str,
    pub params: Map<String, Value>,
    pub early_stopping_rounds: Option<usize>,
    pub class_weight: ClassWeight,
    pub logged: Vec<Param>,
}

impl LgbmFit {
    pub(crate) fn run<R: RunRecorder>(
        self,
        train: &FeatureMatrix,
        y: &Target,
        valid: Option<(&FeatureMatrix, &Target)>,
        recorder: &mut R,
    ) -> Result<TabularModel> {
        check_inputs(train, y, valid)?;
        let mut logged = self.logged.clone();
        logged.push(Param { key: "train_rows".into(), value: train.rows().to_string() });
        logged.push(Param { key: "n_features".into(), value: train.cols().to_string() });
        if let Some((v, _)) = valid {
            logged.push(Param { key: "valid_rows".into(), value: v.rows().to_string() });
        }
        recorder.log_params(&logged).map_err(Error::recorder)?;

        let classifier = y.kind != TaskKind::Regression;
        let mut params = self.params.clone();
        let (objective, metric) = match y.kind {
            TaskKind::Binary => ("binary", "binary_logloss"),
            TaskKind::Multiclass => ("multiclass", "multi_logloss"),
            TaskKind::Regression => ("regression", "l2"),
        };
        params.insert("objective".into(), json!(objective));
        params.insert("metric".into(), json!(metric));
        params.insert("verbosity".into(), json!(-1));
        if y.kind == TaskKind::Multiclass {
            params.insert("num_class".into(), json!(y.classes.len()));
        }
        if let (Some(rounds), Some(_)) = (self.early_stopping_rounds, valid) {
            params.insert("early_stopping_rounds".into(), json!(rounds));
        }

        let dataset = |x: &FeatureMatrix, t: &Target, reference| {
            let labels: Vec<f32> = t.values.iter().map(|&v| v as f32).collect();
            let cols = x.cols() as i32;
            lightgbm3::Dataset::from_slice_with_reference(
                x.values(),
                &labels,
                cols,
                true,
                reference,
            )
            .map_err(lgbm)
        };
        let mut train_set = dataset(train, y, None)?;
        train_set.set_feature_names(&lightgbm_names(train.names())).map_err(lgbm)?;
        if self.class_weight == ClassWeight::Balanced && classifier {
            train_set.set_weights(&balanced_weights(y)).map_err(lgbm)?;
        }
        let valid_set = valid.map(|(vx, vy)| dataset(vx, vy, Some(&train_set))).transpose()?;

        let spinner = ProgressBar::new_spinner().with_message(format!(
            "{}: fitting {} rows × {} features with LightGBM",
            self.learner,
            train.rows(),
            train.cols()
        ));
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
            spinner.set_style(style);
        }
        spinner.enable_steady_tick(Duration::from_millis(200));
        let booster =
            lightgbm3::Booster::train_with_valid(train_set, valid_set, &Value::Object(params));
        spinner.finish_and_clear();
        let text = booster.and_then(|b| b.save_string()).map_err(lgbm)?;

        let meta = ModelMeta {
            format_version: TABULAR_FORMAT_VERSION,
            learner: self.learner.into(),
            task: Task::from(&y.kind),
            target: y.name.clone(),
            classes: y.classes.clone(),
            feature_names: train.names().to_vec(),
            params: self
                .logged
                .iter()
                .map(|p| (p.key.clone(), p.value.clone()))
                .collect::<BTreeMap<_, _>>(),
            iterations: 0,
        };
        let trees = crate::TreeEnsemble::parse(&text)?;
        let iterations = trees.iterations();
        let model = TabularModel::from_parts(ModelMeta { iterations, ..meta }, text)?;

        if let Some((vx, vy)) = valid {
            let curve = staged_metric(&trees, vx.values(), &vy.values, classifier);
            let key = format!("valid_{}", metric_name(classifier));
            let timestamp = now_millis();
            let points: Vec<Metric> = curve
                .iter()
                .enumerate()
                .map(|(i, &value)| Metric {
                    key: key.clone(),
                    value,
                    timestamp,
                    step: i as i64 + 1,
                })
                .collect();
            recorder.log_metrics(&points).map_err(Error::recorder)?;
        }
        let done = Metric {
            key: "best_iteration".into(),
            value: iterations as f64,
            timestamp: now_millis(),
            step: 0,
        };
        recorder.log_metrics(&[done]).map_err(Error::recorder)?;
        Ok(model)
    }
}

fn lgbm(e: lightgbm3::Error) -> Error {
    Error::LightGbm(e.to_string())
}

/// LightGBM stores names space-separated and refuses JSON punctuation in
/// them; lathe keeps the real names in its own metadata.
fn lightgbm_names(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            n.chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '.' { c } else { '_' })
                .collect()
        })
        .collect()
}

fn balanced_weights(y: &Target) -> Vec<f32> {
    let k = y.classes.len();
    let mut counts = vec![0usize; k];
    for &v in &y.values {
        counts[v as usize] += 1;
    }
    let n = y.values.len() as f64;
    let w: Vec<f64> =
        counts.iter().map(|&c| if c == 0 { 0.0 } else { n / (k as f64 * c as f64) }).collect();
    y.values.iter().map(|&v| w[v as usize] as f32).collect()
}

fn check_inputs(
    train: &FeatureMatrix,
    y: &Target,
    valid: Option<(&FeatureMatrix, &Target)>,
) -> Result<()> {
    if train.rows() == 0 {
        return Err(Error::Empty { what: "training data" });
    }
    if train.rows() > i32::MAX as usize {
        return Err(Error::InvalidParameter {
            name: "training rows",
            value: train.rows().to_string(),
            expected: "at most 2^31 - 1 rows (LightGBM's limit)",
        });
    }
    check_target(y, train.rows(), "training data")?;
    check_finite(train, "training data")?;
    if let Some((vx, vy)) = valid {
        if vx.rows() == 0 {
            return Err(Error::Empty { what: "validation data" });
        }
        if vx.names() != train.names() {
            return Err(Error::Features(format!(
                "validation data: {}",
                feature_difference(train.names(), vx.names())
            )));
        }
        check_target(vy, vx.rows(), "validation data")?;
        if vy.kind != y.kind || vy.classes != y.classes {
            return Err(Error::Labels {
                column: vy.name.clone(),
                problem: "validation target has other classes or another task than training".into(),
            });
        }
        check_finite(vx, "validation data")?;
    }
    Ok(())
}

/// NaN means missing and is routed by the trees; ±inf is refused.
fn check_finite(x: &FeatureMatrix, what: &str) -> Result<()> {
    if let Some(i) = x.values().iter().position(|v| v.is_infinite()) {
        let (row, col) = (i / x.cols(), i % x.cols());
        return Err(Error::Features(format!(
            "{what}: row {row}, column '{}' is {} (expected a finite number or NaN for missing)",
            x.names()[col],
            x.values()[i]
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_weights_match_sklearn() {
        // sklearn: compute_class_weight("balanced", classes=[0,1], y=[0,0,0,1]) = [2/3, 2].
        let y = Target {
            name: "y".into(),
            kind: TaskKind::Binary,
            values: vec![0.0, 0.0, 0.0, 1.0],
            classes: vec!["a".into(), "b".into()],
        };
        let w = balanced_weights(&y);
        assert!((w[0] - 2.0 / 3.0).abs() < 1e-6 && (w[3] - 2.0).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn names_are_made_safe_for_lightgbm() {
        let names = lightgbm_names(&["a b".into(), "x{\"y\"}".into(), "ok_1.2".into()]);
        assert_eq!(names, ["a_b", "x__y__", "ok_1.2"]);
    }
}
