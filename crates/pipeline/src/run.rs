//! Executing a [`Plan`]: reused steps hand their cached outputs on, the
//! others run through the caller's [`StepExecutor`] into a staging folder
//! that becomes the cache entry only when the step succeeded.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use lathe_core::now_millis;

use crate::{
    cache::{Cache, Manifest, CACHE_FORMAT},
    graph::{Data, Step},
    plan::{Action, Plan, Planned, Reason},
    Error, Pipeline, Result,
};

/// A finished step whose outputs another step reads.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// The needed step.
    pub step: &'a Step,
    /// Its outputs.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

/// Everything an executor gets to run one step.
#[derive(Debug)]
pub struct StepRun<'a> {
    /// The step as declared.
    pub step: &'a Step,
    /// Its cache key.
    pub key: &'a str,
    /// Why it runs.
    pub reason: &'a Reason,
    /// Where it writes its outputs (empty at the start).
    pub out_dir: &'a Path,
    /// The data source it reads, with its content digest.
    pub data: Option<(&'a Data, &'a str)>,
    /// The steps it needs, finished, in the order of `needs`.
    pub inputs: Vec<Input<'a>>,
}

impl StepRun<'_> {
    /// The needed step called `name`.
    pub fn input(&self, name: &str) -> Option<&Input<'_>> {
        self.inputs.iter().find(|i| i.step.name == name)
    }
}

/// What a step reports when it succeeded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepOutcome {
    /// The tracking run that recorded it.
    pub run_id: Option<String>,
    /// Anything later steps or the summary need (metrics, a model URI, …).
    pub summary: serde_json::Value,
}

/// Runs steps of a given kind: the CLI implements it with the learners,
/// the evaluation and the store.
pub trait StepExecutor {
    /// The executor's error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Runs one step, writing its outputs under `run.out_dir`.
    fn execute(&mut self, run: &StepRun<'_>) -> std::result::Result<StepOutcome, Self::Error>;
}

/// Progress of a run, for the caller to show.
#[derive(Debug)]
pub enum Event<'a> {
    /// The step's cached outputs are reused.
    Reused(&'a Planned, &'a Manifest),
    /// The step starts.
    Started(&'a Planned, &'a Reason),
    /// The step finished and is cached.
    Finished(&'a Planned, &'a Manifest),
}

/// Runs `plan`, in order, stopping at the first failing step (whose
/// staging folder is discarded; the steps before it stay cached). Returns
/// every visited step's manifest, in order.
pub fn run<E: StepExecutor>(
    pipeline: &Pipeline,
    plan: &Plan,
    cache: &Cache,
    executor: &mut E,
    mut on_event: impl FnMut(Event<'_>),
) -> Result<Vec<Manifest>> {
    let mut finished: BTreeMap<&str, Manifest> = BTreeMap::new();
    for planned in &plan.steps {
        let step = pipeline.step(&planned.name).ok_or_else(|| Error::UnknownStep {
            step: planned.name.clone(),
            file: pipeline.file.clone(),
            available: pipeline
                .steps
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        let manifest = match &planned.action {
            Action::Reuse => {
                let manifest = cache.manifest(&planned.name, &planned.key)?.ok_or_else(|| {
                    Error::Manifest {
                        path: cache.out_dir(&planned.name, &planned.key),
                        message: "the cached result disappeared since the plan was made".into(),
                    }
                })?;
                on_event(Event::Reused(planned, &manifest));
                manifest
            }
            Action::Run(reason) => {
                on_event(Event::Started(planned, reason));
                let manifest =
                    execute(pipeline, step, planned, reason, cache, &finished, executor)?;
                on_event(Event::Finished(planned, &manifest));
                manifest
            }
        };
        finished.insert(&planned.name, manifest);
    }
    Ok(plan.steps.iter().filter_map(|p| finished.remove(p.name.as_str())).collect())
}

fn execute<E: StepExecutor>(
    pipeline: &Pipeline,
    step: &Step,
    planned: &Planned,
    reason: &Reason,
    cache: &Cache,
    finished: &BTreeMap<&str, Manifest>,
    executor: &mut E,
) -> Result<Manifest> {
    let inputs = step
        .config
        .needs
        .iter()
        .filter_map(|need| {
            let manifest = finished.get(need.as_str())?.clone();
            Some(Input {
                step: pipeline.step(need)?,
                dir: cache.out_dir(need, &manifest.key),
                manifest,
            })
        })
        .collect();
    let data = match (&step.config.data, &planned.parts.data) {
        (Some(name), Some((_, digest))) => pipeline.data(name).map(|d| (d, digest.as_str())),
        _ => None,
    };
    let staging = cache.stage(&planned.name, &planned.key)?;
    let out_dir = staging.join("out");
    let run = StepRun { step, key: &planned.key, reason, out_dir: &out_dir, data, inputs };
    let outcome = match executor.execute(&run) {
        Ok(outcome) => outcome,
        Err(e) => {
            cache.discard(&staging);
            return Err(Error::StepFailed { step: planned.name.clone(), cause: Box::new(e) });
        }
    };
    let manifest = Manifest {
        format: CACHE_FORMAT,
        step: planned.name.clone(),
        kind: planned.kind.as_str().to_string(),
        key: planned.key.clone(),
        run_id: outcome.run_id,
        finished_ms: now_millis(),
        summary: outcome.summary,
    };
    cache.commit(&staging, &manifest, &planned.parts)?;
    Ok(manifest)
}
