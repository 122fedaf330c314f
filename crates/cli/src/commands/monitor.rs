//! `lathe monitor …`: monitoring commands. Today `drift`, an offline drift
//! report between two files.

mod csv_columns;
mod drift;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Compare two datasets column by column and say which drifted (like Evidently's DataDriftPreset).
    Drift(drift::Args),
}

pub(crate) async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        // CPU-bound work on its own threads; nothing else runs meanwhile.
        Command::Drift(args) => drift::run(args),
    }
}
