//! `lathe eval`: a trained pipeline scored on a labelled table (metrics,
//! bootstrap intervals, slices, HTML/JSON report), or two pipelines
//! compared on the same rows (`--compare A B`: paired bootstrap of the
//! metric difference, McNemar for classifiers). Either way the numbers go
//! to a new run in the model's experiment.

use std::path::PathBuf;

use anyhow::{bail, Context};
use lathe_core::{now_millis, DatasetInput, Metric, Param, RunRecorder, Tag, TaskKind};
use lathe_data::{fingerprint, read_table, ReadOptions};
use lathe_eval::{BootstrapConfig, Comparison};

use super::{
    evaluate, model_source,
    quickstart::{
        progress::Progress,
        tracker::{StoreRecorder, Tracker},
    },
    train::publish::ensure_experiment,
};
use crate::{output, tracking_uri};

/// Flags of `lathe eval`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The model: runs:/RUN_ID/model, models:/NAME/VERSION, models:/NAME@ALIAS or a local model folder.
    #[arg(
        long,
        value_name = "URI",
        required_unless_present = "compare",
        conflicts_with = "compare"
    )]
    model: Option<String>,
    /// Compare two models on the same rows (paired bootstrap; McNemar for classifiers).
    #[arg(long, num_args = 2, value_names = ["URI_A", "URI_B"])]
    compare: Vec<String>,
    /// Labelled rows (with the model's target column): .csv, .parquet, .jsonl or .ndjson.
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    /// Metrics per value of this column as well.
    #[arg(long, value_name = "COL", conflicts_with = "compare")]
    slice: Option<String>,
    /// Write the HTML report here.
    #[arg(long, value_name = "FILE", conflicts_with = "compare")]
    html: Option<PathBuf>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE", conflicts_with = "compare")]
    json: Option<PathBuf>,
    /// The metric compared by --compare (e.g. roc_auc, f1_macro, rmse).
    #[arg(long, default_value = "roc_auc")]
    metric: String,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Experiment of the run when the model is a local folder.
    #[arg(long, default_value = "Default")]
    experiment: String,
    #[command(flatten)]
    source: model_source::SourceArgs,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let store = tracking_uri::open(&args.source.tracking.tracking_uri).await?;
    let artifacts = model_source::open_artifacts(&args.source)?;
    let uris: Vec<String> = match &args.model {
        Some(m) => vec![m.clone()],
        None => args.compare.clone(),
    };
    let mut loaded = Vec::new();
    for uri in &uris {
        loaded.push(model_source::load_with(uri, store.as_ref(), artifacts.as_ref()).await?);
    }
    let tracker = Tracker::new(store, artifacts, tokio::runtime::Handle::current())?
        .with_source("lathe eval");
    let run_id = tokio::task::spawn_blocking(move || {
        let table = read_table(&args.data, &ReadOptions::default())?;
        evaluate::refuse_infinite(&args.data, &table)?;
        let experiment_id = match loaded[0].experiment_id.clone() {
            Some(id) => id,
            None => ensure_experiment(&tracker, &args.experiment)?,
        };
        let name = if uris.len() == 2 { "compare" } else { "eval" };
        let mut run = tracker.start_run(&experiment_id, name, Vec::new())?;
        let mut params = vec![param("data", args.data.display())];
        for (i, uri) in uris.iter().enumerate() {
            let key = if uris.len() == 1 { "model".to_string() } else { format!("model_{i}") };
            params.push(param(&key, uri));
        }
        run.log_params(&params)?;
        let dataset = fingerprint(&args.data, &table)?.to_dataset("evaluation");
        run.log_inputs(&[DatasetInput {
            dataset,
            tags: vec![Tag::new("mlflow.data.context", "evaluation")],
        }])?;
        let mut scored = Vec::new();
        for l in &loaded {
            let frame = super::predict::matching_columns(&l.pipeline, &table, &args.data)?;
            if frame.column(l.pipeline.preprocessor().target()).is_err() {
                bail!(
                    "{}: no target column {:?}; expected labelled rows",
                    args.data.display(),
                    l.pipeline.preprocessor().target()
                );
            }
            let s = evaluate::score(&l.pipeline, &frame)
                .with_context(|| args.data.display().to_string())?;
            evaluate::warn_unseen(&args.data, &s.transform);
            scored.push(s);
        }
        if let [a, b] = scored.as_slice() {
            let c = compare(a, b, &args.metric, args.seed)?;
            log_comparison(&mut run, &c)?;
            print_comparison(&uris, &c)?;
        } else {
            let slice = match &args.slice {
                Some(col) => Some((col.as_str(), evaluate::slice_values(&table.frame, col)?)),
                None => None,
            };
            let slice_ref = slice.as_ref().map(|(c, v)| (*c, v.as_slice()));
            let title = format!("{} on {}", uris[0], args.data.display());
            let resamples = lathe_eval::BootstrapConfig::default().resamples as u64;
            let step = Progress::new(1).bar("bootstrap intervals", resamples);
            let bar = step.bar();
            let mut tick = |done: usize| bar.set_position(done as u64);
            let report = evaluate::report(
                &title,
                &loaded[0].pipeline,
                &scored[0],
                args.seed,
                slice_ref,
                &mut tick,
            )?;
            step.done(format!("evaluated {} rows", report.rows));
            report.log_to(&mut run, now_millis())?;
            if let Some(path) = &args.html {
                std::fs::write(path, report.to_html())
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if let Some(path) = &args.json {
                std::fs::write(path, report.to_json()?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            print_report(&report)?;
        }
        let id = run.run_id().to_string();
        run.finish()?;
        anyhow::Ok(id)
    })
    .await
    .context("evaluation stopped unexpectedly")??;
    eprintln!("logged to run {run_id}");
    Ok(())
}

fn param(key: &str, value: impl ToString) -> Param {
    Param { key: key.to_string(), value: value.to_string() }
}

/// Compares two scored models on the same rows.
fn compare(
    a: &evaluate::Scored,
    b: &evaluate::Scored,
    metric: &str,
    seed: u64,
) -> anyhow::Result<Comparison> {
    let config = BootstrapConfig { seed, ..BootstrapConfig::default() };
    let (ka, kb) = (&a.target.kind, &b.target.kind);
    if (*ka == TaskKind::Regression) != (*kb == TaskKind::Regression) {
        bail!("one model is a regressor and the other a classifier; expected the same task");
    }
    if *ka == TaskKind::Regression {
        let metric = if metric == "roc_auc" {
            eprintln!("regression models: comparing rmse (roc_auc is for classifiers)");
            "rmse"
        } else {
            metric
        };
        let (y, pa, pb) = (&a.target.values, &a.predictions.values, &b.predictions.values);
        return Ok(lathe_eval::compare_regressors(y, pa, pb, metric, &config)?);
    }
    if a.target.classes != b.target.classes {
        bail!(
            "the models have different classes ({:?} and {:?}); expected the same",
            a.target.classes,
            b.target.classes
        );
    }
    let (pa, pb) = (&a.predictions.values, &b.predictions.values);
    Ok(lathe_eval::compare_classifiers(&a.labels(), pa, pb, &a.target.classes, metric, &config)?)
}

fn log_comparison(run: &mut StoreRecorder<'_>, c: &Comparison) -> anyhow::Result<()> {
    let ts = now_millis();
    let m = &c.metric;
    let mut values = vec![
        (format!("a_{m}"), c.a),
        (format!("b_{m}"), c.b),
        (format!("diff_{m}"), c.diff.observed),
        (format!("diff_{m}_ci_low"), c.diff.ci_low),
        (format!("diff_{m}_ci_high"), c.diff.ci_high),
    ];
    if let Some(t) = &c.mcnemar {
        values.push(("mcnemar_p_value".into(), t.p_value));
    }
    let metrics: Vec<Metric> = values
        .into_iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(key, value)| Metric { key, value, timestamp: ts, step: 0 })
        .collect();
    run.log_metrics(&metrics)?;
    run.log_artifact("eval/comparison.json", serde_json::to_string_pretty(c)?.as_bytes())?;
    Ok(())
}

fn print_comparison(uris: &[String], c: &Comparison) -> anyhow::Result<()> {
    let d = &c.diff;
    let mut pairs = vec![
        ("metric", c.metric.clone()),
        ("A", format!("{:.4}  {}", c.a, uris[0])),
        ("B", format!("{:.4}  {}", c.b, uris[1])),
        (
            "A - B",
            format!(
                "{:+.4}  ({:.0}% CI {:+.4} .. {:+.4}, {} paired resamples)",
                d.observed,
                d.level * 100.0,
                d.ci_low,
                d.ci_high,
                d.resamples
            ),
        ),
    ];
    if let Some(t) = &c.mcnemar {
        pairs.push((
            "McNemar",
            format!(
                "p = {:.4} (A alone right on {} rows, B alone on {})",
                t.p_value, t.a_only_right, t.b_only_right
            ),
        ));
    }
    output::fields(&pairs)
}

fn print_report(report: &lathe_eval::EvalReport) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for (name, value) in evaluate::headline(report) {
        let ci = report.intervals.iter().find(|i| i.metric == name);
        let interval = ci.map_or(String::new(), |i| format!("[{:.4}, {:.4}]", i.low, i.high));
        rows.push(vec![name.to_string(), format!("{value:.4}"), interval]);
    }
    output::line(&format!("{} rows", report.rows))?;
    output::table(&["metric", "value", "95% CI"], &rows)?;
    for s in &report.classification_slices {
        output::line(&format!(
            "slice {}={}: {} rows, accuracy {:.4}",
            report.slice_column.as_deref().unwrap_or(""),
            s.value,
            s.count,
            s.metrics.accuracy
        ))?;
    }
    for s in &report.regression_slices {
        output::line(&format!(
            "slice {}={}: {} rows, rmse {:.4}",
            report.slice_column.as_deref().unwrap_or(""),
            s.value,
            s.count,
            s.metrics.rmse
        ))?;
    }
    Ok(())
}
