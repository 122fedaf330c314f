//! `lathe train`: a CSV/Parquet/JSONL table in, a tracked, evaluated (and
//! optionally registered) model out. The steps live in `train/steps.rs`;
//! logging the model and registering it in `train/publish.rs`.

pub(crate) mod publish;
mod steps;

pub(crate) use steps::carve_validation;

use std::path::PathBuf;

use anyhow::Context;

use super::{quickstart::tracker::Tracker, ArtifactsArgs, TrackingArgs};
use crate::{output, tracking_uri};

/// Flags of `lathe train`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The table: .csv, .parquet, .jsonl or .ndjson.
    #[arg(long, value_name = "FILE")]
    pub(crate) data: PathBuf,
    /// The column to predict.
    #[arg(long, value_name = "COL")]
    pub(crate) target: String,
    /// The learner: gbm (gradient-boosted trees), forest (random forest),
    /// linear (ridge / logistic regression with L1/L2) or auto (linear when an
    /// input is free text, read as TF-IDF features; gbm otherwise).
    #[arg(long, default_value = "auto", value_parser = ["gbm", "forest", "linear", "auto"])]
    pub(crate) model: String,
    /// Learner hyperparameters as KEY=VALUE (e.g. num_leaves=15 learning_rate=0.05).
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
    pub(crate) params: Vec<String>,
    /// The task; inferred from the target when absent (text/boolean or few
    /// integers: classes; other numbers: regression).
    #[arg(long, value_parser = ["binary", "multiclass", "regression"])]
    pub(crate) task: Option<String>,
    /// Share of rows held out for the test metrics.
    #[arg(long, default_value_t = 0.2)]
    pub(crate) test_size: f64,
    /// Seed of the splits and the bootstrap.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Experiment of the run (created when missing).
    #[arg(long, default_value = "Default")]
    pub(crate) experiment: String,
    #[command(flatten)]
    pub(crate) tracking: TrackingArgs,
    #[command(flatten)]
    pub(crate) artifacts: ArtifactsArgs,
    /// Register the model under this name (a new version).
    #[arg(long, value_name = "NAME")]
    pub(crate) register: Option<String>,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let params = parse_params(&args.params)?;
    let store = tracking_uri::open(&args.tracking.tracking_uri).await?;
    let artifacts = args.artifacts.open(&args.tracking)?;
    let tracker = Tracker::new(store, artifacts, tokio::runtime::Handle::current())?
        .with_source("lathe train");
    let outcome = tokio::task::spawn_blocking(move || steps::run(&tracker, &args, &params))
        .await
        .context("training stopped unexpectedly")??;
    output::line(&outcome.run_id)?;
    output::line(&format!("runs:/{}/model", outcome.run_id))
}

/// `KEY=VALUE` pairs, in order.
fn parse_params(raw: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    raw.iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => anyhow::bail!("--params {p:?}: expected KEY=VALUE, e.g. num_leaves=15"),
        })
        .collect()
}
