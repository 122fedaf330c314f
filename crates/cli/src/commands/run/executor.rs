//! The CLI's [`StepExecutor`]: opens one tracking run per executed step,
//! nested under the pipeline's run (`mlflow.parentRunId`), hands the step to
//! its kind's module in `steps/`, and records what ran and what was reused.

use anyhow::Context;
use lathe_core::{Metric, Param, RunRecorder, Tag};
use lathe_pipeline::{Cache, Event, Pipeline, Plan, StepExecutor, StepKind, StepOutcome, StepRun};

use super::{steps, Options, Report};
use crate::commands::{
    quickstart::{progress::Progress, tracker::Tracker},
    train::publish::ensure_experiment,
};

/// One visited step, for the summary.
#[derive(Debug, Clone)]
pub(crate) struct StepReport {
    /// Step name.
    pub(crate) name: String,
    /// Step kind (`train`, …).
    pub(crate) kind: String,
    /// Whether it ran now (else its cached result was reused).
    pub(crate) ran: bool,
    /// The tracking run that recorded it (when it first ran, if reused).
    pub(crate) run_id: Option<String>,
    /// One line saying what it produced.
    pub(crate) headline: String,
}

/// A step failed: which one, and why (the cause keeps its own context).
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub(crate) struct StepError(pub(crate) anyhow::Error);

/// What every step module gets.
pub(crate) struct StepContext<'a, 't> {
    pub(crate) tracker: &'t Tracker,
    pub(crate) pipeline: &'a Pipeline,
    pub(crate) cache: &'a Cache,
    pub(crate) experiment_id: &'a str,
    pub(crate) progress: &'a mut Progress,
}

struct Executor<'a, 't> {
    tracker: &'t Tracker,
    pipeline: &'a Pipeline,
    cache: &'a Cache,
    experiment_id: String,
    parent: String,
    progress: Progress,
}

impl StepExecutor for Executor<'_, '_> {
    type Error = StepError;

    fn execute(&mut self, run: &StepRun<'_>) -> Result<StepOutcome, StepError> {
        let step = run.step;
        let tags = vec![
            Tag::new("mlflow.parentRunId", self.parent.clone()),
            Tag::new("lathe.pipeline.step", step.name.clone()),
            Tag::new("lathe.pipeline.kind", step.config.kind.as_str()),
            Tag::new("lathe.pipeline.key", run.key),
            Tag::new("lathe.pipeline.reason", run.reason.to_string()),
        ];
        let mut recorder =
            self.tracker.start_run(&self.experiment_id, &step.name, tags).map_err(StepError)?;
        let mut cx = StepContext {
            tracker: self.tracker,
            pipeline: self.pipeline,
            cache: self.cache,
            experiment_id: &self.experiment_id,
            progress: &mut self.progress,
        };
        let summary = match step.config.kind {
            StepKind::Profile => steps::profile::run(&mut cx, run, &mut recorder),
            StepKind::Split => steps::split::run(&mut cx, run, &mut recorder),
            StepKind::Train => steps::train::run(&mut cx, run, &mut recorder),
            StepKind::Evaluate => steps::evaluate::run(&mut cx, run, &mut recorder),
            StepKind::Register => steps::register::run(&mut cx, run, &mut recorder),
            StepKind::Promote => steps::promote::run(&mut cx, run, &mut recorder),
        }
        .map_err(StepError)?;
        let run_id = recorder.run_id().to_string();
        recorder.finish().map_err(StepError)?;
        Ok(StepOutcome { run_id: Some(run_id), summary })
    }
}

/// Runs `plan` under a new pipeline run.
pub(crate) fn run(
    tracker: &Tracker,
    pipeline: &Pipeline,
    cache: &Cache,
    plan: &Plan,
    options: &Options<'_>,
) -> anyhow::Result<Report> {
    let experiment_id = ensure_experiment(tracker, pipeline.project.experiment())?;
    let mut tags = vec![
        Tag::new("lathe.pipeline", pipeline.project.name.clone()),
        Tag::new("lathe.pipeline.file", pipeline.file.display().to_string()),
    ];
    tags.extend(options.tags.iter().cloned());
    let name = format!("pipeline-{}", pipeline.project.name);
    let mut parent = tracker.start_run(&experiment_id, &name, tags)?;
    parent.log_params(&[
        Param { key: "file".into(), value: pipeline.file.display().to_string() },
        Param { key: "steps".into(), value: plan.steps.len().to_string() },
        Param { key: "force".into(), value: options.force.to_string() },
        Param { key: "target_step".into(), value: options.step.unwrap_or("all").to_string() },
    ])?;
    let mut executor = Executor {
        tracker,
        pipeline,
        cache,
        experiment_id: experiment_id.clone(),
        parent: parent.run_id().to_string(),
        progress: Progress::new(plan.to_run()),
    };
    let mut reports = Vec::new();
    let result = lathe_pipeline::run(pipeline, plan, cache, &mut executor, |event| match event {
        Event::Reused(p, m) => {
            eprintln!("↺ {} ({}): unchanged, reusing run {}", p.name, p.kind, short(&m.run_id));
            reports.push(report_of(m, false));
        }
        Event::Started(..) => {}
        Event::Finished(_, m) => reports.push(report_of(m, true)),
    });
    let lineage: Vec<Tag> = reports
        .iter()
        .filter_map(|r| {
            let id = r.run_id.as_ref()?;
            let how = if r.ran { "ran" } else { "reused" };
            Some(Tag::new(format!("lathe.pipeline.step.{}", r.name), format!("{how} {id}")))
        })
        .collect();
    parent.set_tags(&lineage)?;
    let ran = reports.iter().filter(|r| r.ran).count();
    let now = lathe_core::now_millis();
    parent.log_metrics(&[
        Metric { key: "steps_ran".into(), value: ran as f64, timestamp: now, step: 0 },
        Metric {
            key: "steps_reused".into(),
            value: (reports.len() - ran) as f64,
            timestamp: now,
            step: 0,
        },
    ])?;
    // A failed step leaves the pipeline run FAILED (the recorder's drop).
    result.with_context(|| {
        format!(
            "pipeline {} stopped; the steps before the failing one are cached",
            pipeline.file.display()
        )
    })?;
    let run_id = parent.run_id().to_string();
    parent.finish()?;
    Ok(Report { run_id, experiment_id, steps: reports })
}

fn report_of(m: &lathe_pipeline::Manifest, ran: bool) -> StepReport {
    StepReport {
        name: m.step.clone(),
        kind: m.kind.clone(),
        ran,
        run_id: m.run_id.clone(),
        headline: m.summary.get("headline").and_then(|h| h.as_str()).unwrap_or("").to_string(),
    }
}

fn short(id: &Option<String>) -> String {
    id.as_deref().unwrap_or("-").to_string()
}
