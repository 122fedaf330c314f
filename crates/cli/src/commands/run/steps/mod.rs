//! What each step kind does, one module per kind, and the little they
//! share: finding a needed step's outputs, reading a split back, and which
//! way a metric points.
//!
//! Steps hand each other files through the cache (`train.parquet`,
//! `test.parquet`, `model/`) and small JSON summaries; a later step finds an
//! earlier step's folder from the `(step, key)` pair a summary records,
//! because cache folders are named by key and the key never changes for
//! the same content.

pub(super) mod evaluate;
pub(super) mod profile;
pub(super) mod promote;
pub(super) mod register;
pub(super) mod split;
pub(super) mod train;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use lathe_core::Param;
use lathe_data::{read_table, ReadOptions, Table};
use lathe_pipeline::{Cache, Input, StepKind, StepRun};
use serde_json::Value;

/// The first needed step of `kind`.
pub(super) fn needed<'r>(run: &'r StepRun<'_>, kind: StepKind) -> anyhow::Result<&'r Input<'r>> {
    run.inputs.iter().find(|i| i.step.config.kind == kind).with_context(|| {
        format!("step `{}` needs a `{kind}` step among its `needs`", run.step.name)
    })
}

/// Where a step of the same pipeline, recorded as `{"step": …, "key": …}` in `value`, keeps its outputs.
pub(super) fn dir_of(cache: &Cache, value: &Value) -> anyhow::Result<PathBuf> {
    let step = value.get("step").and_then(Value::as_str);
    let key = value.get("key").and_then(Value::as_str);
    match (step, key) {
        (Some(step), Some(key)) => Ok(cache.out_dir(step, key)),
        _ => bail!(
            "the step cache holds a summary without a step and key ({value}); rerun with --force"
        ),
    }
}

/// `{"step": …, "key": …}` of a finished input, for later steps to find it.
pub(super) fn locate(input: &Input<'_>) -> Value {
    serde_json::json!({ "step": input.step.name, "key": input.manifest.key })
}

/// `train` or `test` rows of a split step's folder.
pub(super) fn read_split(dir: &Path, part: &str) -> anyhow::Result<Table> {
    let path = dir.join(format!("{part}.parquet"));
    read_table(&path, &ReadOptions::default())
        .with_context(|| format!("cannot read the cached {part} rows {}", path.display()))
}

/// A text field of a summary.
pub(super) fn text<'v>(summary: &'v Value, field: &str) -> anyhow::Result<&'v str> {
    summary.get(field).and_then(Value::as_str).with_context(|| {
        format!("the step cache holds a summary without `{field}`; rerun with --force")
    })
}

/// Whether a larger value of `metric` is better.
pub(super) fn higher_is_better(metric: &str) -> bool {
    !matches!(metric, "log_loss" | "brier" | "ece" | "rmse" | "mae" | "mse" | "mape" | "max_error")
}

/// A parameter.
pub(super) fn param(key: &str, value: impl ToString) -> Param {
    Param { key: key.to_string(), value: value.to_string() }
}
