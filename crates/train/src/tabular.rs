//! The multi-task learner API over [`FeatureMatrix`] / [`Target`]: the
//! [`TabularLearner`] trait, the [`TabularModel`] it produces, and what that
//! model predicts.
//!
//! A model is data: LightGBM's `model.txt` plus `lathe_model.json` (task,
//! classes, feature names, parameters). Prediction walks the trees in pure
//! Rust ([`crate::TreeEnsemble`]); LightGBM is needed to train, never to serve.

use std::collections::BTreeMap;
use std::path::Path;

use lathe_core::{FeatureMatrix, Param, RunRecorder, Target, TaskKind};
use serde::{Deserialize, Serialize};

use crate::checks::{check_shape, feature_difference};
use crate::{Error, LinearWeights, Result, TreeEnsemble};

/// File name of the trees inside a model directory.
pub const TREES_FILE: &str = "model.txt";
/// File name of the metadata inside a model directory.
pub const META_FILE: &str = "lathe_model.json";
/// Version of `lathe_model.json`; bumped on incompatible changes.
pub const TABULAR_FORMAT_VERSION: u32 = 1;

/// A learner for binary, multiclass and regression targets.
///
/// `fit` logs its parameters and one validation metric point per round
/// (`valid_logloss` for classifiers, `valid_l2` for regression, step =
/// round) to `recorder`, stops early on `valid` when the learner does, and
/// returns a self-contained model.
pub trait TabularLearner {
    /// Short name, e.g. `gbm`.
    fn name(&self) -> &'static str;
    /// The hyperparameters, as logged.
    fn params(&self) -> Vec<Param>;
    /// Fits on `train`/`y`, watching `valid` when given.
    fn fit<R: RunRecorder>(
        &self,
        train: &FeatureMatrix,
        y: &Target,
        valid: Option<(&FeatureMatrix, &Target)>,
        recorder: &mut R,
    ) -> Result<TabularModel>;
}

/// What a model predicts for one row.
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// A regression value.
    Value(f64),
    /// A class: its index into [`TabularModel::classes`] and every class's probability.
    Class {
        /// Index of the most probable class (the first one on ties).
        label: usize,
        /// One probability per class, summing to 1.
        probabilities: Vec<f64>,
    },
}

/// Predictions for many rows: `width` values per row (class probabilities,
/// or one regression value).
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// Values per row.
    pub width: usize,
    /// Row-major values.
    pub values: Vec<f64>,
}

impl Predictions {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }

    /// The values of row `i`.
    ///
    /// # Panics
    /// When `i >= rows()`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.width..(i + 1) * self.width]
    }

    /// The most probable class of each row (classifiers only).
    pub fn labels(&self) -> Vec<usize> {
        self.values.chunks(self.width).map(argmax).collect()
    }
}

/// Index of the largest value, the first one on ties.
pub(crate) fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// One feature's importance.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureImportance {
    /// Feature name.
    pub feature: String,
    /// Times the feature splits a node.
    pub split: f64,
    /// Total loss reduction of those splits.
    pub gain: f64,
}

/// The task, as stored in `lathe_model.json` (core types derive no serde).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Two classes.
    Binary,
    /// Three or more classes.
    Multiclass,
    /// A real number.
    Regression,
}

impl From<&TaskKind> for Task {
    fn from(k: &TaskKind) -> Task {
        match k {
            TaskKind::Binary => Task::Binary,
            TaskKind::Multiclass => Task::Multiclass,
            TaskKind::Regression => Task::Regression,
        }
    }
}

impl Task {
    /// The core task kind.
    pub fn kind(self) -> TaskKind {
        match self {
            Task::Binary => TaskKind::Binary,
            Task::Multiclass => TaskKind::Multiclass,
            Task::Regression => TaskKind::Regression,
        }
    }
}

/// `lathe_model.json`: everything about a model except its trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// [`TABULAR_FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The learner that made it (`gbm`, `forest`).
    pub learner: String,
    /// Binary, multiclass or regression.
    pub task: Task,
    /// Target column name.
    pub target: String,
    /// Class labels in index order; empty for regression.
    pub classes: Vec<String>,
    /// Feature names, in the order rows must give them.
    pub feature_names: Vec<String>,
    /// Hyperparameters as logged.
    pub params: BTreeMap<String, String>,
    /// Boosting rounds kept (after early stopping).
    pub iterations: usize,
}

/// File name of a linear model's weights inside a model directory.
pub const LINEAR_FILE: &str = "linear.json";

/// What computes the predictions.
#[derive(Debug, Clone, PartialEq)]
enum Body {
    /// Trees, and `model.txt` as LightGBM wrote it (saved back unchanged).
    Trees { trees: TreeEnsemble, text: String },
    /// Linear weights.
    Linear(LinearWeights),
}

/// A fitted tabular model: metadata plus trees or linear weights, both
/// predicted in pure Rust.
#[derive(Debug, Clone, PartialEq)]
pub struct TabularModel {
    meta: ModelMeta,
    body: Body,
}

impl TabularModel {
    /// A model from its metadata and LightGBM text; checks they agree.
    pub fn from_parts(meta: ModelMeta, text: String) -> Result<TabularModel> {
        let trees = TreeEnsemble::parse(&text)?;
        check_shape(&meta, trees.n_features(), trees.outputs(), TREES_FILE)?;
        Ok(TabularModel { meta, body: Body::Trees { trees, text } })
    }

    /// A model from its metadata and linear weights; checks they agree.
    pub fn from_linear(meta: ModelMeta, weights: LinearWeights) -> Result<TabularModel> {
        let d = weights.n_features();
        if weights.scale.len() != d || weights.coef.len() != d * weights.outputs() {
            return Err(Error::ModelFile(format!(
                "{LINEAR_FILE}: {} means, {} scales, {} coefficients for {} outputs",
                d,
                weights.scale.len(),
                weights.coef.len(),
                weights.outputs()
            )));
        }
        check_shape(&meta, d, weights.outputs(), LINEAR_FILE)?;
        Ok(TabularModel { meta, body: Body::Linear(weights) })
    }

    /// Reads a model directory: `lathe_model.json` and `model.txt` (trees)
    /// or `linear.json` (linear weights).
    pub fn load(dir: &Path) -> Result<TabularModel> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| Error::ModelFile(format!("{}: {e}", dir.join(name).display())))
        };
        let json = |name: &str, e: serde_json::Error| {
            Error::ModelFile(format!("{}: {e}", dir.join(name).display()))
        };
        let meta: ModelMeta =
            serde_json::from_str(&read(META_FILE)?).map_err(|e| json(META_FILE, e))?;
        if dir.join(TREES_FILE).exists() {
            return TabularModel::from_parts(meta, read(TREES_FILE)?);
        }
        let weights =
            serde_json::from_str(&read(LINEAR_FILE)?).map_err(|e| json(LINEAR_FILE, e))?;
        TabularModel::from_linear(meta, weights)
    }

    /// Writes `lathe_model.json` and `model.txt` or `linear.json` into `dir` (created if needed).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let io = |p: &Path, e: std::io::Error| Error::ModelFile(format!("{}: {e}", p.display()));
        let json = |name: &str, e: serde_json::Error| Error::ModelFile(format!("{name}: {e}"));
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let meta = serde_json::to_string_pretty(&self.meta).map_err(|e| json(META_FILE, e))?;
        let (name, body) = match &self.body {
            Body::Trees { text, .. } => (TREES_FILE, text.clone()),
            Body::Linear(w) => {
                (LINEAR_FILE, serde_json::to_string(w).map_err(|e| json(LINEAR_FILE, e))?)
            }
        };
        for (name, bytes) in [(name, body.as_bytes()), (META_FILE, meta.as_bytes())] {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
        }
        Ok(())
    }

    /// The metadata.
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// The trees, for tree models.
    pub fn trees(&self) -> Option<&TreeEnsemble> {
        match &self.body {
            Body::Trees { trees, .. } => Some(trees),
            Body::Linear(_) => None,
        }
    }

    /// `model.txt` as LightGBM wrote it, for tree models.
    pub fn model_text(&self) -> Option<&str> {
        match &self.body {
            Body::Trees { text, .. } => Some(text),
            Body::Linear(_) => None,
        }
    }

    /// The weights, for linear models.
    pub fn linear(&self) -> Option<&LinearWeights> {
        match &self.body {
            Body::Linear(w) => Some(w),
            Body::Trees { .. } => None,
        }
    }

    /// Binary, multiclass or regression.
    pub fn task(&self) -> TaskKind {
        self.meta.task.kind()
    }

    /// Class labels in index order; empty for regression.
    pub fn classes(&self) -> &[String] {
        &self.meta.classes
    }

    /// Feature names, in the order rows give them.
    pub fn feature_names(&self) -> &[String] {
        &self.meta.feature_names
    }

    /// Values per predicted row: the number of classes, or 1 for regression.
    pub fn width(&self) -> usize {
        match self.meta.task {
            Task::Regression => 1,
            _ => self.meta.classes.len(),
        }
    }

    /// Per feature, in feature order: for trees the split count and total
    /// gain; for linear models no splits and, as gain, the summed absolute
    /// weight (on standardized features for classifiers, raw ones for ridge).
    pub fn feature_importance(&self) -> Vec<FeatureImportance> {
        let values = match &self.body {
            Body::Trees { trees, .. } => trees.importance(),
            Body::Linear(w) => {
                let d = w.n_features();
                (0..d)
                    .map(|j| (0.0, (0..w.outputs()).map(|k| w.coef[k * d + j].abs()).sum()))
                    .collect()
            }
        };
        values
            .into_iter()
            .zip(&self.meta.feature_names)
            .map(|((split, gain), f)| FeatureImportance { feature: f.clone(), split, gain })
            .collect()
    }

    /// Writes `row`'s prediction into `out` (`width()` values: class
    /// probabilities, or the value) without allocating.
    pub fn predict_into(&self, row: &[f64], out: &mut [f64]) -> Result<()> {
        let n_features = self.meta.feature_names.len();
        if row.len() != n_features || out.len() != self.width() {
            return Err(Error::Features(format!(
                "a row of {} values for a model of {n_features} features (output of {}, expected {})",
                row.len(),
                out.len(),
                self.width()
            )));
        }
        // Binary models score the positive class; the negative is its complement.
        let raw = if self.meta.task == Task::Binary { &mut out[1..] } else { &mut *out };
        match &self.body {
            Body::Trees { trees, .. } => {
                trees.predict_raw(row, raw);
                trees.transform(raw);
            }
            Body::Linear(w) => {
                if let Some(j) = row.iter().position(|v| !v.is_finite()) {
                    return Err(Error::Features(format!(
                        "feature '{}' is {} (a linear model needs finite values; impute first)",
                        self.meta.feature_names[j], row[j]
                    )));
                }
                w.predict_raw(row, raw);
                match self.meta.task {
                    Task::Regression => {}
                    Task::Binary => raw[0] = 1.0 / (1.0 + (-raw[0]).exp()),
                    Task::Multiclass => crate::trees::softmax(raw),
                }
            }
        }
        if self.meta.task == Task::Binary {
            out[0] = 1.0 - out[1];
        }
        Ok(())
    }

    /// The prediction for one row; allocates only the probabilities it returns.
    pub fn predict_row(&self, row: &[f64]) -> Result<Prediction> {
        if self.meta.task == Task::Regression {
            let mut v = [0.0];
            self.predict_into(row, &mut v)?;
            return Ok(Prediction::Value(v[0]));
        }
        let mut probabilities = vec![0.0; self.width()];
        self.predict_into(row, &mut probabilities)?;
        Ok(Prediction::Class { label: argmax(&probabilities), probabilities })
    }

    /// Predictions for every row of `x`, whose columns must be the model's
    /// features in order; large batches are split across threads.
    pub fn predict(&self, x: &FeatureMatrix) -> Result<Predictions> {
        if x.names() != self.meta.feature_names.as_slice() {
            return Err(Error::Features(feature_difference(&self.meta.feature_names, x.names())));
        }
        let width = self.width();
        let mut values = vec![0.0; x.rows() * width];
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk_rows = x.rows().div_ceil(threads).max(4096);
        std::thread::scope(|s| {
            let handles: Vec<_> = values
                .chunks_mut(chunk_rows * width)
                .enumerate()
                .map(|(c, out)| {
                    s.spawn(move || {
                        for (i, o) in out.chunks_mut(width).enumerate() {
                            self.predict_into(x.row(c * chunk_rows + i), o)?;
                        }
                        Ok::<(), Error>(())
                    })
                })
                .collect();
            handles.into_iter().try_for_each(|h| {
                h.join().map_err(|_| Error::Features("a prediction thread panicked".into()))?
            })
        })?;
        Ok(Predictions { width, values })
    }
}
