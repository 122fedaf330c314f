//! `lathe.toml`: the project, its data sources and its steps, read with
//! unknown keys refused and every error pointing at a line.
//!
//! ```toml
//! [project]
//! name = "adult-income"
//!
//! [data.adult]
//! path = "data/adult_income.csv"
//! target = "income"
//!
//! [steps.split]
//! kind = "split"
//! data = "adult"
//! test_size = 0.2
//!
//! [steps.gbm]
//! kind = "train"
//! needs = ["split"]
//! learner = "gbm"
//! params = { learning_rate = 0.1 }
//! ```
//!
//! Steps are one flat table type (rather than one type per kind) so that
//! serde reads them straight from the TOML deserializer, which keeps the
//! position of an unknown or mistyped key; which keys a kind takes is then
//! checked by hand in [`StepConfig::check_keys`].

use std::{collections::BTreeMap, fmt, path::Path};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::{Error, Result};

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub(crate) project: Spanned<ProjectConfig>,
    #[serde(default)]
    pub(crate) data: BTreeMap<String, Spanned<DataSource>>,
    #[serde(default)]
    pub(crate) steps: BTreeMap<String, Spanned<StepConfig>>,
    /// What `lathe server --config` reads (windows, alert rules and what
    /// they trigger, webhooks); checked there, carried here so one file
    /// declares the whole loop.
    #[serde(default, rename = "monitoring")]
    pub(crate) _monitoring: Option<toml::Value>,
    /// See `monitoring`.
    #[serde(default, rename = "alerts")]
    pub(crate) _alerts: Option<toml::Value>,
    /// See `monitoring`.
    #[serde(default, rename = "webhooks")]
    pub(crate) _webhooks: Option<toml::Value>,
}

/// `[project]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// Project name; also the experiment's unless `experiment` is set.
    pub name: String,
    /// The tracking experiment the pipeline's runs go to.
    pub experiment: Option<String>,
}

impl ProjectConfig {
    /// The experiment runs are logged to.
    pub fn experiment(&self) -> &str {
        self.experiment.as_deref().unwrap_or(&self.name)
    }
}

/// `[data.NAME]`: a table file the steps read.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataSource {
    /// Path to a CSV, Parquet or JSONL file, relative to `lathe.toml`.
    pub path: String,
    /// The column to predict.
    pub target: Option<String>,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Profile a data source (and store the reference profile).
    Profile,
    /// Split a data source into train and test rows.
    Split,
    /// Fit preprocessing and a learner on the training rows of a split.
    Train,
    /// Evaluate trained candidates on the test rows and pick the best.
    Evaluate,
    /// Register the best candidate as a new model version.
    Register,
    /// Compare the new version with the champion and move the alias if it wins.
    Promote,
}

impl StepKind {
    /// The name used in `kind = "..."`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Profile => "profile",
            StepKind::Split => "split",
            StepKind::Train => "train",
            StepKind::Evaluate => "evaluate",
            StepKind::Register => "register",
            StepKind::Promote => "promote",
        }
    }

    /// Keys besides `kind` and `needs` this kind takes, and which of them it requires.
    fn keys(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            StepKind::Profile => (&["data"], &["data"]),
            StepKind::Split => (&["data", "strategy", "test_size", "by", "seed"], &["data"]),
            StepKind::Train => {
                (&["learner", "params", "seed", "search", "space", "preprocess"], &["learner"])
            }
            StepKind::Evaluate => (&["metric", "slices"], &["metric"]),
            StepKind::Register => (&["model"], &["model"]),
            StepKind::Promote => (&["alias", "margin", "metric"], &[]),
        }
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[steps.NAME]`. Which keys apply depends on `kind`; the rest must be absent.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// What the step does.
    pub kind: StepKind,
    /// Steps whose outputs this one reads.
    #[serde(default)]
    pub needs: Vec<String>,
    /// The `[data.NAME]` source (profile, split).
    pub data: Option<String>,
    /// `random`, `stratified`, `group` or `time` (split).
    pub strategy: Option<String>,
    /// Share of rows held out for testing (split).
    pub test_size: Option<f64>,
    /// The group or time column (split).
    pub by: Option<String>,
    /// Seed (split, train).
    pub seed: Option<u64>,
    /// `gbm`, `linear`, `forest` (train).
    pub learner: Option<String>,
    /// Learner hyperparameters (train).
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// The fitted preprocessing: `imputation`, `missing_indicators`,
    /// `scaling`, `categorical`, `max_categories`, `max_features` (train;
    /// lathe's defaults for what is not set).
    #[serde(default)]
    pub preprocess: BTreeMap<String, toml::Value>,
    /// Hyperparameter search: `strategy` (`grid`, `random`, `halving`),
    /// `trials`, `metric`, … (train; needs `space`).
    #[serde(default)]
    pub search: BTreeMap<String, toml::Value>,
    /// The searched hyperparameters: a list of choices, or
    /// `{ low, high, log, int }` (train, with `search`).
    #[serde(default)]
    pub space: BTreeMap<String, toml::Value>,
    /// The metric candidates are ranked by, e.g. `roc_auc` (evaluate), or
    /// the gate compares (promote; default: the evaluate step's).
    pub metric: Option<String>,
    /// Columns to report per-slice metrics for (evaluate).
    #[serde(default)]
    pub slices: Vec<String>,
    /// Registered model name (register).
    pub model: Option<String>,
    /// The alias a winner takes, default `champion` (promote).
    pub alias: Option<String>,
    /// How much better the challenger must be (promote).
    pub margin: Option<f64>,
}

impl StepConfig {
    /// The keys (besides `kind` and `needs`) that are set.
    fn set_keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        let mut add = |set: bool, key| {
            if set {
                keys.push(key);
            }
        };
        add(self.data.is_some(), "data");
        add(self.strategy.is_some(), "strategy");
        add(self.test_size.is_some(), "test_size");
        add(self.by.is_some(), "by");
        add(self.seed.is_some(), "seed");
        add(self.learner.is_some(), "learner");
        add(!self.params.is_empty(), "params");
        add(!self.search.is_empty(), "search");
        add(!self.preprocess.is_empty(), "preprocess");
        add(!self.space.is_empty(), "space");
        add(self.metric.is_some(), "metric");
        add(!self.slices.is_empty(), "slices");
        add(self.model.is_some(), "model");
        add(self.alias.is_some(), "alias");
        add(self.margin.is_some(), "margin");
        keys
    }

    /// Refuses keys that do not apply to the kind and missing required ones.
    pub(crate) fn check_keys(&self) -> std::result::Result<(), String> {
        let (allowed, required) = self.kind.keys();
        let set = self.set_keys();
        if let Some(extra) = set.iter().find(|k| !allowed.contains(k)) {
            return Err(format!(
                "`{extra}` does not apply to `{}` steps (they take: {})",
                self.kind,
                allowed.join(", ")
            ));
        }
        if let Some(missing) = required.iter().find(|k| !set.contains(k)) {
            return Err(format!("`{}` steps need `{missing}`", self.kind));
        }
        if set.contains(&"search") != set.contains(&"space") {
            return Err(
                "`search` and `space` go together: the strategy and what it searches".into()
            );
        }
        Ok(())
    }
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Parses `text` (read from `file`), mapping TOML and serde errors to a
/// line, and naming the table and key there (serde's messages name the
/// expected type but not where).
pub(crate) fn parse(file: &Path, text: &str) -> Result<RawFile> {
    toml::from_str(text).map_err(|e| {
        // Say it in TOML's words rather than Rust's.
        let message = e
            .message()
            .trim_end()
            .replace("expected f64", "expected a number")
            .replace("expected u64", "expected a whole number (0 or more)");
        let message = message.as_str();
        let Some(span) = e.span() else {
            return Error::Parse { file: file.to_path_buf(), line: 0, message: message.into() };
        };
        let (table, key) = place(text, span.start);
        let mut at = String::new();
        if let Some(table) = table {
            at.push_str(&format!("[{table}] "));
        }
        if let Some(key) = key.filter(|k| !message.contains(&format!("`{k}`"))) {
            at.push_str(&format!("`{key}`: "));
        }
        Error::Parse {
            file: file.to_path_buf(),
            line: line_of(text, span.start),
            message: format!("{at}{message}"),
        }
    })
}

/// The table header above `offset` and the key of the `key = value` line
/// it falls in, read off the text.
fn place(text: &str, offset: usize) -> (Option<&str>, Option<&str>) {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..];
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    let key = match line.find('=') {
        Some(eq) if start + eq < offset => Some(line[..eq].trim()),
        _ => None,
    };
    let table = text[..start].lines().rev().map(str::trim).find_map(|l| {
        let header = l.strip_prefix('[')?.trim_start_matches('[');
        Some(header[..header.find(']')?].trim())
    });
    (table, key)
}
