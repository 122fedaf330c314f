//! Scoring a labelled table with a pipeline and turning the scores into an
//! [`EvalReport`] (metrics, bootstrap intervals, slices, feature
//! importance): shared by `lathe train` (on its test split) and `lathe eval`.

use anyhow::{bail, Context};
use lathe_core::{Target, TaskKind};
use lathe_data::{encode_target, TransformReport};
use lathe_eval::{BootstrapConfig, EvalReport};
use lathe_train::{FittedPipeline, Predictions};
use polars::prelude::{DataFrame, DataType};

/// A pipeline's scores on labelled rows.
pub(crate) struct Scored {
    /// The encoded labels, in the model's class order.
    pub(crate) target: Target,
    /// The model's outputs (class probabilities or values).
    pub(crate) predictions: Predictions,
    /// Unseen categories per column.
    pub(crate) transform: TransformReport,
}

impl Scored {
    /// True class indices (classifiers).
    pub(crate) fn labels(&self) -> Vec<usize> {
        self.target.values.iter().map(|&v| v as usize).collect()
    }
}

/// Scores `frame`, whose target column the pipeline names, and encodes the
/// labels with the model's classes (a label the model never saw is an error).
pub(crate) fn score(pipeline: &FittedPipeline, frame: &DataFrame) -> anyhow::Result<Scored> {
    let model = pipeline.model();
    let column = &model.meta().target;
    let (predictions, transform) = pipeline.predict_frame(frame)?;
    let target = match model.task() {
        TaskKind::Regression => encode_target(frame, column, Some(TaskKind::Regression))?,
        kind => {
            let col = frame
                .column(column)
                .with_context(|| format!("the data has no target column {column:?}"))?
                .cast(&DataType::String)?;
            let mut values = Vec::with_capacity(col.len());
            for (row, label) in col.str()?.iter().enumerate() {
                let Some(label) = label else {
                    bail!("row {}, column {column:?}: missing label; expected one of the model's classes", row + 1);
                };
                let Some(i) = model.classes().iter().position(|c| c == label) else {
                    bail!(
                        "row {}, column {column:?}: label {label:?} is not one of the model's classes {:?}",
                        row + 1,
                        model.classes()
                    );
                };
                values.push(i as f64);
            }
            Target { name: column.clone(), kind, values, classes: model.classes().to_vec() }
        }
    };
    Ok(Scored { target, predictions, transform })
}

/// The report of `scored`: metrics, 95% bootstrap intervals (seeded), the
/// model's gain importances, and per-slice metrics when `slice` is given
/// (its values, one per row). `progress(done)` follows the resamples.
pub(crate) fn report(
    title: &str,
    pipeline: &FittedPipeline,
    scored: &Scored,
    seed: u64,
    slice: Option<(&str, &[String])>,
    progress: &mut dyn FnMut(usize),
) -> anyhow::Result<EvalReport> {
    let config = BootstrapConfig { seed, ..BootstrapConfig::default() };
    let p = &scored.predictions.values;
    let mut report = if scored.target.kind == TaskKind::Regression {
        let y = &scored.target.values;
        let intervals = lathe_eval::regression_intervals(y, p, &config, progress)?;
        let mut r = EvalReport::regression(title, y, p)?.with_intervals(intervals);
        if let Some((column, values)) = slice {
            r = r.with_regression_slices(column, values, y, p)?;
        }
        r
    } else {
        let y = scored.labels();
        let classes = &scored.target.classes;
        let intervals = lathe_eval::classification_intervals(&y, p, classes, &config, progress)?;
        let mut r = EvalReport::classification(title, &y, p, classes)?.with_intervals(intervals);
        if let Some((column, values)) = slice {
            r = r.with_classification_slices(column, values, &y, p, classes)?;
        }
        r
    };
    let importance = pipeline.model().feature_importance();
    let names: Vec<String> = importance.iter().map(|f| f.feature.clone()).collect();
    let gains: Vec<f64> = importance.iter().map(|f| f.gain).collect();
    report = report.with_feature_importance(&names, &gains)?;
    Ok(report)
}

/// The scalar metrics of `report` (no intervals, no slices), in its order.
pub(crate) fn headline(report: &EvalReport) -> Vec<(&'static str, f64)> {
    match (&report.classification, &report.regression) {
        (Some(c), _) => c.named(),
        (None, Some(r)) => r.named(),
        (None, None) => Vec::new(),
    }
}

/// A column's values as text, one per row (missing → `<missing>`), for slices.
pub(crate) fn slice_values(frame: &DataFrame, column: &str) -> anyhow::Result<Vec<String>> {
    let col = frame.column(column).map_err(|_| {
        let names: Vec<String> = frame.get_column_names().iter().map(|c| c.to_string()).collect();
        anyhow::anyhow!("--slice {column:?}: no such column; the data has {}", names.join(", "))
    })?;
    let text = col.cast(&DataType::String)?;
    Ok(text.str()?.iter().map(|v| v.unwrap_or("<missing>").to_string()).collect())
}

/// Unseen categories as warning lines, or nothing.
pub(crate) fn warn_unseen(path: &std::path::Path, report: &TransformReport) {
    for (column, count) in &report.unseen {
        if *count > 0 {
            eprintln!(
                "warning: {}: column {column:?}: {count} value(s) never seen in training, \
                 mapped to the unknown category",
                path.display()
            );
        }
    }
}

/// ±inf cannot be scored or learned from: refused at read time with the
/// file, column and first row rather than deep in the preprocessing, where
/// rows are numbered within a split.
pub(crate) fn refuse_infinite(
    path: &std::path::Path,
    table: &lathe_data::Table,
) -> anyhow::Result<()> {
    match table.diagnostics.iter().find(|d| d.kind == lathe_data::DiagnosticKind::Infinite) {
        Some(d) => bail!("{}: {}", path.display(), d.message),
        None => Ok(()),
    }
}
