//! The model artifact: a fitted model as plain JSON (`model.json`) plus the
//! `MLmodel` file that describes it the way MLflow does.

use serde::{Deserialize, Serialize};

use crate::{mlflow, Dataset, Error, LabelInfo, Result, StandardScaler};

/// Version of the `model.json` layout this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A fitted binary classifier: what it needs to score raw rows, nothing more.
/// No code runs on load; it is data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// [`FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// Input columns, in order.
    pub feature_names: Vec<String>,
    /// The label column and its classes; probabilities are of `positive_class`.
    pub label: LabelInfo,
    /// The fitted estimator.
    #[serde(flatten)]
    pub estimator: Estimator,
}

/// The fitted estimator inside a [`Model`], tagged by `kind` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Estimator {
    /// Always the training share of the positive class.
    MajorityClass {
        /// Share of positive rows seen in training.
        positive_rate: f64,
    },
    /// `sigmoid(w · standardize(x) + b)`.
    LogisticRegression {
        /// Standardization fitted on the training rows.
        scaler: StandardScaler,
        /// One weight per (standardized) feature.
        weights: Vec<f64>,
        /// Intercept.
        bias: f64,
    },
}

impl Model {
    /// `majority_class` or `logistic_regression`.
    pub fn kind(&self) -> &'static str {
        match self.estimator {
            Estimator::MajorityClass { .. } => "majority_class",
            Estimator::LogisticRegression { .. } => "logistic_regression",
        }
    }

    /// Probability of the positive class for one raw (unscaled) row.
    pub fn predict_proba_row(&self, row: &[f64]) -> Result<f64> {
        if row.len() != self.feature_names.len() {
            return Err(Error::Features(format!(
                "the model takes {} features, the row has {}",
                self.feature_names.len(),
                row.len()
            )));
        }
        Ok(match &self.estimator {
            Estimator::MajorityClass { positive_rate } => *positive_rate,
            Estimator::LogisticRegression { scaler, weights, bias } => {
                let mut z = *bias;
                for ((v, w), (m, s)) in
                    row.iter().zip(weights).zip(scaler.means.iter().zip(&scaler.scales))
                {
                    z += w * (v - m) / s;
                }
                sigmoid(z)
            }
        })
    }

    /// Probabilities of the positive class for every row of `data`, whose
    /// feature columns must be the model's, in the same order.
    pub fn predict_proba(&self, data: &Dataset) -> Result<Vec<f64>> {
        if data.feature_names() != self.feature_names.as_slice() {
            return Err(Error::Features(format!(
                "the model takes [{}], the data has [{}]",
                self.feature_names.join(", "),
                data.feature_names().join(", ")
            )));
        }
        data.rows().map(|row| self.predict_proba_row(row)).collect()
    }

    /// `model.json`.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::ModelFile(e.to_string()))
    }

    /// Reads `model.json` back, checking that its parts fit together.
    pub fn from_json(text: &str) -> Result<Model> {
        let model: Model =
            serde_json::from_str(text).map_err(|e| Error::ModelFile(e.to_string()))?;
        model.check()?;
        Ok(model)
    }

    fn check(&self) -> Result<()> {
        let bad = |why: String| Err(Error::ModelFile(why));
        if self.format_version != FORMAT_VERSION {
            return bad(format!(
                "format_version {} is not supported (expected {FORMAT_VERSION})",
                self.format_version
            ));
        }
        let n = self.feature_names.len();
        match &self.estimator {
            Estimator::MajorityClass { positive_rate } => {
                if !(0.0..=1.0).contains(positive_rate) {
                    return bad(format!("positive_rate {positive_rate} is not a probability"));
                }
            }
            Estimator::LogisticRegression { scaler, weights, bias } => {
                let (w, m, s) = (weights.len(), scaler.means.len(), scaler.scales.len());
                if (w, m, s) != (n, n, n) {
                    return bad(format!("{n} features but {w} weights, {m} means and {s} scales"));
                }
                let numbers =
                    weights.iter().chain(&scaler.means).chain(&scaler.scales).chain([bias]);
                if !numbers.clone().all(|v| v.is_finite())
                    || scaler.scales.iter().any(|s| *s <= 0.0)
                {
                    return bad(
                        "weights, bias, means and scales must be finite, scales positive".into()
                    );
                }
            }
        }
        Ok(())
    }

    /// The input signature in MLflow's column-spec JSON (every feature a required double).
    pub fn signature_inputs_json(&self) -> String {
        mlflow::colspec_json(self.feature_names.iter().map(|n| (n.as_str(), "double")))
    }

    /// The `MLmodel` file for this model stored as `model.json` under `info.artifact_path`:
    /// MLflow's layout (sorted keys, signature as column-spec JSON) with a `lathe` flavor.
    pub fn mlmodel(&self, info: &MlmodelInfo<'_>) -> String {
        let output = format!("probability_{}", self.label.positive_class);
        let outputs = mlflow::colspec_json([(output.as_str(), "double")]);
        let q = mlflow::yaml_quote;
        format!(
            "artifact_path: {artifact_path}\n\
             flavors:\n\
             \x20 lathe:\n\
             \x20   data: model.json\n\
             \x20   format_version: {FORMAT_VERSION}\n\
             \x20   lathe_version: {lathe_version}\n\
             \x20   model_kind: {kind}\n\
             \x20   positive_class: {positive}\n\
             model_uuid: {model_uuid}\n\
             run_id: {run_id}\n\
             signature:\n\
             \x20 inputs: {inputs}\n\
             \x20 outputs: {outputs}\n\
             \x20 params: null\n\
             utc_time_created: {created}\n",
            artifact_path = q(info.artifact_path),
            lathe_version = q(info.lathe_version),
            kind = self.kind(),
            positive = q(&self.label.positive_class),
            model_uuid = q(info.model_uuid),
            run_id = q(info.run_id),
            inputs = q(&self.signature_inputs_json()),
            outputs = q(&outputs),
            created = q(info.utc_time_created),
        )
    }
}

/// Where and when a model was logged, for its `MLmodel` file.
#[derive(Debug, Clone, Copy)]
pub struct MlmodelInfo<'a> {
    /// Path of the model directory under the run's artifacts, e.g. `model`.
    pub artifact_path: &'a str,
    /// The run that logged it.
    pub run_id: &'a str,
    /// A fresh id for this logged copy (32 hex digits).
    pub model_uuid: &'a str,
    /// `YYYY-MM-DD HH:MM:SS.ffffff`, UTC.
    pub utc_time_created: &'a str,
    /// The lathe version that wrote it.
    pub lathe_version: &'a str,
}

/// The logistic function, without overflow for large |z|.
pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logistic() -> Model {
        Model {
            format_version: FORMAT_VERSION,
            feature_names: vec!["a".into(), "b \"quoted\"".into()],
            label: LabelInfo {
                column: "y".into(),
                positive_class: "yes".into(),
                negative_class: "no".into(),
            },
            estimator: Estimator::LogisticRegression {
                scaler: StandardScaler { means: vec![1.0, 0.0], scales: vec![2.0, 1.0] },
                weights: vec![1.0, -1.0],
                bias: 0.5,
            },
        }
    }

    #[test]
    fn json_round_trips_and_is_checked_on_load() {
        let m = logistic();
        let json = m.to_json().unwrap();
        assert!(json.contains("\"kind\": \"logistic_regression\""), "{json}");
        assert_eq!(Model::from_json(&json).unwrap(), m);
        let broken = json.replace("\"format_version\": 1", "\"format_version\": 9");
        assert!(Model::from_json(&broken).unwrap_err().to_string().contains("format_version 9"));
        let short = json.replacen("-1.0", "", 1).replace(",\n      \n", "\n");
        assert!(Model::from_json(&short).is_err(), "{short}");
    }

    #[test]
    fn predicts_standardized_logits_through_the_sigmoid() {
        let m = logistic();
        // z = 0.5 + 1 * (3 - 1) / 2 - 1 * 1 = 0.5
        assert_eq!(m.predict_proba_row(&[3.0, 1.0]).unwrap(), sigmoid(0.5));
        assert!(m.predict_proba_row(&[1.0]).is_err());
        assert_eq!(sigmoid(-800.0), 0.0);
        assert_eq!(sigmoid(800.0), 1.0);
    }

    #[test]
    fn mlmodel_has_the_lathe_flavor_and_an_mlflow_signature() {
        let info = MlmodelInfo {
            artifact_path: "model",
            run_id: "abc",
            model_uuid: "0123",
            utc_time_created: "2024-01-02 03:04:05.000000",
            lathe_version: "0.1.0",
        };
        let text = logistic().mlmodel(&info);
        assert_eq!(
            text,
            "artifact_path: model\nflavors:\n  lathe:\n    data: model.json\n    format_version: 1\n    \
             lathe_version: '0.1.0'\n    model_kind: logistic_regression\n    positive_class: 'yes'\n\
             model_uuid: '0123'\nrun_id: abc\nsignature:\n  inputs: '[{\"type\": \"double\", \"name\": \"a\", \
             \"required\": true}, {\"type\": \"double\", \"name\": \"b \\\"quoted\\\"\", \"required\": true}]'\n  \
             outputs: '[{\"type\": \"double\", \"name\": \"probability_yes\", \"required\": true}]'\n  \
             params: null\nutc_time_created: '2024-01-02 03:04:05.000000'\n"
        );
    }
}
