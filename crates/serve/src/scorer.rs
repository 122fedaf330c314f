//! What a served model computes for one checked row: lathe's own models,
//! and models trained elsewhere and logged with MLflow (LightGBM's text
//! format, XGBoost's JSON format, ONNX graphs), all evaluated in Rust.

use lathe_train::{
    xgboost::Objective, xgboost::XgbModel, FittedPipeline, Link, Model, Prediction, TreeEnsemble,
};

/// One row's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A binary classifier's probability of its positive class.
    Probability(f64),
    /// A multiclass classifier's probability per class.
    Probabilities(Vec<f64>),
    /// A regression value (or a raw margin).
    Value(f64),
}

/// A fitted model as serving runs it. Rows arrive in the order of the
/// model's signature.
#[derive(Debug, Clone, PartialEq)]
pub enum Scorer {
    /// lathe's binary classifier (`model.json`).
    Lathe(Model),
    /// A model trained by `lathe train`: its fitted preprocessing and
    /// learner, scoring JSON records (categorical and text columns too).
    Tabular(Box<FittedPipeline>),
    /// A LightGBM booster; `order[i]` is the signature column of the model's feature `i`.
    LightGbm {
        /// The trees.
        trees: TreeEnsemble,
        /// Signature column per model feature.
        order: Vec<usize>,
    },
    /// An XGBoost booster; `order[i]` is the signature column of the model's feature `i`.
    Xgboost {
        /// The booster.
        model: XgbModel,
        /// Signature column per model feature.
        order: Vec<usize>,
    },
    /// An ONNX graph taking the signature's columns, in order, as one
    /// float tensor `[rows, features]`.
    #[cfg(feature = "onnx")]
    Onnx(crate::onnx::OnnxModel),
}

impl Scorer {
    /// Short name of the model kind, for `/v1/models` and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Scorer::Lathe(model) => model.kind(),
            Scorer::Tabular(_) => "lathe_tabular",
            Scorer::LightGbm { .. } => "lightgbm",
            Scorer::Xgboost { .. } => "xgboost",
            #[cfg(feature = "onnx")]
            Scorer::Onnx(_) => "onnx",
        }
    }

    /// Class labels in output order; empty for a regressor.
    pub fn classes(&self) -> Vec<String> {
        match self {
            Scorer::Lathe(model) => {
                vec![model.label.negative_class.clone(), model.label.positive_class.clone()]
            }
            Scorer::Tabular(pipeline) => pipeline.model().classes().to_vec(),
            Scorer::LightGbm { trees, .. } => match trees.link() {
                Link::Sigmoid(_) => vec!["0".into(), "1".into()],
                Link::Softmax => (0..trees.outputs()).map(|c| c.to_string()).collect(),
                Link::Identity | Link::Exp => Vec::new(),
            },
            Scorer::Xgboost { model, .. } => match model.objective() {
                Objective::Logistic => vec!["0".into(), "1".into()],
                Objective::Softmax => (0..model.outputs()).map(|c| c.to_string()).collect(),
                Objective::LogitRaw | Objective::Identity | Objective::Exp => Vec::new(),
            },
            #[cfg(feature = "onnx")]
            Scorer::Onnx(model) => model.classes().to_vec(),
        }
    }

    /// Scores one JSON record (a [`Scorer::Tabular`] model's input).
    pub fn score_record(
        &self,
        record: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Output, String> {
        let Scorer::Tabular(pipeline) = self else {
            return Err("this model scores numeric rows, not records".into());
        };
        match pipeline.predict_row(record).map_err(|e| e.to_string())? {
            Prediction::Value(v) => Ok(Output::Value(v)),
            Prediction::Class { probabilities, .. } => Ok(match probabilities.as_slice() {
                [_, positive] => Output::Probability(*positive),
                _ => Output::Probabilities(probabilities),
            }),
        }
    }

    /// Whether the model takes JSON records ([`Scorer::score_record`])
    /// rather than numeric rows ([`Scorer::score`]).
    pub fn takes_records(&self) -> bool {
        matches!(self, Scorer::Tabular(_))
    }

    /// Whether one call over many rows costs less than a call per row: an
    /// ONNX graph runs a batch as one tensor; the others go row by row.
    pub fn scores_batches(&self) -> bool {
        #[cfg(feature = "onnx")]
        if let Scorer::Onnx(_) = self {
            return true;
        }
        false
    }

    /// Scores numeric rows: an ONNX graph runs them as one batch, the
    /// others row by row.
    pub fn score_rows(&self, rows: &[Vec<f64>]) -> Result<Vec<Output>, String> {
        match self {
            #[cfg(feature = "onnx")]
            Scorer::Onnx(model) => model.score_rows(rows),
            _ => rows.iter().map(|row| self.score(row)).collect(),
        }
    }

    /// Scores one numeric row.
    pub fn score(&self, row: &[f64]) -> Result<Output, String> {
        match self {
            #[cfg(feature = "onnx")]
            Scorer::Onnx(model) => model
                .score_rows(std::slice::from_ref(&row.to_vec()))?
                .pop()
                .ok_or_else(|| "the graph gave no output".into()),
            Scorer::Tabular(_) => Err("this model scores records, not numeric rows".into()),
            Scorer::Lathe(model) => {
                model.predict_proba_row(row).map(Output::Probability).map_err(|e| e.to_string())
            }
            Scorer::LightGbm { trees, order } => {
                let features: Vec<f64> =
                    order.iter().map(|&i| row.get(i).copied().unwrap_or(f64::NAN)).collect();
                let mut out = vec![0.0; trees.outputs()];
                trees.predict_raw(&features, &mut out);
                trees.transform(&mut out);
                Ok(match (trees.link(), out.as_slice()) {
                    (Link::Sigmoid(_), [p]) => Output::Probability(*p),
                    (Link::Softmax, _) => Output::Probabilities(out),
                    (_, [v]) => Output::Value(*v),
                    (_, _) => return Err(format!("the booster gave {} values", out.len())),
                })
            }
            Scorer::Xgboost { model, order } => {
                let features: Vec<f64> =
                    order.iter().map(|&i| row.get(i).copied().unwrap_or(f64::NAN)).collect();
                let out = model.predict(&features);
                Ok(match (model.objective(), out.as_slice()) {
                    (Objective::Logistic, [p]) => Output::Probability(*p),
                    (Objective::Softmax, _) => Output::Probabilities(out),
                    (_, [v]) => Output::Value(*v),
                    (_, _) => return Err(format!("the booster gave {} values", out.len())),
                })
            }
        }
    }
}

impl Output {
    /// The label for a classifier's output (the first class on ties), else `None`.
    pub fn label<'a>(&self, classes: &'a [String]) -> Option<&'a str> {
        let index = match self {
            Output::Probability(p) => usize::from(*p >= 0.5),
            Output::Probabilities(ps) => {
                let mut best = 0;
                for (i, p) in ps.iter().enumerate() {
                    if *p > ps[best] {
                        best = i;
                    }
                }
                best
            }
            Output::Value(_) => return None,
        };
        classes.get(index).map(String::as_str)
    }

    /// As MLflow's pyfunc answers: the probability, the probabilities, or the value.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Written as [`Output::to_json`] reads, straight into a response body.
impl serde::Serialize for Output {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Output::Probability(p) | Output::Value(p) => serializer.serialize_f64(*p),
            Output::Probabilities(ps) => ps.serialize(serializer),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use lathe_train::{Dataset, Learner, LogisticRegression, NoopRecorder};

    use super::*;

    /// A row-by-row scorer over two columns (`x`, `z`), for the serving tests.
    pub(crate) fn linear() -> Scorer {
        let csv = b"x,z,y\n0.1,5,no\n0.3,4,no\n0.2,6,no\n0.9,1,yes\n0.7,2,yes\n0.8,0,yes\n";
        let data = Dataset::from_csv(csv, "y", "yes").unwrap_or_else(|e| panic!("{e}"));
        let model = LogisticRegression::default()
            .fit(&data, &mut NoopRecorder)
            .unwrap_or_else(|e| panic!("{e}"));
        Scorer::Lathe(model)
    }
}
