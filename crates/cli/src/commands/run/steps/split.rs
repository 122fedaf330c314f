//! `kind = "split"`: the data source's rows into `train.parquet` and
//! `test.parquet` (random, stratified on the target, by group, by time, or
//! by a hash of each row), with the source's fingerprint recorded as the
//! run's dataset input.
//!
//! `hash` exists for retraining: a row's side depends only on its content
//! and the seed, so when production rows are appended to the data, every
//! row a champion trained on stays in the training part, and the gate
//! compares champion and challenger on rows neither of them saw.

use anyhow::{bail, Context as _};
use lathe_core::{DatasetInput, RunRecorder, Tag, TaskKind};
use lathe_data::{encode_target, fingerprint, read_table, split, write_table, ReadOptions};
use lathe_pipeline::StepRun;
use polars::prelude::DataType;
use serde_json::{json, Value};

use super::param;
use crate::commands::{evaluate::refuse_infinite, quickstart::tracker::StoreRecorder};

pub(crate) fn run(
    cx: &mut crate::commands::run::executor::StepContext<'_, '_>,
    run: &StepRun<'_>,
    recorder: &mut StoreRecorder<'_>,
) -> anyhow::Result<Value> {
    let config = &run.step.config;
    let (data, digest) = run.data.context("a split step reads a `data` source")?;
    let shown = data.path.display().to_string();
    let Some(target_name) = data.source.target.as_deref() else {
        bail!(
            "data `{}` ({}:{}) declares no `target`; a split needs the column to predict",
            data.name,
            cx.pipeline.file.display(),
            data.line
        );
    };
    let progress = cx.progress.step(&format!("{}: splitting {shown}", run.step.name));
    let table = read_table(&data.path, &ReadOptions::default())?;
    refuse_infinite(&data.path, &table)?;
    let target = encode_target(&table.frame, target_name, None).with_context(|| shown.clone())?;
    let classifier = target.kind != TaskKind::Regression;
    let test_size = config.test_size.unwrap_or(0.2);
    let seed = config.seed.unwrap_or(42);
    let strategy = config
        .strategy
        .clone()
        .unwrap_or_else(|| if classifier { "stratified" } else { "random" }.to_string());
    let by = |what: &str| -> anyhow::Result<Vec<Option<String>>> {
        let name = config.by.as_deref().with_context(|| {
            format!("step `{}`: strategy = \"{what}\" needs `by = \"COLUMN\"`", run.step.name)
        })?;
        let col = table.frame.column(name).map_err(|_| lathe_data::Error::MissingColumn {
            column: name.to_string(),
            available: table.frame.get_column_names().iter().map(|c| c.to_string()).collect(),
        })?;
        let s = col.cast(&DataType::String)?;
        Ok(s.str()?.iter().map(|v| v.map(str::to_string)).collect())
    };
    let n = target.values.len();
    let rows = match strategy.as_str() {
        "random" => split::random(n, test_size, seed)?,
        "stratified" if classifier => split::stratified(&target.values, test_size, seed)?,
        "stratified" => bail!(
            "step `{}`: strategy = \"stratified\" needs a class target; `{target_name}` is numeric (use \"random\")",
            run.step.name
        ),
        "group" => split::group(&by("group")?, test_size, seed)?,
        "time" => split::time(&by("time")?, test_size)?,
        "hash" => hash_split(&table.frame, test_size, seed)?,
        other => bail!(
            "step `{}`: strategy = {other:?}; expected random, stratified, group, time or hash",
            run.step.name
        ),
    };
    std::fs::create_dir_all(run.out_dir)?;
    for (part, idx) in [("train", &rows.train), ("test", &rows.test)] {
        write_table(
            &split::take_rows(&table.frame, idx)?,
            &run.out_dir.join(format!("{part}.parquet")),
        )?;
    }
    let print = fingerprint(&data.path, &table)?;
    let task = task_word(target.kind);
    recorder.log_params(&[
        param("data", &data.name),
        param("path", &shown),
        param("target", target_name),
        param("task", task),
        param("strategy", &strategy),
        param("test_size", test_size),
        param("seed", seed),
        param("train_rows", rows.train.len()),
        param("test_rows", rows.test.len()),
    ])?;
    recorder.log_inputs(&[DatasetInput {
        dataset: print.to_dataset(&data.name),
        tags: vec![Tag::new("mlflow.data.context", "split")],
    }])?;
    let headline = format!(
        "{} train / {} test rows of {} ({strategy}, target {target_name}, {task})",
        rows.train.len(),
        rows.test.len(),
        data.name
    );
    progress.done(format!("{}: {headline}", run.step.name));
    Ok(json!({
        "headline": headline,
        "data": data.name,
        "digest": digest,
        "target": target_name,
        "task": task,
        "train_rows": rows.train.len(),
        "test_rows": rows.test.len(),
        "dataset_digest": print.to_dataset(&data.name).digest,
    }))
}

/// Rows whose content hash (with `seed`) falls below `test_size` are test rows.
fn hash_split(
    frame: &polars::prelude::DataFrame,
    test_size: f64,
    seed: u64,
) -> anyhow::Result<split::Split> {
    use sha2::{Digest, Sha256};
    if !(test_size > 0.0 && test_size < 1.0) {
        bail!("test_size = {test_size}: expected a share in (0, 1)");
    }
    let texts =
        frame.columns().iter().map(|c| c.cast(&DataType::String)).collect::<Result<Vec<_>, _>>()?;
    let columns = texts.iter().map(|c| c.str()).collect::<Result<Vec<_>, _>>()?;
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for row in 0..frame.height() {
        let mut hasher = Sha256::new();
        hasher.update(seed.to_le_bytes());
        for col in &columns {
            match col.get(row) {
                Some(v) => {
                    hasher.update([1]);
                    hasher.update(v.as_bytes());
                }
                None => hasher.update([0]),
            }
            hasher.update([0x1f]);
        }
        let digest = hasher.finalize();
        let mut word = [0u8; 8];
        word.copy_from_slice(&digest[..8]);
        let u = (u64::from_le_bytes(word) >> 11) as f64 / (1u64 << 53) as f64;
        if u < test_size {
            test.push(row);
        } else {
            train.push(row);
        }
    }
    if train.is_empty() || test.is_empty() {
        bail!("a hash split of {} rows left one side empty; use more rows", frame.height());
    }
    Ok(split::Split { train, test })
}

pub(super) fn task_word(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::Binary => "binary",
        TaskKind::Multiclass => "multiclass",
        TaskKind::Regression => "regression",
    }
}

pub(super) fn task_of(word: &str) -> Option<TaskKind> {
    match word {
        "binary" => Some(TaskKind::Binary),
        "multiclass" => Some(TaskKind::Multiclass),
        "regression" => Some(TaskKind::Regression),
        _ => None,
    }
}
