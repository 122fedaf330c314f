//! lathe's data plane: serve registered model versions over HTTP.
//!
//! [`load`] resolves `models:/NAME@ALIAS` or `models:/NAME/VERSION` through
//! the registry ([`lathe_store::Store`]) to the model's files in the
//! [`lathe_store::ArtifactStore`], and reads the model (a [`Scorer`]:
//! lathe's own, or a LightGBM/XGBoost booster or an ONNX graph logged
//! with MLflow) and its MLflow signature. [`router`] answers MLflow's scoring protocol on
//! `POST /invocations`, lathe's own `POST /v1/models/{name}/predict`, and
//! `/health`, `/ready`, `/metrics` (Prometheus). Every request is checked
//! against the model's input schema before anything runs, and every
//! response carries a prediction id (`x-prediction-id`). [`watch`] keeps
//! served aliases current: when one moves in the registry, the new version
//! is loaded in the background and swapped in atomically ([`Served`]).
//! [`Limits`] bound the prediction routes: concurrency, a wait queue (503
//! with `Retry-After` when full) and a per-request timeout (504).
//! Concurrent requests for one model version are scored together in
//! micro-batches ([`BatchOptions`]) where one call over many rows is
//! cheaper than many calls (ONNX graphs, by default); a lone request is
//! scored at once.
//! [`Challenger`]s take a canary share of a model's requests or shadow all
//! of them ([`Policy`]), each with its own per-version metrics.
//! [`PredictionLog`] writes every scored row to the store in the background
//! (never blocking a request; drops are counted in `/metrics`), and
//! `POST /feedback` joins ground-truth labels to them.

mod batch;
mod error;
mod feedback;
mod limits;
mod load;
mod metrics;
mod mlmodel;
#[cfg(feature = "onnx")]
mod onnx;
mod predlog;
mod protocol;
mod routes;
mod scorer;
mod signature;
mod traffic;
pub mod watch;

// OpenAI's API for language models (`lathe serve --llm`), beside the tabular routes.
pub mod openai;

pub use batch::BatchOptions;
pub use error::{Error, Result};
pub use limits::{Limits, Options};
pub use load::{load, LoadedModel};
#[cfg(feature = "onnx")]
pub use onnx::OnnxModel;
pub use predlog::{LogOptions, PredictionLog, PredictionLogWriter};
pub use routes::{router, MODEL_VERSION_HEADER, PREDICTION_ID_HEADER};
pub use scorer::{Output, Scorer};
pub use signature::{ColumnSpec, Signature};
pub use traffic::{CanarySpec, Challenger, Policy};
pub use watch::Served;
