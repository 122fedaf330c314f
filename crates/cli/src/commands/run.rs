//! `lathe run [STEP]`: executes a `lathe.toml` pipeline. `lathe-pipeline`
//! decides which steps run (content-addressed cache, `--dry-run` says why);
//! the executor here does the work of each kind (`run/steps/`) and records
//! every step as a tracking run nested under one pipeline run.
//!
//! [`execute`] is the synchronous core shared with `lathe quickstart` and
//! the retrain that an alert triggers (`run/retrain.rs`).

mod executor;
pub(crate) mod retrain;
mod steps;

use std::path::PathBuf;

use anyhow::Context;
use lathe_core::Tag;
use lathe_pipeline::{Action, Cache, Pipeline, Plan};

use super::{quickstart::tracker::Tracker, ArtifactsArgs, TrackingArgs};
use crate::{output, tracking_uri};
pub(crate) use executor::StepReport;

/// Flags of `lathe run`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Run only this step and the steps it needs.
    step: Option<String>,
    /// The pipeline file.
    #[arg(long, short = 'f', default_value = "lathe.toml")]
    file: PathBuf,
    /// Print what would run and why, and run nothing.
    #[arg(long)]
    dry_run: bool,
    /// Run every selected step even when its cached result is current.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    tracking: TrackingArgs,
    #[command(flatten)]
    artifacts: ArtifactsArgs,
}

/// What one call of [`execute`] asks for.
#[derive(Debug, Default)]
pub(crate) struct Options<'a> {
    /// Only this step and what it needs.
    pub(crate) step: Option<&'a str>,
    /// Rerun cached steps.
    pub(crate) force: bool,
    /// Extra tags on the pipeline run (what triggered it).
    pub(crate) tags: Vec<Tag>,
}

/// What a pipeline run did.
#[derive(Debug)]
pub(crate) struct Report {
    /// The pipeline's parent run.
    pub(crate) run_id: String,
    /// The experiment it was logged to.
    pub(crate) experiment_id: String,
    /// Every visited step, in order.
    pub(crate) steps: Vec<StepReport>,
}

impl Report {
    /// The first step of `kind` (`"promote"`, …).
    pub(crate) fn of_kind(&self, kind: &str) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.kind == kind)
    }
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let pipeline = Pipeline::load(&args.file)?;
    if args.dry_run {
        let cache = cache_of(&pipeline);
        let plan = Plan::new(
            &pipeline,
            &cache,
            args.step.as_deref(),
            args.force,
            env!("CARGO_PKG_VERSION"),
        )?;
        return print_plan(&plan);
    }
    let store = tracking_uri::open(&args.tracking.tracking_uri).await?;
    let artifacts = args.artifacts.open(&args.tracking)?;
    let tracker = Tracker::new(store.clone(), artifacts, tokio::runtime::Handle::current())?
        .with_source("lathe run");
    let live = tracker.live_runs();
    let step = args.step.clone();
    let force = args.force;
    let work = tokio::task::spawn_blocking(move || {
        let options = Options { step: step.as_deref(), force, tags: Vec::new() };
        execute(&tracker, &pipeline, &options)
    });
    // Ctrl-C between or during steps: what finished is cached (a step is
    // committed only when it succeeds), so the next `lathe run` resumes.
    let report = tokio::select! {
        joined = work => joined.context("the pipeline stopped unexpectedly")??,
        _ = tokio::signal::ctrl_c() => {
            // The pipeline's run and the interrupted step's run end KILLED,
            // not RUNNING forever.
            // Off the runtime's workers: the pipeline thread may hold the
            // lock while one of them creates a run.
            let ids = tokio::task::spawn_blocking(move || {
                live.lock().map(|mut l| l.close()).unwrap_or_default()
            })
            .await
            .unwrap_or_default();
            for id in ids {
                let killed = lathe_store::UpdateRun {
                    status: Some(lathe_core::RunStatus::Killed),
                    end_time: Some(lathe_core::now_millis()),
                    run_name: None,
                };
                let _ = store.update_run(&id, killed).await;
            }
            eprintln!("interrupted: finished steps are cached; `lathe run` resumes from them");
            std::process::exit(130);
        }
    };
    print_report(&report)
}

/// The cache beside `lathe.toml`.
pub(crate) fn cache_of(pipeline: &Pipeline) -> Cache {
    let root = pipeline.file.parent().unwrap_or(std::path::Path::new("."));
    Cache::new(root.join(".lathe").join("cache"))
}

/// Plans and runs the pipeline, logging to `tracker`'s store.
pub(crate) fn execute(
    tracker: &Tracker,
    pipeline: &Pipeline,
    options: &Options<'_>,
) -> anyhow::Result<Report> {
    let cache = cache_of(pipeline);
    let plan = Plan::new(pipeline, &cache, options.step, options.force, env!("CARGO_PKG_VERSION"))?;
    executor::run(tracker, pipeline, &cache, &plan, options)
}

fn print_plan(plan: &Plan) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = plan
        .steps
        .iter()
        .map(|s| {
            let (action, why) = match &s.action {
                Action::Reuse => ("reuse".to_string(), "unchanged".to_string()),
                Action::Run(reason) => ("run".to_string(), reason.to_string()),
            };
            vec![s.name.clone(), s.kind.to_string(), action, why, s.key[..12].to_string()]
        })
        .collect();
    output::table(&["STEP", "KIND", "ACTION", "WHY", "KEY"], &rows)?;
    output::line(&format!(
        "{} of {} steps would run (--dry-run: nothing ran)",
        plan.to_run(),
        plan.steps.len()
    ))
}

fn print_report(report: &Report) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = report
        .steps
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.kind.clone(),
                if s.ran { "ran".into() } else { "reused".into() },
                s.run_id.clone().unwrap_or_default(),
                s.headline.clone(),
            ]
        })
        .collect();
    output::table(&["STEP", "KIND", "ACTION", "RUN ID", "RESULT"], &rows)?;
    output::line(&format!("pipeline run {}", report.run_id))
}
