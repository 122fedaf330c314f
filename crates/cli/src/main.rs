//! `lathe`: one binary for the machine-learning lifecycle.
//!
//! This is the composition root: it parses the command line, picks the
//! store backend from `--tracking-uri` / `--backend-store-uri`, and hands
//! `Arc<dyn Store>` to whatever runs. Errors are printed plainly (`{:#}`)
//! with exit code 1; usage errors exit with 2 (clap).

mod commands;
mod output;
mod tracking_uri;

use clap::{Parser, Subcommand};

/// One binary for the machine-learning lifecycle: tracking, registry, serving, monitoring.
#[derive(Debug, Parser)]
#[command(name = "lathe", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the lifecycle on embedded data (profile, train, evaluate, register), then serve it.
    Quickstart(commands::quickstart::Args),
    /// Run the tracking and model-registry server (MLflow's REST API).
    Server(commands::server::Args),
    /// Serve registered models for prediction over HTTP (MLflow's scoring protocol).
    Serve(commands::serve::Args),
    /// List and create experiments.
    #[command(subcommand)]
    Experiments(commands::experiments::Command),
    /// List and inspect runs.
    #[command(subcommand)]
    Runs(commands::runs::Command),
    /// List and inspect registered models; move aliases.
    #[command(subcommand)]
    Models(commands::models::Command),
    /// Move a model's alias (default champion) back to its previous version.
    Rollback(commands::models::RollbackArgs),
    /// Run a lathe.toml pipeline: the steps whose inputs changed (cached otherwise).
    Run(commands::run::Args),
    /// Train a model on a table: a tracked run with metrics, report and model (gbm, forest).
    Train(commands::train::Args),
    /// Score a table with a trained model, to CSV or Parquet.
    Predict(commands::predict::Args),
    /// Evaluate a trained model on labelled rows, or compare two (--compare A B).
    Eval(commands::eval::Args),
    /// Monitor models and data: drift between datasets.
    #[command(subcommand)]
    Monitor(commands::monitor::Command),
    /// Profile a table or split it into train and test files.
    #[command(subcommand)]
    Data(commands::data::Command),
    /// Language models: generate text and chat (Hugging Face folders, GGUF).
    #[command(subcommand)]
    Llm(commands::llm::Command),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // A server narrates what it does; a one-shot command prints only its answer.
    let default_level =
        if matches!(cli.command, Command::Server(_) | Command::Serve(_)) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LATHE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Quickstart(args) => commands::quickstart::run(args).await,
            Command::Server(args) => commands::server::run(args).await,
            Command::Serve(args) => commands::serve::run(args).await,
            Command::Experiments(cmd) => commands::experiments::run(cmd).await,
            Command::Runs(cmd) => commands::runs::run(cmd).await,
            Command::Models(cmd) => commands::models::run(cmd).await,
            Command::Rollback(args) => commands::models::rollback(args).await,
            Command::Monitor(cmd) => commands::monitor::run(cmd).await,
            Command::Data(cmd) => commands::data::run(cmd).await,
            Command::Llm(cmd) => commands::llm::run(cmd).await,
            Command::Train(args) => commands::train::run(args).await,
            Command::Run(args) => commands::run::run(args).await,
            Command::Predict(args) => commands::predict::run(args).await,
            Command::Eval(args) => commands::eval::run(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
