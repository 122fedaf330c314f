//! The steps of `lathe train`, in order: read, encode the target, split
//! (test, then a validation part of the training rows for early stopping),
//! fit the preprocessing on the fitting rows only, fit the learner, score
//! the test rows, evaluate, log everything to one run, register.
//!
//! Synchronous: it runs on a blocking thread and reaches the store through
//! [`Tracker`] (see `quickstart/tracker.rs` for why that is safe).

use std::path::Path;

use anyhow::Context;
use lathe_core::{now_millis, DatasetInput, Metric, Param, RunRecorder, Tag, TaskKind};
use lathe_data::{
    encode_target, fingerprint, read_table, split, ColumnType, PreprocessSpec, Preprocessor,
    ReadOptions,
};
use lathe_train::{AnyLearner, FittedPipeline, TabularLearner};

use super::{publish, Args};
use crate::commands::{
    evaluate,
    quickstart::{progress::Progress, tracker::Tracker},
};

/// Share of the training rows kept aside to watch early stopping.
const VALID_SHARE: f64 = 0.1;

/// What the command prints at the end.
pub(crate) struct Outcome {
    pub(crate) run_id: String,
}

pub(crate) fn run(
    tracker: &Tracker,
    args: &Args,
    params: &[(String, String)],
) -> anyhow::Result<Outcome> {
    let path = args.data.as_path();
    let shown = path.display().to_string();
    let mut progress = Progress::new(if args.register.is_some() { 6 } else { 5 });

    let step = progress.step("reading the data");
    let table = read_table(path, &ReadOptions::default())?;
    let learner_name = match args.model.as_str() {
        "auto" => auto_learner(&table, &args.target),
        named => named,
    };
    let learner = AnyLearner::new(learner_name, params)?;
    for d in &table.diagnostics {
        if d.kind != lathe_data::DiagnosticKind::Infinite {
            eprintln!("warning: {shown}: {}", d.message);
        }
    }
    evaluate::refuse_infinite(path, &table)?;
    let task = args.task.as_deref().map(|t| match t {
        "binary" => TaskKind::Binary,
        "multiclass" => TaskKind::Multiclass,
        _ => TaskKind::Regression,
    });
    let target = encode_target(&table.frame, &args.target, task).with_context(|| shown.clone())?;
    let print = fingerprint(path, &table)?;
    step.done(format!(
        "read {shown}: {} rows, {} columns, target {:?} ({})",
        table.frame.height(),
        table.columns.len(),
        args.target,
        task_word(&target.kind)
    ));

    let step = progress.step("splitting and preprocessing");
    let classifier = target.kind != TaskKind::Regression;
    let rows = if classifier {
        split::stratified(&target.values, args.test_size, args.seed)
    } else {
        split::random(target.values.len(), args.test_size, args.seed)
    }
    .with_context(|| format!("{shown}: cannot split {} rows", target.values.len()))?;
    let (fit_rows, valid_rows) = carve_validation(&target, &rows.train, args.seed);
    let fit_frame = split::take_rows(&table.frame, &fit_rows)?;
    let test_frame = split::take_rows(&table.frame, &rows.test)?;
    let prep = Preprocessor::fit(&fit_frame, &args.target, &PreprocessSpec::default())
        .with_context(|| shown.clone())?;
    let (x_fit, _) = prep.transform(&fit_frame).with_context(|| shown.clone())?;
    let y_fit = target.select_rows(&fit_rows);
    let valid = if valid_rows.is_empty() {
        None
    } else {
        let frame = split::take_rows(&table.frame, &valid_rows)?;
        let (x, _) = prep.transform(&frame).with_context(|| shown.clone())?;
        Some((x, target.select_rows(&valid_rows)))
    };
    step.done(format!(
        "{} fit / {} validation / {} test rows; {} input columns → {} features",
        fit_rows.len(),
        valid_rows.len(),
        rows.test.len(),
        prep.input_columns().len(),
        prep.feature_names().len()
    ));

    let experiment_id = publish::ensure_experiment(tracker, &args.experiment)?;
    let run_name = format!("{learner_name}-{}", file_stem(path));
    let mut run = tracker.start_run(&experiment_id, &run_name, git_tags())?;
    run.log_params(&[
        param("data", &shown),
        param("target", &args.target),
        param("task", task_word(&target.kind)),
        param("model", learner_name),
        param("test_size", args.test_size),
        param("split_seed", args.seed),
        param("train_rows", fit_rows.len()),
        param("valid_rows", valid_rows.len()),
        param("test_rows", rows.test.len()),
        param("features", prep.feature_names().len()),
    ])?;
    let dataset = print.to_dataset(&file_stem(path));
    run.log_inputs(&[DatasetInput {
        dataset,
        tags: vec![Tag::new("mlflow.data.context", "training")],
    }])?;

    let rounds = learner
        .params()
        .iter()
        .find(|p| p.key == "num_iterations" || p.key == "num_trees")
        .and_then(|p| p.value.parse::<u64>().ok())
        .unwrap_or(100);
    let bar = progress.bar(&format!("fitting {learner_name}"), rounds);
    run.show_steps_on(bar.bar());
    let valid_ref = valid.as_ref().map(|(x, y)| (x, y));
    let model = learner.fit(&x_fit, &y_fit, valid_ref, &mut run)?;
    bar.done(format!("{learner_name}: {} rounds kept", model.meta().iterations));

    let resamples = lathe_eval::BootstrapConfig::default().resamples;
    let step = progress.bar("evaluating on the test rows (bootstrap)", resamples as u64);
    let pipeline = FittedPipeline::new(prep, model, &fit_frame)?;
    let scored = evaluate::score(&pipeline, &test_frame)?;
    let title = format!("{run_name}: {} test rows of {shown}", rows.test.len());
    let bar = step.bar();
    let mut tick = |done: usize| bar.set_position(done as u64);
    let report = evaluate::report(&title, &pipeline, &scored, args.seed, None, &mut tick)?;
    let timestamp = now_millis();
    let metrics: Vec<Metric> = report
        .run_metrics(timestamp)
        .into_iter()
        .map(|m| Metric { key: format!("test_{}", m.key), ..m })
        .collect();
    run.log_metrics(&metrics)?;
    run.log_artifact("eval/report.html", report.to_html().as_bytes())?;
    run.log_artifact("eval/report.json", report.to_json()?.as_bytes())?;
    let headline = evaluate::headline(&report);
    step.done(summary(&headline));

    let step = progress.step("logging the model");
    publish::log_model(&mut run, &pipeline)?;
    let run_id = run.run_id().to_string();
    run.finish()?;
    step.done(format!("logged runs:/{run_id}/model"));

    if let Some(name) = &args.register {
        let step = progress.step("registering");
        let version = publish::register(tracker, name, &run_id, &pipeline, &fit_frame)?;
        step.done(format!("registered models:/{name}/{version} with its reference profile"));
    }
    Ok(Outcome { run_id })
}

/// Fitting rows and validation rows out of the training rows (stratified
/// for classifiers); no validation when there are too few rows to spare.
/// `--model auto`: free-text inputs become thousands of sparse TF-IDF
/// columns, where a penalized linear model is the field's standard (and
/// trees are slow and no better); any other table gets gradient boosting.
fn auto_learner(table: &lathe_data::Table, target: &str) -> &'static str {
    let text = table.columns.iter().any(|(name, kind)| name != target && *kind == ColumnType::Text);
    if text {
        "linear"
    } else {
        "gbm"
    }
}

pub(crate) fn carve_validation(
    target: &lathe_core::Target,
    train: &[usize],
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let labels: Vec<f64> = train.iter().map(|&i| target.values[i]).collect();
    let carved = if target.kind == TaskKind::Regression {
        split::random(train.len(), VALID_SHARE, seed)
    } else {
        split::stratified(&labels, VALID_SHARE, seed)
    };
    match carved {
        Ok(s) if train.len() >= 50 => (
            s.train.iter().map(|&i| train[i]).collect(),
            s.test.iter().map(|&i| train[i]).collect(),
        ),
        _ => (train.to_vec(), Vec::new()),
    }
}

fn task_word(kind: &TaskKind) -> &'static str {
    match kind {
        TaskKind::Binary => "binary",
        TaskKind::Multiclass => "multiclass",
        TaskKind::Regression => "regression",
    }
}

fn param(key: &str, value: impl ToString) -> Param {
    Param { key: key.to_string(), value: value.to_string() }
}

fn file_stem(path: &Path) -> String {
    path.file_stem().map_or_else(|| "data".into(), |s| s.to_string_lossy().into_owned())
}

/// `mlflow.source.git.commit` when the working directory is in a git repository.
fn git_tags() -> Vec<Tag> {
    let out = std::process::Command::new("git").args(["rev-parse", "HEAD"]).output();
    match out {
        Ok(o) if o.status.success() => {
            let commit = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if commit.len() == 40 {
                vec![Tag::new("mlflow.source.git.commit", commit)]
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

/// The main test metrics in one line.
fn summary(named: &[(&'static str, f64)]) -> String {
    const SHOWN: [&str; 6] = ["roc_auc", "accuracy", "f1_macro", "log_loss", "rmse", "r2"];
    let parts: Vec<String> = named
        .iter()
        .filter(|(n, _)| SHOWN.contains(n))
        .map(|(n, v)| format!("test {n} {v:.4}"))
        .collect();
    parts.join(", ")
}
