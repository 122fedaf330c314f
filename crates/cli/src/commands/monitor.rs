//! `lathe monitor …`: monitoring commands. `drift`, an offline drift report
//! between two files, and `reference`, a dataset's reference profile.

pub(crate) mod config;
mod csv_columns;
mod drift;
pub(crate) mod reference;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Compare two datasets column by column and say which drifted (like Evidently's DataDriftPreset).
    Drift(drift::Args),
    /// Profile a dataset (types, missing values, quantiles, histograms, category
    /// frequencies), to a file or stored with a model version as its reference.
    Reference(reference::Args),
}

pub(crate) async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        // CPU-bound work on its own threads; nothing else runs meanwhile.
        Command::Drift(args) => drift::run(args),
        Command::Reference(args) => reference::run(args).await,
    }
}
