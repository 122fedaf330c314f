//! `kind = "profile"`: what the data source holds (types, missing values,
//! summaries, correlations with the target, warnings) as the run's HTML
//! report, so every pipeline run shows the data it started from.

use anyhow::Context as _;
use lathe_core::{now_millis, DatasetInput, Metric, RunRecorder, Tag};
use lathe_data::{encode_target, fingerprint, profile::profile, read_table, ReadOptions};
use lathe_pipeline::StepRun;
use serde_json::{json, Value};

use super::param;
use crate::commands::{quickstart::tracker::StoreRecorder, run::executor::StepContext};

pub(crate) fn run(
    cx: &mut StepContext<'_, '_>,
    run: &StepRun<'_>,
    recorder: &mut StoreRecorder<'_>,
) -> anyhow::Result<Value> {
    let (data, _) = run.data.context("a profile step reads a `data` source")?;
    let step = cx.progress.step(&format!("{}: profiling {}", run.step.name, data.path.display()));
    let table = read_table(&data.path, &ReadOptions::default())?;
    let target = match &data.source.target {
        Some(t) => Some(encode_target(&table.frame, t, None)?),
        None => None,
    };
    let p = profile(&table, target.as_ref())?;
    let html = lathe_data::profile_html(&data.name, &p);
    std::fs::create_dir_all(run.out_dir)?;
    std::fs::write(run.out_dir.join("profile.html"), &html)?;
    recorder.log_artifact("profile/profile.html", html.as_bytes())?;
    recorder.log_params(&[
        param("data", &data.name),
        param("path", data.path.display()),
        param("rows", p.rows),
        param("columns", p.columns.len()),
    ])?;
    let now = now_millis();
    let missing = p.columns.iter().map(|c| c.missing_share).fold(0.0, f64::max);
    recorder.log_metrics(&[
        Metric { key: "warnings".into(), value: p.warnings.len() as f64, timestamp: now, step: 0 },
        Metric { key: "max_missing_share".into(), value: missing, timestamp: now, step: 0 },
    ])?;
    let print = fingerprint(&data.path, &table)?;
    recorder.log_inputs(&[DatasetInput {
        dataset: print.to_dataset(&data.name),
        tags: vec![Tag::new("mlflow.data.context", "profile")],
    }])?;
    for w in &p.warnings {
        eprintln!("warning: {}: {w}", data.name);
    }
    let headline =
        format!("{} rows, {} columns, {} warning(s)", p.rows, p.columns.len(), p.warnings.len());
    step.done(format!("{}: {headline}", run.step.name));
    Ok(json!({
        "headline": headline,
        "rows": p.rows,
        "columns": p.columns.len(),
        "warnings": p.warnings,
    }))
}
