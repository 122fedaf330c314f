//! Retrain on drift: when an alert rule with `trigger = "retrain"` fires in
//! `lathe server --config lathe.toml`, the project's pipeline runs again on
//! its data plus the production rows that received ground-truth labels.
//! The changed data changes the split's key, so split, train, evaluate and
//! register rerun, and the promote step's gate decides whether the new
//! version replaces the champion. The pipeline run carries the trigger
//! (rule, episode, rows added) as tags, so each trigger, run and decision
//! can be found in the store.
//!
//! The combined table is written under `.lathe/retrain/` beside
//! `lathe.toml` (never over the user's data), as Parquet so that column
//! types survive.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use lathe_core::Tag;
use lathe_data::{read_table, write_table, ReadOptions};
use lathe_pipeline::{Pipeline, StepKind};
use lathe_store::{AlertEpisode, PredictionQuery};
use polars::prelude::{Column, DataFrame, DataType};
use serde_json::Value;

use super::{execute, Options, Report};
use crate::commands::quickstart::tracker::Tracker;

/// Production rows read per store call (the store's page limit).
const PAGE: i64 = 100_000;

/// What a retrain did.
pub(crate) struct Retrained {
    /// The labelled production rows added to the data.
    pub(crate) rows_added: usize,
    /// The pipeline run.
    pub(crate) report: Report,
}

/// Reruns the pipeline in `file` for `episode`'s model on its data plus
/// the model's labelled production rows.
pub(crate) fn retrain(
    tracker: &Tracker,
    file: &Path,
    episode: &AlertEpisode,
) -> anyhow::Result<Retrained> {
    let mut pipeline = Pipeline::load(file)?;
    let model = episode.model_name.as_str();
    let sources = sources_for(&pipeline, model)?;
    let production = labelled_rows(tracker, model)?;
    if production.is_empty() {
        bail!("no production predictions of {model} have labels yet; nothing to retrain on");
    }
    let root = file.parent().unwrap_or(Path::new(".")).join(".lathe").join("retrain");
    let stamp = lathe_core::now_millis();
    for name in &sources {
        let Some(data) = pipeline.data.iter_mut().find(|d| &d.name == name) else { continue };
        let target = data
            .source
            .target
            .clone()
            .with_context(|| format!("data `{name}` declares no target"))?;
        let combined = combine(&data.path, &target, &production)?;
        let dir = root.join(stamp.to_string());
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let path: PathBuf = dir.join(format!("{name}.parquet"));
        write_table(&combined, &path)?;
        data.path = path;
    }
    let tags = vec![
        Tag::new("lathe.trigger", "alert"),
        Tag::new("lathe.trigger.rule", episode.rule.clone()),
        Tag::new("lathe.trigger.episode", episode.episode_id.clone()),
        Tag::new("lathe.trigger.model", model),
        Tag::new("lathe.trigger.production_rows", production.len().to_string()),
    ];
    let report = execute(tracker, &pipeline, &Options { step: None, force: false, tags })?;
    Ok(Retrained { rows_added: production.len(), report })
}

/// The data sources read by the splits upstream of the register step for `model`.
fn sources_for(pipeline: &Pipeline, model: &str) -> anyhow::Result<Vec<String>> {
    let register = pipeline
        .steps
        .iter()
        .find(|s| s.config.kind == StepKind::Register && s.config.model.as_deref() == Some(model))
        .with_context(|| {
            format!("{} has no register step for model {model:?}", pipeline.file.display())
        })?;
    let upstream = pipeline.selection(Some(&register.name))?;
    let mut names: Vec<String> = upstream
        .iter()
        .filter(|s| s.config.kind == StepKind::Split)
        .filter_map(|s| s.config.data.clone())
        .collect();
    names.dedup();
    Ok(names)
}

/// Every labelled prediction of every version of `model`: its input row and label.
fn labelled_rows(
    tracker: &Tracker,
    model: &str,
) -> anyhow::Result<Vec<(serde_json::Map<String, Value>, Value)>> {
    let store = tracker.store();
    let mut rows = Vec::new();
    for log in tracker.block(store.prediction_log_summary(Some(model)))? {
        let mut after_seq = 0;
        loop {
            let query = PredictionQuery {
                model_name: model.to_string(),
                model_version: log.model_version,
                after_seq,
                limit: PAGE,
                ..PredictionQuery::default()
            };
            let page = tracker.block(store.read_predictions(&query))?;
            let Some(last) = page.last() else { break };
            after_seq = last.seq;
            for p in &page {
                let Some(label) = &p.label else { continue };
                let Ok(Value::Object(inputs)) = serde_json::from_str(&p.record.inputs) else {
                    continue;
                };
                let Ok(label) = serde_json::from_str::<Value>(label) else { continue };
                rows.push((inputs, label));
            }
            if (page.len() as i64) < PAGE {
                break;
            }
        }
    }
    Ok(rows)
}

/// The data at `path` with the production rows appended, each column in
/// the data's type (a value that does not fit becomes missing).
fn combine(
    path: &Path,
    target: &str,
    production: &[(serde_json::Map<String, Value>, Value)],
) -> anyhow::Result<DataFrame> {
    let table = read_table(path, &ReadOptions::default())?;
    let mut columns = Vec::with_capacity(table.frame.width());
    for col in table.frame.columns() {
        let name = col.name().as_str();
        let value = |(inputs, label): &(serde_json::Map<String, Value>, Value)| {
            if name == target {
                Some(label.clone())
            } else {
                inputs.get(name).cloned()
            }
        };
        let added = if col.dtype().is_primitive_numeric() {
            let values: Vec<Option<f64>> =
                production.iter().map(|r| value(r).and_then(|v| v.as_f64())).collect();
            Column::new(name.into(), values).cast(col.dtype())?
        } else {
            let values: Vec<Option<String>> = production
                .iter()
                .map(|r| match value(r) {
                    Some(Value::String(s)) => Some(s),
                    Some(Value::Null) | None => None,
                    Some(other) => Some(other.to_string()),
                })
                .collect();
            Column::new(name.into(), values).cast(&DataType::String)?.cast(col.dtype())?
        };
        columns.push(added);
    }
    let added = DataFrame::new(production.len(), columns)?;
    let mut frame = table.frame.clone();
    frame.vstack_mut(&added).context("cannot append the production rows to the data")?;
    Ok(frame)
}

/// Retrains for every alert in `changes` that fired under a rule with
/// `trigger = "retrain"`, one after the other (never two trainings at once
/// on the same project).
pub(crate) async fn on_alerts(
    store: std::sync::Arc<dyn lathe_store::Store>,
    artifacts: std::sync::Arc<dyn lathe_store::ArtifactStore>,
    config: &lathe_server::monitoring::MonitoringConfig,
    file: &Path,
    changes: &[(&'static str, AlertEpisode)],
) -> Vec<(AlertEpisode, anyhow::Result<Retrained>)> {
    let mut done = Vec::new();
    for (event, episode) in changes {
        let triggers = config.alerts.iter().any(|r| {
            r.text == episode.rule
                && r.trigger == Some(lathe_server::monitoring::Trigger::Retrain)
                && r.model.as_deref().is_none_or(|m| m == episode.model_name)
        });
        if *event != "fired" || !triggers {
            continue;
        }
        tracing::info!(
            "alert {} on {}: retraining through {}",
            episode.rule,
            episode.model_name,
            file.display()
        );
        let tracker =
            match Tracker::new(store.clone(), artifacts.clone(), tokio::runtime::Handle::current())
            {
                Ok(t) => t.with_source("lathe retrain"),
                Err(e) => {
                    done.push((episode.clone(), Err(e)));
                    continue;
                }
            };
        let (file, ep) = (file.to_path_buf(), episode.clone());
        let result = tokio::task::spawn_blocking(move || retrain(&tracker, &file, &ep))
            .await
            .map_err(|e| anyhow::anyhow!("the retrain stopped unexpectedly: {e}"))
            .and_then(|r| r);
        match &result {
            Ok(r) => {
                let gate = r
                    .report
                    .of_kind("promote")
                    .map_or_else(|| "no promote step".to_string(), |s| s.headline.clone());
                tracing::info!(
                    "retrained {} on {} more labelled rows: pipeline run {}; {gate}",
                    episode.model_name,
                    r.rows_added,
                    r.report.run_id
                );
            }
            Err(e) => tracing::warn!("retrain of {} failed: {e:#}", episode.model_name),
        }
        done.push((episode.clone(), result));
    }
    done
}
