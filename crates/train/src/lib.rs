//! Tabular learners of lathe and the model artifact they produce.
//!
//! A [`Dataset`] is read from CSV bytes, split with a seeded
//! [`stratified_split`], and fitted by a [`Learner`] ([`MajorityClass`] as
//! the baseline, [`LogisticRegression`]) into a [`Model`]: plain JSON with the
//! fitted [`StandardScaler`], described for MLflow by [`Model::mlmodel`].
//!
//! For binary, multiclass and regression targets over
//! [`lathe_core::FeatureMatrix`], a [`TabularLearner`] ([`Gbm`], [`Forest`],
//! both trained by LightGBM; [`Linear`], ridge or penalized logistic
//! regression in pure Rust) returns a [`TabularModel`]: `lathe_model.json`
//! plus LightGBM's `model.txt` (predicted in pure Rust by [`TreeEnsemble`],
//! equal to LightGBM's predictions within 1e-6) or `linear.json`.
//!
//! [`search`] tunes a tabular learner's hyperparameters (grid, random,
//! successive halving) over a declared space, ranking trials on the
//! validation rows only.
//!
//! A [`FittedPipeline`] joins a `lathe_data::Preprocessor` and a
//! [`TabularModel`] into one MLflow model directory that scores raw rows.
//!
//! This is a compute crate: it knows nothing of stores or HTTP. Learners
//! report parameters and per-epoch losses through [`lathe_core::RunRecorder`],
//! which the CLI connects to the tracking store.
//!
//! ```
//! use lathe_train::{stratified_split, Dataset, Learner, LogisticRegression, NoopRecorder};
//! let csv = b"x,y\n0.1,no\n0.3,no\n0.2,no\n0.9,yes\n0.7,yes\n0.8,yes\n";
//! let data = Dataset::from_csv(csv, "y", "yes").unwrap();
//! let split = stratified_split(data.labels(), 0.34, 7).unwrap();
//! let (train, test) = split.apply(&data).unwrap();
//! let model = LogisticRegression::default().fit(&train, &mut NoopRecorder).unwrap();
//! let p = model.predict_proba(&test).unwrap();
//! assert!(p[0] < 0.5 && p[1] > 0.5);
//! ```

mod checks;
#[cfg(feature = "lightgbm")]
mod choose;
mod dataset;
mod error;
#[cfg(feature = "lightgbm")]
mod gbm;
mod learner;
#[cfg(feature = "lightgbm")]
mod lightgbm;
mod linear;
mod logistic;
pub mod mlflow;
mod model;
mod pipeline;
mod recorder;
mod scaler;
#[cfg(feature = "lightgbm")]
pub mod search;
mod split;
#[cfg(feature = "lightgbm")]
mod staged;
mod tabular;
mod trees;
pub mod xgboost;

#[cfg(feature = "lightgbm")]
pub use choose::AnyLearner;
pub use dataset::{ColumnProfile, Dataset, LabelInfo};
pub use error::{Error, Result};
#[cfg(feature = "lightgbm")]
pub use gbm::{Forest, Gbm};
pub use learner::{Learner, LogisticRegression, MajorityClass};
#[cfg(feature = "lightgbm")]
pub use lightgbm::ClassWeight;
pub use linear::{Linear, LinearWeights};
pub use model::{Estimator, MlmodelInfo, Model, FORMAT_VERSION};
pub use pipeline::{
    FittedPipeline, InputColumn, FLAVOR, INPUT_EXAMPLE_FILE, MLMODEL_FILE, PREPROCESS_FILE,
};
pub use recorder::{MemoryRecorder, NoopRecorder};
pub use scaler::StandardScaler;
pub use split::{stratified_split, Split, SplitMix64};
pub use tabular::{
    FeatureImportance, ModelMeta, Prediction, Predictions, TabularLearner, TabularModel, Task,
    LINEAR_FILE, META_FILE, TABULAR_FORMAT_VERSION, TREES_FILE,
};
pub use trees::{Link, TreeEnsemble};
