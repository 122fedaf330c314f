//! Deciding, before anything runs, which steps reuse their cached outputs
//! and which run, and why: what `lathe run --dry-run` prints.

use std::{collections::BTreeMap, fmt};

use crate::{
    cache::{file_digest, json_digest, Cache, KeyParts, CACHE_FORMAT},
    config::StepKind,
    Error, Pipeline, Result,
};

/// Why a step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// `--force`.
    Forced,
    /// It never finished before.
    FirstRun,
    /// Its configuration changed.
    Config,
    /// The content of the data source it reads changed.
    Data(String),
    /// A step it needs has a new key.
    Input(String),
    /// lathe's version changed.
    LatheVersion,
    /// Its key is unchanged but the cached result is gone.
    Missing,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Forced => f.write_str("--force"),
            Reason::FirstRun => f.write_str("never ran"),
            Reason::Config => f.write_str("its configuration changed"),
            Reason::Data(name) => write!(f, "data `{name}` changed"),
            Reason::Input(step) => write!(f, "input `{step}` changed"),
            Reason::LatheVersion => f.write_str("lathe's version changed"),
            Reason::Missing => f.write_str("its cached result is gone"),
        }
    }
}

/// What happens to one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Outputs cached under the same key are reused.
    Reuse,
    /// The step runs.
    Run(Reason),
}

/// One step of a [`Plan`].
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Step name.
    pub name: String,
    /// Step kind.
    pub kind: StepKind,
    /// Its cache key.
    pub key: String,
    /// Reuse or run, and why.
    pub action: Action,
    pub(crate) parts: KeyParts,
}

/// The steps a run will visit, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// One entry per selected step, each after the steps it needs.
    pub steps: Vec<Planned>,
}

impl Plan {
    /// Plans `target` and what it needs (everything when `None`); with
    /// `force` every selected step runs.
    pub fn new(
        pipeline: &Pipeline,
        cache: &Cache,
        target: Option<&str>,
        force: bool,
        lathe_version: &str,
    ) -> Result<Plan> {
        let selected = pipeline.selection(target)?;
        let mut digests: BTreeMap<&str, String> = BTreeMap::new();
        let mut keys: BTreeMap<&str, String> = BTreeMap::new();
        let mut steps = Vec::with_capacity(selected.len());
        for step in selected {
            let data = match &step.config.data {
                None => None,
                Some(name) => {
                    let digest = match digests.get(name.as_str()) {
                        Some(d) => d.clone(),
                        None => {
                            let source = pipeline.data(name).ok_or_else(|| Error::Invalid {
                                file: pipeline.file.clone(),
                                line: step.line,
                                message: format!("step `{}`: no data `{name}`", step.name),
                            })?;
                            let d = file_digest(&source.path).map_err(|e| Error::Data {
                                name: name.clone(),
                                file: pipeline.file.clone(),
                                line: source.line,
                                path: source.path.clone(),
                                source: e,
                            })?;
                            digests.insert(name, d.clone());
                            d
                        }
                    };
                    Some((name.clone(), digest))
                }
            };
            let needs = step
                .config
                .needs
                .iter()
                .map(|n| (n.clone(), keys.get(n.as_str()).cloned().unwrap_or_default()))
                .collect();
            let parts = KeyParts {
                format: CACHE_FORMAT,
                lathe_version: lathe_version.to_string(),
                config: json_digest(&step.config),
                data,
                needs,
            };
            let key = parts.key();
            let action = if force {
                Action::Run(Reason::Forced)
            } else if cache.manifest(&step.name, &key)?.is_some() {
                Action::Reuse
            } else {
                Action::Run(why(cache.latest(&step.name)?, &parts))
            };
            keys.insert(&step.name, key.clone());
            steps.push(Planned {
                name: step.name.clone(),
                kind: step.config.kind,
                key,
                action,
                parts,
            });
        }
        Ok(Plan { steps })
    }

    /// How many steps run.
    pub fn to_run(&self) -> usize {
        self.steps.iter().filter(|s| matches!(s.action, Action::Run(_))).count()
    }
}

/// The first difference between the parts a step last ran under and now.
fn why(latest: Option<KeyParts>, now: &KeyParts) -> Reason {
    let Some(then) = latest else { return Reason::FirstRun };
    if then.lathe_version != now.lathe_version || then.format != now.format {
        return Reason::LatheVersion;
    }
    if then.config != now.config {
        return Reason::Config;
    }
    if then.data != now.data {
        return Reason::Data(now.data.as_ref().map(|(n, _)| n.clone()).unwrap_or_default());
    }
    if let Some((name, _)) = now.needs.iter().find(|need| !then.needs.contains(need)) {
        return Reason::Input(name.clone());
    }
    Reason::Missing
}
