//! MLflow's search grammar: filter strings and `order_by` clauses, parsed
//! into a small AST that each backend compiles to its own query language.
//!
//! A filter is clauses joined by `AND` (MLflow has no `OR`), each
//! `KEY COMPARATOR VALUE`, e.g.
//! `metrics.acc > 0.9 and params.model = 'gbm' and tags.t LIKE '%a%'`.
//! Keys are `metrics.K`, `params.K`, `tags.K`, `attributes.K`,
//! `datasets.K`, or a bare attribute for entities that allow it
//! (`name`, `run_id`, …). A key with spaces or dots is quoted with
//! backticks or double quotes: ``metrics.`my metric` ``.
//!
//! Errors say what was expected and at which character the input went wrong.

mod parser;

pub use parser::{parse_filter, parse_order_by};

/// What is being searched: decides which keys and comparators are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// `runs/search`.
    Runs,
    /// `experiments/search`.
    Experiments,
    /// `registered-models/search`.
    RegisteredModels,
    /// `model-versions/search`.
    ModelVersions,
    /// `logged-models/search`.
    LoggedModels,
}

/// A parsed filter: every clause must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    /// Conjunction of clauses; empty matches everything.
    pub clauses: Vec<Clause>,
}

/// `KEY OP VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// What is compared.
    pub key: Key,
    /// How.
    pub op: Op,
    /// With what.
    pub value: Value,
}

/// The left-hand side of a clause or an `order_by` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// Latest value of a metric (runs, logged models).
    Metric(String),
    /// A param (runs, logged models).
    Param(String),
    /// A tag (every entity).
    Tag(String),
    /// A column of the entity itself, canonical name (see [`Attribute`]).
    Attribute(Attribute),
    /// A dataset input field: `name`, `digest` or `context` (runs only).
    Dataset(String),
}

/// Entity columns that filters and orderings may use, by canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    /// Run id / `run_id` of a model version (`attributes.run_id`, `run_id`).
    RunId,
    /// `attributes.run_name` (also `attributes.\`Run name\``).
    RunName,
    /// `attributes.status`.
    Status,
    /// `attributes.user_id`.
    UserId,
    /// `attributes.artifact_uri`.
    ArtifactUri,
    /// `attributes.start_time`.
    StartTime,
    /// `attributes.end_time`.
    EndTime,
    /// `name` of an experiment, registered model, model version or logged model.
    Name,
    /// `creation_time` / `creation_timestamp`.
    CreationTime,
    /// `last_update_time` / `last_updated_timestamp`.
    LastUpdateTime,
    /// `experiment_id` (experiments).
    ExperimentId,
    /// `version_number` (model versions).
    VersionNumber,
    /// `source_path` (model versions).
    SourcePath,
    /// `model_id` (logged models).
    ModelId,
}

impl Attribute {
    /// Whether values compare as numbers (else as strings).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Attribute::StartTime
                | Attribute::EndTime
                | Attribute::CreationTime
                | Attribute::LastUpdateTime
                | Attribute::VersionNumber
        )
    }
}

/// Comparators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `LIKE` (case-sensitive, `%` and `_` wildcards)
    Like,
    /// `ILIKE` (case-insensitive)
    ILike,
    /// `IN (…)`
    In,
    /// `NOT IN (…)`
    NotIn,
    /// `IS NULL`
    IsNull,
    /// `IS NOT NULL`
    IsNotNull,
}

/// The right-hand side of a clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A quoted string.
    Str(String),
    /// A number (metrics and numeric attributes).
    Num(f64),
    /// `('a', 'b')` for `IN` / `NOT IN`.
    List(Vec<String>),
    /// Nothing (`IS NULL` / `IS NOT NULL`).
    None,
}

/// One `order_by` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    /// The key to sort by.
    pub key: Key,
    /// `ASC` (the default) or `DESC`.
    pub ascending: bool,
}

/// A filter or `order_by` that cannot be parsed or is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SearchError {
    /// Names the input, what was expected, and the position where it failed.
    pub message: String,
}

impl From<SearchError> for crate::StoreError {
    fn from(e: SearchError) -> Self {
        crate::StoreError::InvalidParameter(e.message)
    }
}
