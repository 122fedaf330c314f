//! lathe's data plane: serve registered model versions over HTTP.
//!
//! [`load`] resolves `models:/NAME@ALIAS` or `models:/NAME/VERSION` through
//! the registry ([`lathe_store::Store`]) to the model's files in the
//! [`lathe_store::ArtifactStore`], and reads the `lathe_train` model and its
//! MLflow signature. [`router`] answers MLflow's scoring protocol on
//! `POST /invocations`, lathe's own `POST /v1/models/{name}/predict`, and
//! `/health`, `/ready`, `/metrics` (Prometheus). Every request is checked
//! against the model's input schema before anything runs, and every
//! response carries a prediction id (`x-prediction-id`). [`watch`] keeps
//! served aliases current: when one moves in the registry, the new version
//! is loaded in the background and swapped in atomically ([`Served`]).
//! [`Limits`] bound the prediction routes: concurrency, a wait queue (503
//! with `Retry-After` when full) and a per-request timeout (504).

mod error;
mod limits;
mod load;
mod metrics;
mod protocol;
mod routes;
mod signature;
pub mod watch;

// OpenAI's API for language models (`lathe serve --llm`), beside the tabular routes.
pub mod openai;

pub use error::{Error, Result};
pub use limits::{Limits, Options};
pub use load::{load, LoadedModel};
pub use routes::{router, PREDICTION_ID_HEADER};
pub use signature::{ColumnSpec, Signature};
pub use watch::Served;
