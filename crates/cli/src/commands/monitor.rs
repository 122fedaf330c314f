//! `lathe monitor …`: monitoring commands. `drift`, an offline drift report
//! between two files, and `reference`, a dataset's reference profile;
//! `feedback`, `status` and `alerts` for served models.

pub(crate) mod config;
mod csv_columns;
mod drift;
mod drift_input;
mod feedback;
mod parquet_columns;
pub(crate) mod reference;
mod report;
mod status;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Compare two datasets column by column and say which drifted (like Evidently's DataDriftPreset).
    Drift(drift::Args),
    /// Profile a dataset (types, missing values, quantiles, histograms, category
    /// frequencies), to a file or stored with a model version as its reference.
    Reference(reference::Args),
    /// Store ground-truth labels for logged predictions from a CSV (prediction_id,label).
    Feedback(feedback::Args),
    /// A model's monitoring windows (computed up to now): drift, performance, firing alerts.
    Status(status::Args),
    /// A model's alert history and webhook deliveries.
    Alerts(status::Args),
    /// A self-contained HTML report of a model's windows: drift and performance over time, alerts.
    Report(report::ReportArgs),
}

pub(crate) async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        // CPU-bound work on its own threads; nothing else runs meanwhile.
        Command::Drift(args) => drift::run(args),
        Command::Reference(args) => reference::run(args).await,
        Command::Feedback(args) => feedback::run(args).await,
        Command::Status(args) => status::status(args).await,
        Command::Alerts(args) => status::alerts(args).await,
        Command::Report(args) => report::run(args).await,
    }
}
