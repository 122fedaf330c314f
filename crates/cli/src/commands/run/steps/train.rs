//! `kind = "train"`: fits the preprocessing and a learner on the training
//! rows of the split it needs (a slice of them kept aside for early stopping
//! and model selection), logs the model to the step's run (`runs:/RUN/model`)
//! and keeps a copy in the cache for the evaluate, register and promote steps.

use anyhow::{bail, Context as _};
use lathe_core::{now_millis, Metric, RunRecorder};
use lathe_data::{encode_target, split, PreprocessSpec, Preprocessor};
use lathe_pipeline::{StepKind, StepRun};
use lathe_train::{
    search::{search, SearchConfig, SearchData, SearchSpace, Trial, TrialRuns, TrialSpec},
    AnyLearner, FittedPipeline, MlmodelInfo, TabularLearner,
};
use serde_json::{json, Value};

use super::{locate, needed, param, read_split, split::task_of, text};
use crate::commands::{
    evaluate,
    quickstart::tracker::StoreRecorder,
    run::executor::{StepContext, StepError},
    train::publish,
};

/// The model folder inside the step's cached outputs.
pub(super) const MODEL_DIR: &str = "model";

pub(crate) fn run(
    cx: &mut StepContext<'_, '_>,
    run: &StepRun<'_>,
    recorder: &mut StoreRecorder<'_>,
) -> anyhow::Result<Value> {
    let config = &run.step.config;
    let split_input = needed(run, StepKind::Split)?;
    let summary = &split_input.manifest.summary;
    let target_name = text(summary, "target")?;
    let task = task_of(text(summary, "task")?);
    let learner_name = config.learner.as_deref().unwrap_or("gbm");
    let params = params_of(&run.step.name, &config.params)?;
    let learner = AnyLearner::new(learner_name, &params)
        .with_context(|| format!("step `{}`: learner {learner_name:?}", run.step.name))?;
    let seed = config.seed.unwrap_or(42);

    let table = read_split(&split_input.dir, "train")?;
    let target = encode_target(&table.frame, target_name, task)?;
    let all: Vec<usize> = (0..target.values.len()).collect();
    let (fit_rows, valid_rows) = crate::commands::train::carve_validation(&target, &all, seed);
    let fit_frame = split::take_rows(&table.frame, &fit_rows)?;
    let spec = preprocess_spec(&run.step.name, &config.preprocess)?;
    let prep = Preprocessor::fit(&fit_frame, target_name, &spec)?;
    let (x_fit, _) = prep.transform(&fit_frame)?;
    let y_fit = target.select_rows(&fit_rows);
    let valid_frame = split::take_rows(&table.frame, &valid_rows)?;
    let valid = if valid_rows.is_empty() {
        None
    } else {
        let (x, _) = prep.transform(&valid_frame)?;
        Some((x, target.select_rows(&valid_rows)))
    };
    recorder.log_params(&[
        param("learner", learner_name),
        param("valid_seed", seed),
        param("train_rows", fit_rows.len()),
        param("valid_rows", valid_rows.len()),
        param("features", prep.feature_names().len()),
    ])?;
    let (model, searched) = if config.search.is_empty() {
        recorder.log_params(&learner.params())?;
        let rounds = learner
            .params()
            .iter()
            .find(|p| p.key == "num_iterations" || p.key == "num_trees")
            .and_then(|p| p.value.parse::<u64>().ok())
            .unwrap_or(100);
        let bar = cx.progress.bar(&format!("{}: fitting {learner_name}", run.step.name), rounds);
        recorder.show_steps_on(bar.bar());
        let model = learner.fit(&x_fit, &y_fit, valid.as_ref().map(|(x, y)| (x, y)), recorder)?;
        (model, Some(bar))
    } else {
        let (x_valid, y_valid) = valid.as_ref().with_context(|| {
            format!(
                "step `{}`: a search selects on validation rows; the split left too few",
                run.step.name
            )
        })?;
        let data = SearchData { x: &x_fit, y: &y_fit, x_valid, y_valid };
        let outcome = search_candidates(cx, run, recorder, learner_name, &params, data)?;
        (outcome, None)
    };
    let iterations = model.meta().iterations;
    let pipeline = FittedPipeline::new(prep, model, &fit_frame)?;

    // The selection score: the validation rows only, never the test rows.
    let mut valid_scores = serde_json::Map::new();
    if !valid_rows.is_empty() {
        let scored = evaluate::score(&pipeline, &valid_frame)?;
        let now = now_millis();
        let metrics: Vec<Metric> = headline_metrics(&scored)?
            .into_iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| {
                valid_scores.insert(k.to_string(), json!(v));
                Metric { key: format!("valid_{k}"), value: v, timestamp: now, step: 0 }
            })
            .collect();
        recorder.log_metrics(&metrics)?;
    }

    publish::log_model(recorder, &pipeline)?;
    let run_id = recorder.run_id().to_string();
    let created = lathe_core::now_millis().to_string();
    let info = MlmodelInfo {
        artifact_path: "model",
        run_id: &run_id,
        model_uuid: &run_id,
        utc_time_created: &created,
        lathe_version: env!("CARGO_PKG_VERSION"),
    };
    pipeline.save(&run.out_dir.join(MODEL_DIR), &info)?;
    let shown = ["roc_auc", "f1_macro", "rmse"].iter().find_map(|k| valid_scores.get_key_value(*k));
    let headline = match shown.or_else(|| valid_scores.iter().next()) {
        Some((k, v)) => {
            let v = v.as_f64().unwrap_or(f64::NAN);
            format!("{learner_name}, {iterations} iterations, valid {k} {v:.4}")
        }
        None => format!("{learner_name}, {iterations} iterations"),
    };
    let line = format!("{}: {headline}", run.step.name);
    // A search already said which trial won.
    if let Some(bar) = searched {
        bar.done(line);
    }
    Ok(json!({
        "headline": headline,
        "learner": learner_name,
        "params": params.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "model_uri": format!("runs:/{run_id}/model"),
        "split": locate(split_input),
        "valid": valid_scores,
    }))
}

/// `params = { … }` as the learners take them: `KEY=VALUE` text.
pub(super) fn params_of(
    step: &str,
    params: &std::collections::BTreeMap<String, toml::Value>,
) -> anyhow::Result<Vec<(String, String)>> {
    params
        .iter()
        .map(|(k, v)| {
            let value = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => bail!(
                    "step `{step}`: params.{k} is a {}: expected a number, a string or a boolean",
                    other.type_str()
                ),
            };
            Ok((k.clone(), value))
        })
        .collect()
}

/// The metrics of scored rows, without intervals (cheap enough for every trial).
pub(super) fn headline_metrics(
    scored: &evaluate::Scored,
) -> anyhow::Result<Vec<(&'static str, f64)>> {
    let p = &scored.predictions.values;
    Ok(if scored.target.kind == lathe_core::TaskKind::Regression {
        lathe_eval::RegressionMetrics::compute(&scored.target.values, p)?.named()
    } else {
        lathe_eval::ClassificationMetrics::compute(&scored.labels(), p, &scored.target.classes)?
            .named()
    })
}

/// Hyperparameter search (`search` and `space` in the step): every trial a
/// child run of the step's run; the winner, chosen on the validation rows,
/// is the step's model, and its parameters are the step's.
fn search_candidates(
    cx: &mut StepContext<'_, '_>,
    run: &StepRun<'_>,
    recorder: &mut StoreRecorder<'_>,
    learner: &str,
    base: &[(String, String)],
    data: SearchData<'_>,
) -> anyhow::Result<lathe_train::TabularModel> {
    let config = &run.step.config;
    let step = &run.step.name;
    let space = SearchSpace::from_json(&serde_json::to_value(&config.space)?)
        .with_context(|| format!("step `{step}`: space"))?;
    let mut search_config = SearchConfig::from_json(&serde_json::to_value(&config.search)?)
        .with_context(|| format!("step `{step}`: search"))?;
    if !config.search.contains_key("seed") {
        search_config.seed = config.seed.unwrap_or(42);
    }
    let progress = cx
        .progress
        .step(&format!("{step}: {} search over {learner}", search_config.strategy.name()));
    let mut trials = ChildRuns {
        tracker: cx.tracker,
        experiment_id: cx.experiment_id.to_string(),
        parent: recorder.run_id().to_string(),
        step: step.clone(),
        bar: progress.bar(),
    };
    let outcome = search(learner, base, &space, &search_config, data, &mut trials)?;
    let best = outcome.best_trial();
    let params: Vec<lathe_core::Param> = outcome.params.iter().map(|(k, v)| param(k, v)).collect();
    recorder.log_params(&params)?;
    recorder.log_params(&[
        param("search_strategy", search_config.strategy.name()),
        param("search_metric", outcome.metric.name()),
        param("search_trials", outcome.trials.len()),
        param("search_best_trial", best.index),
    ])?;
    let now = now_millis();
    recorder.log_metrics(&[
        Metric {
            key: format!("search_best_valid_{}", outcome.metric.name()),
            value: best.score,
            timestamp: now,
            step: 0,
        },
        Metric {
            key: "search_total_rounds".into(),
            value: outcome.total_rounds() as f64,
            timestamp: now,
            step: 0,
        },
    ])?;
    progress.done(format!(
        "{step}: {} trials, best #{} valid {} {:.4}",
        outcome.trials.len(),
        best.index,
        outcome.metric.name(),
        best.score
    ));
    Ok(outcome.model)
}

/// Trials as child runs of the step's run.
struct ChildRuns<'t> {
    tracker: &'t crate::commands::quickstart::tracker::Tracker,
    experiment_id: String,
    parent: String,
    step: String,
    bar: indicatif::ProgressBar,
}

impl<'t> TrialRuns for ChildRuns<'t> {
    type Recorder = StoreRecorder<'t>;
    type Error = StepError;

    fn open(&mut self, trial: &TrialSpec<'_>) -> Result<StoreRecorder<'t>, StepError> {
        let tags = vec![
            lathe_core::Tag::new("mlflow.parentRunId", self.parent.clone()),
            lathe_core::Tag::new("lathe.pipeline.step", format!("{}.trial", self.step)),
        ];
        let name = format!("{}-trial-{}", self.step, trial.index);
        self.bar.set_message(format!("{}: trial {}", self.step, trial.index));
        self.tracker.start_run(&self.experiment_id, &name, tags).map_err(StepError)
    }

    fn finish(&mut self, _: &Trial, run: StoreRecorder<'t>) -> Result<(), StepError> {
        run.finish().map_err(StepError)
    }
}

/// `preprocess = { … }` on lathe's defaults; every key and value checked.
fn preprocess_spec(
    step: &str,
    table: &std::collections::BTreeMap<String, toml::Value>,
) -> anyhow::Result<PreprocessSpec> {
    use lathe_data::{CategoricalEncoding, Imputation, Scaling};
    let mut spec = PreprocessSpec::default();
    for (key, value) in table {
        let shown = match value {
            toml::Value::String(s) => format!("{s:?}"),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => format!("a {}", other.type_str()),
        };
        let bad = |expected: &str| {
            anyhow::anyhow!("step `{step}`: preprocess.{key} = {shown}: expected {expected}")
        };
        let count = |v: &toml::Value| {
            v.as_integer().and_then(|n| usize::try_from(n).ok()).filter(|n| *n >= 2)
        };
        match key.as_str() {
            "imputation" => {
                spec.imputation = match (
                    value.as_str(),
                    value.as_float().or(value.as_integer().map(|i| i as f64)),
                ) {
                    (Some("mean"), _) => Imputation::Mean,
                    (Some("median"), _) => Imputation::Median,
                    (Some("most_frequent"), _) => Imputation::MostFrequent,
                    (None, Some(c)) if c.is_finite() => Imputation::Constant(c),
                    _ => return Err(bad("\"mean\", \"median\", \"most_frequent\" or a number")),
                }
            }
            "missing_indicators" => {
                spec.missing_indicators = value.as_bool().ok_or_else(|| bad("true or false"))?
            }
            "scaling" => {
                spec.scaling = match value.as_str() {
                    Some("standard") => Scaling::Standard,
                    Some("min_max") => Scaling::MinMax,
                    Some("robust") => Scaling::Robust,
                    Some("none") => Scaling::None,
                    _ => return Err(bad("\"standard\", \"min_max\", \"robust\" or \"none\"")),
                }
            }
            "categorical" => {
                spec.categorical = match value.as_str() {
                    Some("one_hot") => CategoricalEncoding::OneHot,
                    Some("ordinal") => CategoricalEncoding::Ordinal,
                    _ => return Err(bad("\"one_hot\" or \"ordinal\"")),
                }
            }
            "max_categories" => {
                spec.max_categories = count(value).ok_or_else(|| bad("a whole number ≥ 2"))?
            }
            "max_features" => {
                spec.max_features = count(value).ok_or_else(|| bad("a whole number ≥ 2"))?
            }
            _ => anyhow::bail!(
                "step `{step}`: preprocess.{key} is not a preprocessing option (imputation, \
                 missing_indicators, scaling, categorical, max_categories, max_features)"
            ),
        }
    }
    Ok(spec)
}
