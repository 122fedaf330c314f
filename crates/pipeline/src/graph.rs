//! The validated pipeline: every reference resolved, every step's keys
//! checked against its kind, and the steps in an order that runs each one
//! after the steps it needs (declaration order among equals).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use crate::{
    config::{self, line_of, DataSource, ProjectConfig, StepConfig, StepKind},
    Error, Result,
};

/// A data source as declared.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    /// `NAME` in `[data.NAME]`.
    pub name: String,
    /// Its line in `lathe.toml`.
    pub line: usize,
    /// The declaration.
    pub source: DataSource,
    /// `source.path`, resolved against the folder of `lathe.toml`.
    pub path: PathBuf,
}

/// A step as declared.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `NAME` in `[steps.NAME]`.
    pub name: String,
    /// Its line in `lathe.toml`.
    pub line: usize,
    /// The declaration.
    pub config: StepConfig,
}

/// A `lathe.toml` that can run.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// The file it was read from.
    pub file: PathBuf,
    /// `[project]`.
    pub project: ProjectConfig,
    /// Data sources, in declaration order.
    pub data: Vec<Data>,
    /// Steps, each after the steps it needs.
    pub steps: Vec<Step>,
}

impl Pipeline {
    /// Reads and validates `file`.
    pub fn load(file: &Path) -> Result<Pipeline> {
        let text = std::fs::read_to_string(file).map_err(|source| Error::Parse {
            file: file.to_path_buf(),
            line: 0,
            message: format!("cannot read the pipeline file: {source}"),
        })?;
        Pipeline::parse(file, &text)
    }

    /// Validates `text` as if read from `file` (relative data paths resolve
    /// against `file`'s folder).
    pub fn parse(file: &Path, text: &str) -> Result<Pipeline> {
        let raw = config::parse(file, text)?;
        let invalid = |line, message| Error::Invalid { file: file.to_path_buf(), line, message };
        let project_line = line_of(text, raw.project.span().start);
        let project = raw.project.into_inner();
        if project.name.trim().is_empty() {
            return Err(invalid(project_line, "[project] `name` must not be empty".into()));
        }
        let root = file.parent().unwrap_or(Path::new("."));
        let mut data: Vec<Data> = raw
            .data
            .into_iter()
            .map(|(name, spanned)| {
                let line = line_of(text, spanned.span().start);
                let source = spanned.into_inner();
                let path = root.join(&source.path);
                Data { name, line, source, path }
            })
            .collect();
        data.sort_by_key(|d| d.line);
        let mut steps: Vec<Step> = raw
            .steps
            .into_iter()
            .map(|(name, spanned)| Step {
                name,
                line: line_of(text, spanned.span().start),
                config: spanned.into_inner(),
            })
            .collect();
        steps.sort_by_key(|s| s.line);
        check_references(&steps, &data).map_err(|(line, message)| invalid(line, message))?;
        let steps = order(steps).map_err(|(line, message)| invalid(line, message))?;
        Ok(Pipeline { file: file.to_path_buf(), project, data, steps })
    }

    /// The data source called `name`.
    pub fn data(&self, name: &str) -> Option<&Data> {
        self.data.iter().find(|d| d.name == name)
    }

    /// The step called `name`.
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// `target` and every step it needs, directly or not, in run order; all
    /// steps when `target` is `None`.
    pub fn selection(&self, target: Option<&str>) -> Result<Vec<&Step>> {
        let Some(target) = target else { return Ok(self.steps.iter().collect()) };
        if self.step(target).is_none() {
            return Err(Error::UnknownStep {
                step: target.to_string(),
                file: self.file.clone(),
                available: self
                    .steps
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let mut wanted = BTreeSet::from([target]);
        // Run order puts every need before its dependant, so one backward pass closes the set.
        for step in self.steps.iter().rev() {
            if wanted.contains(step.name.as_str()) {
                wanted.extend(step.config.needs.iter().map(String::as_str));
            }
        }
        Ok(self.steps.iter().filter(|s| wanted.contains(s.name.as_str())).collect())
    }
}

/// The kinds a step of each kind must find among its needs.
fn required_need(kind: StepKind) -> Option<StepKind> {
    match kind {
        StepKind::Profile | StepKind::Split => None,
        StepKind::Train => Some(StepKind::Split),
        StepKind::Evaluate => Some(StepKind::Train),
        StepKind::Register => Some(StepKind::Evaluate),
        StepKind::Promote => Some(StepKind::Register),
    }
}

fn check_references(steps: &[Step], data: &[Data]) -> std::result::Result<(), (usize, String)> {
    let kinds: BTreeMap<&str, StepKind> =
        steps.iter().map(|s| (s.name.as_str(), s.config.kind)).collect();
    let names = || steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
    for step in steps {
        let at = |message: String| (step.line, format!("step `{}`: {message}", step.name));
        step.config.check_keys().map_err(at)?;
        if let Some(source) = &step.config.data {
            if !data.iter().any(|d| &d.name == source) {
                let declared: Vec<&str> = data.iter().map(|d| d.name.as_str()).collect();
                return Err(at(format!(
                    "`data = \"{source}\"` is not a declared [data.*] source (declared: {})",
                    if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
                )));
            }
        }
        for need in &step.config.needs {
            if need == &step.name {
                return Err(at("it needs itself".into()));
            }
            if !kinds.contains_key(need.as_str()) {
                return Err(at(format!(
                    "needs `{need}`, which is not a step (steps: {})",
                    names()
                )));
            }
        }
        if let Some(kind) = required_need(step.config.kind) {
            if !step.config.needs.iter().any(|n| kinds.get(n.as_str()) == Some(&kind)) {
                return Err(at(format!(
                    "`{}` steps need a `{kind}` step in `needs`",
                    step.config.kind
                )));
            }
        }
    }
    Ok(())
}

/// Kahn's algorithm, taking the earliest-declared ready step each time;
/// what is left over lies on or behind a cycle, which is then named.
fn order(steps: Vec<Step>) -> std::result::Result<Vec<Step>, (usize, String)> {
    let index: BTreeMap<&str, usize> =
        steps.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
    let needs: Vec<Vec<usize>> =
        steps.iter().map(|s| s.config.needs.iter().map(|n| index[n.as_str()]).collect()).collect();
    let mut done = vec![false; steps.len()];
    let mut order = Vec::with_capacity(steps.len());
    while order.len() < steps.len() {
        let ready = (0..steps.len()).find(|&i| !done[i] && needs[i].iter().all(|&n| done[n]));
        match ready {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => {
                let cycle = find_cycle(&needs, &done);
                let first = &steps[cycle[0]];
                let path: Vec<&str> = cycle.iter().map(|&i| steps[i].name.as_str()).collect();
                return Err((
                    first.line,
                    format!(
                        "the steps' `needs` form a cycle: {} -> {} (each needs the next)",
                        path.join(" -> "),
                        path[0]
                    ),
                ));
            }
        }
    }
    let mut slots: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// Walks unfinished needs from an unfinished step until a step repeats.
fn find_cycle(needs: &[Vec<usize>], done: &[bool]) -> Vec<usize> {
    let Some(mut at) = (0..needs.len()).find(|&i| !done[i]) else { return Vec::new() };
    let mut path: Vec<usize> = Vec::new();
    loop {
        if let Some(pos) = path.iter().position(|&p| p == at) {
            return path.split_off(pos);
        }
        path.push(at);
        // An unfinished step always has an unfinished need, else it would have been ready.
        match needs[at].iter().find(|&&n| !done[n]) {
            Some(&next) => at = next,
            None => return path,
        }
    }
}
