//! The default quickstart: the whole loop on the Adult census table.
//!
//! 1. `lathe run` on the example's `lathe.toml`: profile, split, a linear
//!    baseline and gradient-boosted trees, evaluation, registration, and the
//!    gate that makes the better one `champion`.
//! 2. The champion is served (`lathe serve`'s app on 127.0.0.1), production
//!    traffic is replayed, first like the training data, then drifted, and
//!    the true labels are posted.
//! 3. The monitoring job's functions cut windows, test them for drift and
//!    score them; the `feature_drift(age)` alert fires and, as its
//!    `trigger = "retrain"` says, the pipeline reruns on the data plus the
//!    labelled production rows; the gate decides; serving follows the alias.

use std::{path::Path, sync::Arc};

use anyhow::Context;
use lathe_pipeline::Pipeline;
use lathe_server::monitoring::{self, MonitoringConfig};
use lathe_store::{ArtifactStore, MonitoringWindow, Store};
use serde_json::Value;

use super::{
    example::{self, MODEL},
    replay::{self, Serving},
    tracker::Tracker,
};
use crate::{
    commands::run::{execute, retrain, Options, Report},
    output,
};

/// What the loop did, for the summary and the tests.
pub(crate) struct Outcome {
    /// The first pipeline run.
    pub(crate) first: Report,
    /// The monitoring windows of the replayed traffic.
    pub(crate) windows: Vec<MonitoringWindow>,
    /// Alerts that fired, by rule.
    pub(crate) alerts: Vec<String>,
    /// The retrain's pipeline run and the production rows it added.
    pub(crate) retrain: Option<(usize, Report)>,
    /// The version `champion` points at in the end.
    pub(crate) champion: i64,
    /// The version that answered the last request.
    pub(crate) served: Option<i64>,
}

/// Runs the loop; `serving` is where the champion is served.
pub(crate) async fn run(
    dir: &Path,
    store: Arc<dyn Store>,
    artifacts: Arc<dyn ArtifactStore>,
    serve_listener: tokio::net::TcpListener,
) -> anyhow::Result<(Outcome, Serving, MonitoringConfig, std::path::PathBuf)> {
    let project = example::create(dir)?;
    output::line(&format!(
        "project {}: {} training rows of the Adult census table (people under 35)",
        project.file.display(),
        project.rows
    ))?;
    let file = project.file.clone();
    let first = pipeline_run(&store, &artifacts, &file).await?;
    print_steps(&first)?;

    let uri = format!("models:/{MODEL}@champion");
    let serving = Serving::start(&uri, serve_listener, store.clone(), artifacts.clone()).await?;
    output::line("")?;
    output::line(&format!("serving {uri} on http://{}", serving.addr))?;
    let steady = replay::replay(&serving, MODEL, &project.steady, store.as_ref()).await?;
    output::line(&format!(
        "replayed {} production rows like the training data, labels posted",
        project.steady.len()
    ))?;
    let drifted = replay::replay(&serving, MODEL, &project.drifted, store.as_ref()).await?;
    output::line(&format!(
        "replayed {} production rows of people aged 35 and over, labels posted",
        project.drifted.len()
    ))?;
    let answered: usize = steady.iter().chain(&drifted).map(|(_, n)| n).sum();

    let text = std::fs::read_to_string(&file)?;
    let config = MonitoringConfig::parse(&text, &file.display().to_string())?;
    let now = lathe_core::now_millis();
    monitoring::update_all(store.as_ref(), artifacts.as_ref(), &config.windows, now).await?;
    let kind = config.windows.spec.kind();
    let mut windows = Vec::new();
    for v in versions_answered(&steady, &drifted) {
        let all = store.list_windows(MODEL, Some(v)).await?;
        windows.extend(all.into_iter().filter(|w| w.kind == kind));
    }
    print_windows(&windows, answered)?;
    let changes = monitoring::alerts::evaluate(store.as_ref(), &config, now).await?;
    let alerts: Vec<String> = changes
        .iter()
        .filter(|(event, _)| *event == "fired")
        .map(|(_, e)| e.rule.clone())
        .collect();
    for rule in &alerts {
        output::line(&format!("alert fired: {rule} on {MODEL}"))?;
    }
    let mut retrained = None;
    for (episode, result) in
        retrain::on_alerts(store.clone(), artifacts.clone(), &config, &file, &changes).await
    {
        let r = result.with_context(|| format!("the retrain for alert {} failed", episode.rule))?;
        output::line(&format!(
            "retrain: the pipeline ran again on its data plus {} labelled production rows",
            r.rows_added
        ))?;
        print_steps(&r.report)?;
        retrained = Some((r.rows_added, r.report));
    }
    serving.refresh().await;
    let champion = store.get_model_version_by_alias(MODEL, "champion").await?.version;
    let served = probe(&serving, &project.drifted).await;
    let outcome = Outcome { first, windows, alerts, retrain: retrained, champion, served };
    Ok((outcome, serving, config, file))
}

async fn pipeline_run(
    store: &Arc<dyn Store>,
    artifacts: &Arc<dyn ArtifactStore>,
    file: &Path,
) -> anyhow::Result<Report> {
    let tracker =
        Tracker::new(store.clone(), artifacts.clone(), tokio::runtime::Handle::current())?
            .with_source("lathe quickstart");
    let file = file.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let pipeline = Pipeline::load(&file)?;
        execute(&tracker, &pipeline, &Options::default())
    })
    .await
    .context("the pipeline stopped unexpectedly")?
}

/// The versions that answered, in order of first answer.
fn versions_answered(a: &[(i64, usize)], b: &[(i64, usize)]) -> Vec<i64> {
    let mut seen: Vec<i64> = Vec::new();
    for (v, _) in a.iter().chain(b) {
        if !seen.contains(v) {
            seen.push(*v);
        }
    }
    seen
}

/// The version that answers one more request now.
async fn probe(serving: &Serving, rows: &[example::Labelled]) -> Option<i64> {
    let row = rows.first()?;
    let body = serde_json::json!([Value::Object(row.inputs.clone())]);
    let url = format!("http://{}/v1/models/{MODEL}/predict", serving.addr);
    let answer: Value =
        reqwest::Client::new().post(url).json(&body).send().await.ok()?.json().await.ok()?;
    answer["model"]["version"].as_i64()
}

fn print_steps(report: &Report) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = report
        .steps
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                if s.ran { "ran".into() } else { "cached".into() },
                s.run_id.clone().unwrap_or_default(),
                s.headline.clone(),
            ]
        })
        .collect();
    output::line("")?;
    output::table(&["STEP", "", "RUN ID", "RESULT"], &rows)
}

fn print_windows(windows: &[MonitoringWindow], answered: usize) -> anyhow::Result<()> {
    output::line("")?;
    output::line(&format!("monitoring: {} windows over {answered} predictions", windows.len()))?;
    let rows: Vec<Vec<String>> = windows
        .iter()
        .map(|w| {
            let drift: Value = serde_json::from_str(&w.drift).unwrap_or(Value::Null);
            let perf: Value = serde_json::from_str(&w.performance).unwrap_or(Value::Null);
            let drifted: Vec<&str> = drift["columns"]
                .as_object()
                .map(|c| {
                    c.iter().filter(|(_, v)| v["drift"] == true).map(|(k, _)| k.as_str()).collect()
                })
                .unwrap_or_default();
            let auc = perf["roc_auc"].as_f64().map_or("-".to_string(), |v| format!("{v:.4}"));
            vec![
                format!("v{} #{}", w.model_version, w.index),
                w.rows.to_string(),
                if drift["dataset_drift"] == true { "yes".into() } else { "no".into() },
                if drifted.is_empty() { "-".into() } else { drifted.join(", ") },
                auc,
            ]
        })
        .collect();
    output::table(&["WINDOW", "ROWS", "DATASET DRIFT", "DRIFTED COLUMNS", "ROC AUC"], &rows)
}
