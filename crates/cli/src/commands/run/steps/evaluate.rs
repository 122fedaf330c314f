//! `kind = "evaluate"`: scores every trained candidate it needs on the same
//! test rows, with bootstrap intervals, per-slice metrics and the HTML
//! report, and picks the best on the configured metric.

use anyhow::{bail, Context as _};
use lathe_core::{now_millis, Metric, RunRecorder};
use lathe_pipeline::{StepKind, StepRun};
use lathe_train::FittedPipeline;
use serde_json::{json, Value};

use super::{dir_of, higher_is_better, param, read_split, text, train::MODEL_DIR};
use crate::commands::{evaluate, quickstart::tracker::StoreRecorder, run::executor::StepContext};

pub(crate) fn run(
    cx: &mut StepContext<'_, '_>,
    run: &StepRun<'_>,
    recorder: &mut StoreRecorder<'_>,
) -> anyhow::Result<Value> {
    let config = &run.step.config;
    let metric = config.metric.as_deref().context("an evaluate step needs `metric`")?;
    let candidates: Vec<_> =
        run.inputs.iter().filter(|i| i.step.config.kind == StepKind::Train).collect();
    let Some(first) = candidates.first() else {
        bail!("step `{}` needs at least one `train` step", run.step.name);
    };
    // Candidates are comparable only on the same rows.
    let split = first.manifest.summary.get("split").cloned().unwrap_or(Value::Null);
    if let Some(other) = candidates.iter().find(|c| c.manifest.summary.get("split") != Some(&split))
    {
        bail!(
            "step `{}`: `{}` and `{}` were trained on different splits; evaluate compares \
             candidates on the same test rows",
            run.step.name,
            first.step.name,
            other.step.name
        );
    }
    let split_dir = dir_of(cx.cache, &split)?;
    let test = read_split(&split_dir, "test")?;
    let seed = 42;
    let mut scores = Vec::new();
    let resamples = lathe_eval::BootstrapConfig::default().resamples as u64;
    for candidate in &candidates {
        let name = &candidate.step.name;
        let pipeline = FittedPipeline::load(&candidate.dir.join(MODEL_DIR))
            .with_context(|| format!("cannot load the model of step `{name}` from the cache"))?;
        let step =
            cx.progress.bar(&format!("{}: {name} on the test rows", run.step.name), resamples);
        let scored = evaluate::score(&pipeline, &test.frame)?;
        let slice = match config.slices.first() {
            Some(column) => Some((column.as_str(), evaluate::slice_values(&test.frame, column)?)),
            None => None,
        };
        let bar = step.bar();
        let title = format!("{name}: {} test rows", test.frame.height());
        let report = evaluate::report(
            &title,
            &pipeline,
            &scored,
            seed,
            slice.as_ref().map(|(c, v)| (*c, v.as_slice())),
            &mut |done| bar.set_position(done as u64),
        )?;
        let named = evaluate::headline(&report);
        let Some(&(_, value)) = named.iter().find(|(k, _)| *k == metric) else {
            let known: Vec<&str> = named.iter().map(|(k, _)| *k).collect();
            bail!(
                "step `{}`: metric = {metric:?} is not one of this task's metrics ({})",
                run.step.name,
                known.join(", ")
            );
        };
        let now = now_millis();
        let metrics: Vec<Metric> = named
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| Metric {
                key: format!("{name}.test_{k}"),
                value: *v,
                timestamp: now,
                step: 0,
            })
            .collect();
        recorder.log_metrics(&metrics)?;
        recorder.log_artifact(&format!("{name}/report.html"), report.to_html().as_bytes())?;
        recorder.log_artifact(&format!("{name}/report.json"), report.to_json()?.as_bytes())?;
        step.done(format!("{}: {name} test {metric} {value:.4}", run.step.name));
        scores.push((candidate, value));
    }
    let better = higher_is_better(metric);
    let best = scores
        .iter()
        .filter(|(_, v)| v.is_finite())
        .max_by(|a, b| if better { a.1.total_cmp(&b.1) } else { b.1.total_cmp(&a.1) })
        .with_context(|| {
            format!("step `{}`: {metric} is undefined for every candidate", run.step.name)
        })?;
    let (winner, value) = (best.0, best.1);
    recorder.log_params(&[
        param("metric", metric),
        param("candidates", candidates.len()),
        param("best", &winner.step.name),
        param("test_rows", test.frame.height()),
    ])?;
    recorder.log_metrics(&[Metric {
        key: format!("best_test_{metric}"),
        value,
        timestamp: now_millis(),
        step: 0,
    }])?;
    let headline = format!("best {} ({metric} {value:.4})", winner.step.name);
    Ok(json!({
        "headline": headline,
        "metric": metric,
        "higher_is_better": better,
        "best": winner.step.name,
        "best_value": value,
        "best_model_uri": text(&winner.manifest.summary, "model_uri")?,
        "best_model": { "step": winner.step.name, "key": winner.manifest.key },
        "split": split,
        "scores": scores.iter().map(|(c, v)| (c.step.name.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
    }))
}
