//! Trials: what each one is opened with, what it found, where it reports
//! ([`TrialRuns`], a child run per trial in the CLI), and the loop state
//! that fits, scores and records them one at a time.

use lathe_core::{now_millis, Metric, RunRecorder, Tag};

use super::{Config, SearchData, SelectionMetric};
use crate::{AnyLearner, Error, MemoryRecorder, Result, TabularLearner, TabularModel};

/// What a trial's recorder is opened with.
#[derive(Debug, Clone, Copy)]
pub struct TrialSpec<'a> {
    /// Position among all trials, from 0.
    pub index: usize,
    /// Which configuration (halving fits one configuration once per rung).
    pub candidate: usize,
    /// Halving rung, from 0 (always 0 for grid and random).
    pub rung: usize,
    /// The searched values, and the rounds for halving.
    pub params: &'a [(String, String)],
}

/// One finished trial.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// Position among all trials, from 0.
    pub index: usize,
    /// Which configuration.
    pub candidate: usize,
    /// Halving rung (0 for grid and random).
    pub rung: usize,
    /// The searched values (and the rounds for halving), applied over the base params.
    pub params: Config,
    /// Rounds asked for (`num_iterations` for gbm, `num_trees` for forest);
    /// `None` for linear models.
    pub budget: Option<usize>,
    /// Rounds (trees per output) the fitted model has, for tree learners;
    /// fewer than asked when early stopping ended the fit.
    pub rounds: Option<usize>,
    /// The selection metric on the validation rows.
    pub score: f64,
}

/// Where trials report: one recorder per trial, opened before its fit and
/// finished after it. The CLI opens a child run (tag `mlflow.parentRunId`)
/// and ends it; a recorder dropped unfinished belongs to a failed trial.
pub trait TrialRuns {
    /// The recorder of one trial.
    type Recorder: RunRecorder;
    /// Why a run could not be opened or finished.
    type Error: Into<Box<dyn std::error::Error + Send + Sync>>;
    /// Opens the recorder of the trial about to be fitted.
    fn open(&mut self, trial: &TrialSpec<'_>) -> std::result::Result<Self::Recorder, Self::Error>;
    /// Closes a trial's recorder once its score is logged.
    fn finish(
        &mut self,
        trial: &Trial,
        recorder: Self::Recorder,
    ) -> std::result::Result<(), Self::Error>;
}

/// Keeps every trial's report in memory: for tests and untracked searches.
#[derive(Debug, Clone, Default)]
pub struct MemoryTrials {
    /// Each finished trial with what it reported.
    pub runs: Vec<(Trial, MemoryRecorder)>,
}

impl TrialRuns for MemoryTrials {
    type Recorder = MemoryRecorder;
    type Error = std::convert::Infallible;
    fn open(&mut self, _: &TrialSpec<'_>) -> std::result::Result<MemoryRecorder, Self::Error> {
        Ok(MemoryRecorder::default())
    }
    fn finish(
        &mut self,
        trial: &Trial,
        recorder: MemoryRecorder,
    ) -> std::result::Result<(), Self::Error> {
        self.runs.push((trial.clone(), recorder));
        Ok(())
    }
}

/// `base` with `extra` on top: a key in `extra` replaces the base's value
/// (one value per key, as a tracking store accepts params).
pub(super) fn with(base: &[(String, String)], extra: &[(String, String)]) -> Config {
    let mut out: Config = Vec::with_capacity(base.len() + extra.len());
    for (k, v) in base.iter().chain(extra) {
        out.retain(|(key, _)| key != k);
        out.push((k.clone(), v.clone()));
    }
    out
}

/// The running search: what each trial needs and what they found so far.
pub(super) struct State<'a, T: TrialRuns> {
    pub(super) name: &'a str,
    pub(super) base: &'a [(String, String)],
    pub(super) strategy: &'static str,
    pub(super) metric: SelectionMetric,
    pub(super) data: SearchData<'a>,
    pub(super) runs: &'a mut T,
    pub(super) trials: Vec<Trial>,
    /// The best eligible trial so far and its model.
    pub(super) best: Option<(usize, TabularModel)>,
}

impl<T: TrialRuns> State<'_, T> {
    /// Fits, scores and records one trial; `eligible`: it may be the winner.
    pub(super) fn trial(
        &mut self,
        candidate: usize,
        rung: usize,
        params: Config,
        eligible: bool,
    ) -> Result<f64> {
        let index = self.trials.len();
        let learner = AnyLearner::new(self.name, &with(self.base, &params))?;
        let spec = TrialSpec { index, candidate, rung, params: &params };
        let mut recorder = self.runs.open(&spec).map_err(|e| Error::Recorder(e.into()))?;
        let tags = [
            Tag::new("lathe.search.strategy", self.strategy),
            Tag::new("lathe.search.trial", index.to_string()),
            Tag::new("lathe.search.candidate", candidate.to_string()),
            Tag::new("lathe.search.rung", rung.to_string()),
        ];
        recorder.set_tags(&tags).map_err(Error::recorder)?;
        let d = self.data;
        let model = learner.fit(d.x, d.y, Some((d.x_valid, d.y_valid)), &mut recorder)?;
        let score = self.metric.score(d.y_valid, &model.predict(d.x_valid)?)?;
        let point = Metric {
            key: format!("valid_{}", self.metric.name()),
            value: score,
            timestamp: now_millis(),
            step: 0,
        };
        recorder.log_metrics(&[point]).map_err(Error::recorder)?;
        let rounds = model.trees().map(|t| t.iterations());
        let budget = super::budget(&learner).map(|(_, n)| n);
        let trial = Trial { index, candidate, rung, params, budget, rounds, score };
        self.runs.finish(&trial, recorder).map_err(|e| Error::Recorder(e.into()))?;
        self.trials.push(trial);
        // A NaN never wins: it would compare as neither better nor worse and stick.
        let improves = score.is_finite()
            && match &self.best {
                None => true,
                Some((b, _)) => self.metric.better(score, self.trials[*b].score),
            };
        if eligible && improves {
            self.best = Some((index, model));
        }
        Ok(score)
    }
}
