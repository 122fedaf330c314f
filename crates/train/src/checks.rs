//! Checks shared by learners and models: a target against its task, a
//! model's metadata against its body, and what differs between two
//! column lists.

use lathe_core::{Target, TaskKind};

use crate::tabular::{ModelMeta, Task, META_FILE, TABULAR_FORMAT_VERSION};
use crate::{Error, Result};

/// The metadata agrees with a body that reads `n_features` and gives `outputs` raw scores.
pub(crate) fn check_shape(
    meta: &ModelMeta,
    n_features: usize,
    outputs: usize,
    file: &str,
) -> Result<()> {
    let bad = |what: String| Err(Error::ModelFile(format!("{META_FILE}: {what}")));
    if meta.format_version != TABULAR_FORMAT_VERSION {
        return bad(format!(
            "format_version {} (expected {TABULAR_FORMAT_VERSION})",
            meta.format_version
        ));
    }
    if meta.feature_names.len() != n_features {
        return bad(format!(
            "{} feature names but {file} reads {n_features} features",
            meta.feature_names.len()
        ));
    }
    let expected = match meta.task {
        Task::Binary if meta.classes.len() == 2 => 1,
        Task::Multiclass if meta.classes.len() >= 3 => meta.classes.len(),
        Task::Regression if meta.classes.is_empty() => 1,
        _ => return bad(format!("{} classes for a {:?} task", meta.classes.len(), meta.task)),
    };
    if outputs != expected {
        return bad(format!("{file} gives {outputs} scores per row, the task needs {expected}"));
    }
    Ok(())
}

/// Which features one side has and the other lacks, or that the order differs.
pub(crate) fn feature_difference(model: &[String], data: &[String]) -> String {
    let missing: Vec<&str> =
        model.iter().filter(|f| !data.contains(f)).map(String::as_str).collect();
    let extra: Vec<&str> = data.iter().filter(|f| !model.contains(f)).map(String::as_str).collect();
    if missing.is_empty() && extra.is_empty() {
        return format!("the columns are the model's but in another order (expected {model:?})");
    }
    format!("the data lacks {missing:?} and has {extra:?}, which the model does not know")
}

/// A regression or class target's classes checked against its kind.
pub(crate) fn check_target(y: &Target, rows: usize, what: &str) -> Result<()> {
    let bad = |problem: String| Err(Error::Labels { column: y.name.clone(), problem });
    if y.values.len() != rows {
        return bad(format!("{what}: {} target values for {rows} rows", y.values.len()));
    }
    let k = y.classes.len();
    match y.kind {
        TaskKind::Binary if k != 2 => {
            return bad(format!("{what}: binary target with {k} classes"))
        }
        TaskKind::Multiclass if k < 3 => {
            return bad(format!("{what}: multiclass target with {k} classes (expected 3 or more)"))
        }
        TaskKind::Regression => {
            if let Some(i) = y.values.iter().position(|v| !v.is_finite()) {
                return bad(format!(
                    "{what}: row {i} has target {} (expected a finite number)",
                    y.values[i]
                ));
            }
        }
        _ => {
            if let Some(i) =
                y.values.iter().position(|&v| !(v >= 0.0 && v < k as f64 && v.fract() == 0.0))
            {
                return bad(format!(
                    "{what}: row {i} has class index {} (expected 0..{k})",
                    y.values[i]
                ));
            }
        }
    }
    Ok(())
}
