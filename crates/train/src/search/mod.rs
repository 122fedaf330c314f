//! Hyperparameter search over a declared [`SearchSpace`] for the tabular
//! learners: grid, random, and successive halving over boosting rounds.
//!
//! Each trial is one fit of [`AnyLearner`] on the fitting rows, scored on
//! the validation rows only, and reported through its own
//! [`RunRecorder`] that the caller opens ([`TrialRuns`]): the CLI makes
//! each one a child run of the training run. The best trial is chosen on
//! that validation score alone and its fitted model is handed back, so
//! the test split is never looked at.
//!
//! ```
//! use lathe_train::search::{SearchConfig, SearchSpace};
//! let config = SearchConfig::from_json(&serde_json::json!({
//!     "strategy": "halving", "trials": 9, "eta": 3, "seed": 7, "metric": "roc_auc",
//! })).unwrap();
//! let space = SearchSpace::from_json(&serde_json::json!({ "num_leaves": [7, 15, 31] })).unwrap();
//! assert_eq!(space.dimensions().len(), 1);
//! assert_eq!(config.seed, 7);
//! ```

mod halving;
mod metric;
mod space;
mod trials;

use lathe_core::{FeatureMatrix, Target};
use serde_json::Value;

pub use metric::SelectionMetric;
pub use space::{Config, Dimension, SearchSpace};
pub use trials::{MemoryTrials, Trial, TrialRuns, TrialSpec};

use trials::{with, State};

use crate::{AnyLearner, Error, Result, TabularModel};

/// How configurations are chosen and how much each one is trained.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Every combination of the listed values (ranges are refused).
    Grid,
    /// `trials` configurations drawn from the space.
    Random {
        /// How many to draw.
        trials: usize,
    },
    /// `trials` drawn configurations raced by successive halving on the
    /// learner's rounds (`num_iterations` for gbm, `num_trees` for forest).
    Halving {
        /// How many start.
        trials: usize,
        /// Keep the best `1/eta` per rung and give them `eta` times the rounds.
        eta: usize,
        /// Rounds of the first rung; `None`: `max_rounds / eta²` (at least 1).
        min_rounds: Option<usize>,
        /// Rounds of the last rung; `None`: the learner's own (base params or default).
        max_rounds: Option<usize>,
    },
}

impl Strategy {
    /// `grid`, `random` or `halving`.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Grid => "grid",
            Strategy::Random { .. } => "random",
            Strategy::Halving { .. } => "halving",
        }
    }
}

/// A search: the strategy, the seed of its draws, and the metric it ranks by.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchConfig {
    /// Grid, random or halving.
    pub strategy: Strategy,
    /// Seed of the random draws; the same seed draws the same trials.
    pub seed: u64,
    /// The ranking metric; `None`: [`SelectionMetric::default_for`] the task.
    pub metric: Option<SelectionMetric>,
}

fn config_error(problem: impl Into<String>) -> Error {
    Error::Search(problem.into())
}

fn whole(table: &serde_json::Map<String, Value>, key: &str, min: u64) -> Result<Option<usize>> {
    match table.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|&n| n >= min)
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                config_error(format!("'{key}' must be a whole number >= {min}, got {v}"))
            }),
    }
}

impl SearchConfig {
    /// Reads `{ strategy = "grid" | "random" | "halving", trials, eta,
    /// min_rounds, max_rounds, seed, metric }`; `trials` defaults to 10,
    /// `eta` to 3, `seed` to 0. Unknown keys and keys that do not belong
    /// to the strategy are refused by name.
    pub fn from_json(value: &Value) -> Result<SearchConfig> {
        let Value::Object(table) = value else {
            return Err(config_error(format!(
                "expected a table such as {{ strategy = \"random\", trials = 8 }}, got {value}"
            )));
        };
        let strategy = match table.get("strategy") {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => {
                return Err(config_error(format!("'strategy' must be a string, got {other}")))
            }
            None => return Err(config_error("'strategy' is missing (grid, random or halving)")),
        };
        let allowed: &[&str] = match strategy {
            "grid" => &[],
            "random" => &["trials"],
            "halving" => &["trials", "eta", "min_rounds", "max_rounds"],
            other => {
                return Err(config_error(format!(
                    "unknown strategy '{other}': expected grid, random or halving"
                )))
            }
        };
        for key in table.keys() {
            if !["strategy", "seed", "metric"].contains(&key.as_str())
                && !allowed.contains(&key.as_str())
            {
                return Err(config_error(format!("unknown key '{key}' for strategy '{strategy}'")));
            }
        }
        let trials = whole(table, "trials", 1)?.unwrap_or(10);
        let strategy = match strategy {
            "grid" => Strategy::Grid,
            "random" => Strategy::Random { trials },
            _ => Strategy::Halving {
                trials,
                eta: whole(table, "eta", 2)?.unwrap_or(3),
                min_rounds: whole(table, "min_rounds", 1)?,
                max_rounds: whole(table, "max_rounds", 1)?,
            },
        };
        let seed = match table.get("seed") {
            None => 0,
            Some(v) => v
                .as_u64()
                .ok_or_else(|| config_error(format!("'seed' must be a whole number, got {v}")))?,
        };
        let metric = match table.get("metric") {
            None => None,
            Some(Value::String(m)) => Some(SelectionMetric::parse(m)?),
            Some(other) => {
                return Err(config_error(format!("'metric' must be a string, got {other}")))
            }
        };
        Ok(SearchConfig { strategy, seed, metric })
    }
}

/// What a search found.
#[derive(Debug, Clone)]
pub struct SearchOutcome {
    /// Every trial, in the order they ran.
    pub trials: Vec<Trial>,
    /// Index into `trials` of the best one (for halving, among the last rung's).
    pub best: usize,
    /// The metric trials were ranked by.
    pub metric: SelectionMetric,
    /// The best trial's fitted model.
    pub model: TabularModel,
    /// The base params followed by the best trial's: refitting with these
    /// (`AnyLearner::new(name, &params)`) reproduces `model`.
    pub params: Config,
}

impl SearchOutcome {
    /// The best trial.
    pub fn best_trial(&self) -> &Trial {
        &self.trials[self.best]
    }

    /// Sum over trials of the rounds each asked for: what the search cost
    /// in boosting rounds (0 for linear models).
    pub fn total_rounds(&self) -> usize {
        self.trials.iter().filter_map(|t| t.budget).sum()
    }
}

/// The data a search fits on and ranks by.
#[derive(Debug, Clone, Copy)]
pub struct SearchData<'a> {
    /// Fitting rows.
    pub x: &'a FeatureMatrix,
    /// Their target.
    pub y: &'a Target,
    /// Validation rows: early stopping and ranking use these only.
    pub x_valid: &'a FeatureMatrix,
    /// Their target.
    pub y_valid: &'a Target,
}

/// The parameter that counts a learner's rounds, and its current value.
fn budget(learner: &AnyLearner) -> Option<(&'static str, usize)> {
    match learner {
        AnyLearner::Gbm(g) => Some(("num_iterations", g.num_iterations)),
        AnyLearner::Forest(f) => Some(("num_trees", f.num_trees)),
        AnyLearner::Linear(_) => None,
    }
}

/// Searches `space` for learner `name` (`gbm`, `forest` or `linear`) over
/// `base` params, as `config` says; each trial reports to a recorder from
/// `runs`. Every configuration is checked against the learner before the
/// first fit, so a bad parameter name or value fails fast.
pub fn search<T: TrialRuns>(
    name: &str,
    base: &[(String, String)],
    space: &SearchSpace,
    config: &SearchConfig,
    data: SearchData<'_>,
    runs: &mut T,
) -> Result<SearchOutcome> {
    let learner = AnyLearner::new(name, base)?;
    let metric = config.metric.unwrap_or_else(|| SelectionMetric::default_for(&data.y.kind));
    metric.check(&data.y.kind)?;
    if data.x_valid.rows() == 0 {
        return Err(Error::Empty { what: "search validation rows" });
    }
    let configs = match &config.strategy {
        Strategy::Grid => space.grid()?,
        Strategy::Random { trials } | Strategy::Halving { trials, .. } => {
            space.sample(*trials, config.seed)
        }
    };
    let halving = match &config.strategy {
        Strategy::Halving { eta, min_rounds, max_rounds, .. } => {
            let Some((param, current)) = budget(&learner) else {
                return Err(Error::Search(format!(
                    "halving needs rounds to halve and '{name}' has none (it solves to convergence): use grid or random"
                )));
            };
            if space.contains(param) {
                return Err(Error::SearchSpace {
                    parameter: param.into(),
                    problem:
                        "halving sets the rounds itself: drop it from the space or use max_rounds"
                            .into(),
                });
            }
            let max = max_rounds.unwrap_or(current);
            let min = min_rounds.unwrap_or((max / (eta * eta)).max(1));
            if min > max {
                return Err(Error::Search(format!(
                    "min_rounds ({min}) is above max_rounds ({max})"
                )));
            }
            Some((
                param,
                halving::Schedule {
                    candidates: configs.len(),
                    eta: *eta,
                    min_rounds: min,
                    max_rounds: max,
                },
            ))
        }
        _ => None,
    };
    for c in &configs {
        AnyLearner::new(name, &with(base, c))?;
    }

    let mut state = State {
        name,
        base,
        strategy: config.strategy.name(),
        metric,
        data,
        runs,
        trials: Vec::new(),
        best: None,
    };
    match halving {
        None => {
            for (candidate, c) in configs.iter().enumerate() {
                state.trial(candidate, 0, c.clone(), true)?;
            }
        }
        Some((param, schedule)) => {
            schedule.run(
                |a, b| metric.better(a, b),
                |candidate, rung, rounds, last| {
                    let mut params = configs[candidate].clone();
                    params.push((param.to_string(), rounds.to_string()));
                    state.trial(candidate, rung, params, last)
                },
            )?;
        }
    }
    let State { trials, best, .. } = state;
    let (best, model) =
        best.ok_or_else(|| Error::Search("no trial has a finite validation score".into()))?;
    let params = with(base, &trials[best].params);
    Ok(SearchOutcome { trials, best, metric, model, params })
}
