//! Production monitoring in the control plane: the background job that cuts
//! each model version's prediction log into tumbling windows, tests each
//! window for drift against the version's reference profile and scores it
//! against the labels that arrived ([`windows`]; binary, multiclass and
//! regression models alike, in `performance`), rescores a window's
//! performance when labels arrive after it was cut (`late`), and the alert
//! rules that read the windows and deliver to webhooks ([`alerts`]); a
//! column's drift test may be overridden in the config ([`columns`]). The same
//! functions serve `lathe monitor status`, which brings windows up to date
//! on demand.

pub mod alerts;
pub mod columns;
mod compute;
pub mod config;
mod late;
mod performance;
pub mod report;
pub mod windows;

pub use config::{AlertRule, Condition, MonitoringConfig, Trigger};
pub use windows::{update_all, update_version, WindowSettings, WindowSpec};

/// What the monitoring job can fail with.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] lathe_store::StoreError),
    /// A model version's reference profile cannot be read.
    #[error("reference profile of {model} v{version}: {reason}")]
    Profile {
        /// Registered model name.
        model: String,
        /// Version.
        version: i64,
        /// What is wrong.
        reason: String,
    },
    /// A configuration value is not acceptable.
    #[error("{0}")]
    Config(String),
}

/// `Result` with [`MonitorError`].
pub type Result<T> = std::result::Result<T, MonitorError>;
