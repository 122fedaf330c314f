//! `kind = "register"`: the evaluate step's best candidate becomes a new
//! version of the configured model, with the reference profile (training
//! rows and the model's predictions on them) that monitoring compares
//! production with.

use anyhow::Context as _;
use lathe_core::{RunRecorder, Tag};
use lathe_pipeline::{StepKind, StepRun};
use lathe_train::FittedPipeline;
use serde_json::{json, Value};

use super::{dir_of, needed, param, read_split, text, train::MODEL_DIR};
use crate::commands::{
    quickstart::tracker::StoreRecorder, run::executor::StepContext, train::publish,
};

pub(crate) fn run(
    cx: &mut StepContext<'_, '_>,
    run: &StepRun<'_>,
    recorder: &mut StoreRecorder<'_>,
) -> anyhow::Result<Value> {
    let name = run.step.config.model.as_deref().context("a register step needs `model`")?;
    let evaluated = needed(run, StepKind::Evaluate)?;
    let summary = &evaluated.manifest.summary;
    let best = summary.get("best_model").cloned().unwrap_or(Value::Null);
    let model_dir = dir_of(cx.cache, &best)?.join(MODEL_DIR);
    let split = summary.get("split").cloned().unwrap_or(Value::Null);
    let train = read_split(&dir_of(cx.cache, &split)?, "train")?;
    let uri = text(summary, "best_model_uri")?;
    let run_id = uri
        .strip_prefix("runs:/")
        .and_then(|r| r.split('/').next())
        .with_context(|| format!("the evaluate step recorded {uri:?}, not runs:/RUN/model"))?;
    let step = cx.progress.step(&format!("{}: registering {uri} as {name}", run.step.name));
    let pipeline = FittedPipeline::load(&model_dir)
        .with_context(|| format!("cannot load the cached model {}", model_dir.display()))?;
    let version = publish::register(cx.tracker, name, run_id, &pipeline, &train.frame)?;
    let tags = [
        Tag::new("lathe.pipeline.register_run", recorder.run_id().to_string()),
        Tag::new("lathe.pipeline.candidate", text(summary, "best")?.to_string()),
    ];
    for tag in &tags {
        cx.tracker.block(cx.tracker.store().set_model_version_tag(name, version, tag))?;
    }
    recorder.log_params(&[
        param("model", name),
        param("version", version),
        param("source", uri),
    ])?;
    recorder.set_tags(&[Tag::new("lathe.registered", format!("{name}/{version}"))])?;
    let headline = format!("models:/{name}/{version} from {}", text(summary, "best")?);
    step.done(format!("{}: {headline}", run.step.name));
    Ok(json!({
        "headline": headline,
        "model": name,
        "version": version,
        "model_uri": uri,
        "best_model": best,
        "split": split,
        "metric": text(summary, "metric")?,
        "higher_is_better": summary.get("higher_is_better").and_then(Value::as_bool).unwrap_or(true),
    }))
}
