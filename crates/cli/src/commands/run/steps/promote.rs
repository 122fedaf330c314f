//! `kind = "promote"`: the champion/challenger gate. The newly registered
//! version and the version the alias (default `champion`) points at are
//! scored on the same test rows; the alias moves only when the challenger's
//! improvement on the evaluate step's metric is at least `margin` and the
//! lower end of its paired bootstrap interval is above zero. The decision
//! and its numbers are recorded on the step's run and as tags on the
//! challenger version, whichever way it goes.

use anyhow::{bail, Context as _};
use lathe_core::{now_millis, Metric, RunRecorder, Tag};
use lathe_eval::BootstrapConfig;
use lathe_pipeline::{StepKind, StepRun};
use lathe_train::FittedPipeline;
use serde_json::{json, Value};

use super::{dir_of, needed, param, read_split, text, train::MODEL_DIR};
use crate::commands::{
    evaluate, model_source, models::move_alias, quickstart::tracker::StoreRecorder,
    run::executor::StepContext,
};

/// Seed of the gate's bootstrap: the same rows give the same decision.
const SEED: u64 = 7;

pub(crate) fn run(
    cx: &mut StepContext<'_, '_>,
    run: &StepRun<'_>,
    recorder: &mut StoreRecorder<'_>,
) -> anyhow::Result<Value> {
    let config = &run.step.config;
    let alias = config.alias.as_deref().unwrap_or("champion");
    let margin = config.margin.unwrap_or(0.0);
    if !(margin.is_finite() && margin >= 0.0) {
        bail!("step `{}`: margin = {margin}: expected a number ≥ 0", run.step.name);
    }
    let registered = needed(run, StepKind::Register)?;
    let summary = &registered.manifest.summary;
    let name = text(summary, "model")?;
    let version = summary.get("version").and_then(Value::as_i64).context("no version recorded")?;
    let metric = match config.metric.as_deref() {
        Some(m) => m,
        None => text(summary, "metric")?,
    };
    let higher = super::higher_is_better(metric);
    let store = cx.tracker.store();
    let step = cx.progress.step(&format!("{}: {name} v{version} vs @{alias}", run.step.name));
    recorder.log_params(&[
        param("model", name),
        param("alias", alias),
        param("challenger_version", version),
        param("metric", metric),
        param("margin", margin),
    ])?;

    let registered = cx
        .tracker
        .block(store.get_registered_model(name))
        .with_context(|| format!("cannot read registered model {name}"))?;
    let incumbent = registered.aliases.iter().find(|(a, _)| a == alias).map(|&(_, v)| v);
    let decision = match incumbent {
        None => Decision {
            promote: true,
            reason: format!("{name} has no @{alias} yet: v{version} takes it"),
            numbers: None,
        },
        Some(current) if current == version => Decision {
            promote: false,
            reason: format!("v{version} already holds @{alias}"),
            numbers: None,
        },
        Some(current) => {
            let split = summary.get("split").cloned().unwrap_or(Value::Null);
            let test = read_split(&dir_of(cx.cache, &split)?, "test")?;
            let best = summary.get("best_model").cloned().unwrap_or(Value::Null);
            let challenger = FittedPipeline::load(&dir_of(cx.cache, &best)?.join(MODEL_DIR))?;
            let uri = format!("models:/{name}/{current}");
            let champion = cx
                .tracker
                .block(model_source::load_with(&uri, store, cx.tracker.artifacts()))
                .with_context(|| format!("cannot load the current @{alias}, {uri}"))?
                .pipeline;
            gate(&challenger, &champion, &test.frame, metric, higher, margin, current, version)?
        }
    };

    let verdict = if decision.promote { "promoted" } else { "refused" };
    let mut tags = vec![
        Tag::new("lathe.gate.decision", verdict),
        Tag::new("lathe.gate.reason", decision.reason.clone()),
        Tag::new("lathe.gate.run", recorder.run_id().to_string()),
    ];
    if let Some(current) = incumbent {
        tags.push(Tag::new("lathe.gate.champion", current.to_string()));
    }
    for tag in &tags {
        cx.tracker.block(store.set_model_version_tag(name, version, tag))?;
    }
    recorder.set_tags(&tags)?;
    // The registry's list shows descriptions: say there what the gate decided.
    let description = if decision.promote {
        format!("@{alias} since the gate promoted it: {}.", decision.reason)
    } else {
        format!("Not promoted to @{alias}: {}.", decision.reason)
    };
    cx.tracker.block(store.update_model_version(name, version, &description))?;
    if let Some(n) = &decision.numbers {
        let now = now_millis();
        let metric =
            |key: &str, value: f64| Metric { key: key.into(), value, timestamp: now, step: 0 };
        recorder.log_metrics(&[
            metric("challenger", n.challenger),
            metric("champion", n.champion),
            metric("improvement", n.improvement),
            metric("ci_low", n.ci_low),
            metric("ci_high", n.ci_high),
        ])?;
    }
    if decision.promote {
        cx.tracker.block(move_alias(store, name, alias, version))?;
    }
    let holder = if decision.promote { version } else { incumbent.unwrap_or(version) };
    let headline = format!("{verdict}: {}", decision.reason);
    step.done(format!("{}: {headline}", run.step.name));
    Ok(json!({
        "headline": headline,
        "model": name,
        "alias": alias,
        "challenger": version,
        "champion_before": incumbent,
        "champion_after": holder,
        "promoted": decision.promote,
        "reason": decision.reason,
        "numbers": decision.numbers.as_ref().map(|n| json!({
            "metric": metric,
            "challenger": n.challenger,
            "champion": n.champion,
            "improvement": n.improvement,
            "ci_low": n.ci_low,
            "ci_high": n.ci_high,
            "resamples": n.resamples,
        })),
    }))
}

/// What the gate decided and why.
struct Decision {
    promote: bool,
    reason: String,
    numbers: Option<Numbers>,
}

/// The metric of both models and the challenger's improvement (positive is
/// better whichever way the metric points) with its interval.
struct Numbers {
    challenger: f64,
    champion: f64,
    improvement: f64,
    ci_low: f64,
    ci_high: f64,
    resamples: usize,
}

#[allow(clippy::too_many_arguments)]
fn gate(
    challenger: &FittedPipeline,
    champion: &FittedPipeline,
    test: &polars::prelude::DataFrame,
    metric: &str,
    higher: bool,
    margin: f64,
    current: i64,
    version: i64,
) -> anyhow::Result<Decision> {
    let new = evaluate::score(challenger, test)?;
    let old = evaluate::score(champion, test)?;
    let config = BootstrapConfig { seed: SEED, ..BootstrapConfig::default() };
    let comparison = if new.target.kind == lathe_core::TaskKind::Regression {
        lathe_eval::compare_regressors(
            &new.target.values,
            &new.predictions.values,
            &old.predictions.values,
            metric,
            &config,
        )?
    } else {
        if new.target.classes != old.target.classes {
            bail!(
                "v{version} predicts classes {:?} but the champion v{current} predicts {:?}; \
                 they cannot be compared on the same metric",
                new.target.classes,
                old.target.classes
            );
        }
        lathe_eval::compare_classifiers(
            &new.labels(),
            &new.predictions.values,
            &old.predictions.values,
            &new.target.classes,
            metric,
            &config,
        )?
    };
    let d = comparison.diff;
    // A − B with A the challenger; flip for metrics where lower is better.
    let (improvement, lo, hi) = if higher {
        (d.observed, d.ci_low, d.ci_high)
    } else {
        (-d.observed, -d.ci_high, -d.ci_low)
    };
    let interval = format!("{:.0}% CI [{lo:+.4}, {hi:+.4}], B={}", 100.0 * d.level, d.resamples);
    let vs = format!(
        "v{version} {metric} {:.4} vs champion v{current} {:.4}, improvement {improvement:+.4}",
        comparison.a, comparison.b
    );
    let (promote, reason) = if improvement < margin {
        (false, format!("{vs} is below the margin {margin:.4} ({interval})"))
    } else if lo <= 0.0 {
        (false, format!("{vs} is not significant: {interval} reaches 0"))
    } else {
        (true, format!("{vs} ≥ margin {margin:.4} and {interval} is above 0"))
    };
    Ok(Decision {
        promote,
        reason,
        numbers: Some(Numbers {
            challenger: comparison.a,
            champion: comparison.b,
            improvement,
            ci_low: lo,
            ci_high: hi,
            resamples: d.resamples,
        }),
    })
}
