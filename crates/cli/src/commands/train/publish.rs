//! What `lathe train` writes beyond metrics: the experiment, the model
//! directory as the run's `model/` artifacts (with MLflow's
//! `mlflow.log-model.history` tag), and with `--register` a new model
//! version plus the reference profile monitoring compares production to.

use anyhow::Context;
use lathe_core::{now_millis, LifecycleStage, RunRecorder, Tag};
use lathe_monitor::{ProfileValues, ReferenceProfile};
use lathe_store::{CreateModelVersion, StoreError};
use lathe_train::{FittedPipeline, MlmodelInfo, FLAVOR};
use polars::prelude::{DataFrame, DataType};
use serde_json::json;

use crate::commands::{
    monitor::reference::store_profile,
    quickstart::tracker::{StoreRecorder, Tracker},
};
use crate::output;

/// The experiment called `name`, created on first use and restored if deleted.
pub(crate) fn ensure_experiment(tracker: &Tracker, name: &str) -> anyhow::Result<String> {
    let store = tracker.store();
    match tracker.block(store.get_experiment_by_name(name)) {
        Ok(e) if e.lifecycle_stage == LifecycleStage::Active => Ok(e.experiment_id),
        Ok(e) => {
            tracker.block(store.restore_experiment(&e.experiment_id))?;
            Ok(e.experiment_id)
        }
        Err(StoreError::NotFound(_)) => {
            Ok(tracker.block(store.create_experiment(name, None, &[]))?)
        }
        Err(e) => Err(e).with_context(|| format!("cannot look up experiment {name:?}")),
    }
}

/// The model directory under `model/` and the `mlflow.log-model.history` tag.
pub(crate) fn log_model(
    run: &mut StoreRecorder<'_>,
    pipeline: &FittedPipeline,
) -> anyhow::Result<()> {
    let created_ms = now_millis();
    let created = format!("{}.{:03}000", output::time(created_ms), created_ms.rem_euclid(1000));
    let model_uuid = lathe_core::new_id();
    let run_id = run.run_id().to_string();
    let info = MlmodelInfo {
        artifact_path: "model",
        run_id: &run_id,
        model_uuid: &model_uuid,
        utc_time_created: &created,
        lathe_version: env!("CARGO_PKG_VERSION"),
    };
    for (name, bytes) in pipeline.files(&info)? {
        run.log_artifact(&format!("model/{name}"), &bytes)?;
    }
    let meta = pipeline.model().meta();
    let history = json!([{
        "run_id": run_id,
        "artifact_path": "model",
        "utc_time_created": created,
        "model_uuid": model_uuid,
        "flavors": {FLAVOR: {
            "data": pipeline.body_file(),
            "preprocess": lathe_train::PREPROCESS_FILE,
            "learner": meta.learner,
            "classes": meta.classes,
        }},
        "signature": {
            "inputs": pipeline.signature_inputs_json(),
            "outputs": pipeline.signature_outputs_json(),
            "params": null,
        },
    }]);
    run.set_tags(&[Tag::new("mlflow.log-model.history", history.to_string())])?;
    Ok(())
}

/// A new version of `name` from `runs:/RUN/model`, with the reference
/// profile of `train` (features and the model's predictions); returns the version.
pub(crate) fn register(
    tracker: &Tracker,
    name: &str,
    run_id: &str,
    pipeline: &FittedPipeline,
    train: &DataFrame,
) -> anyhow::Result<i64> {
    let store = tracker.store();
    match tracker.block(store.get_registered_model(name)) {
        Ok(_) => {}
        Err(StoreError::NotFound(_)) => {
            tracker.block(store.create_registered_model(name, &[], None))?;
        }
        Err(e) => return Err(e).with_context(|| format!("cannot look up registered model {name}")),
    }
    let version = tracker
        .block(store.create_model_version(CreateModelVersion {
            name: name.to_string(),
            source: format!("runs:/{run_id}/model"),
            run_id: Some(run_id.to_string()),
            ..CreateModelVersion::default()
        }))
        .with_context(|| format!("cannot register {name}"))?;
    let profile = reference_profile(pipeline, train)?;
    tracker.block(store_profile(store, tracker.artifacts(), name, version.version, &profile))?;
    Ok(version.version)
}

/// The training rows' input columns and the model's predictions on them
/// (`prediction`: the positive class's probability, the value, or a
/// multiclass label), as `lathe monitor` profiles them.
fn reference_profile(
    pipeline: &FittedPipeline,
    train: &DataFrame,
) -> anyhow::Result<ReferenceProfile> {
    let mut features = Vec::new();
    for input in pipeline.inputs() {
        let col = train.column(&input.name)?;
        let values = if matches!(input.mlflow_type.as_str(), "double" | "long") {
            let f = col.cast(&DataType::Float64)?;
            let values = f.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
            ProfileValues::Numerical { values, integer: input.mlflow_type == "long" }
        } else {
            let s = col.cast(&DataType::String)?;
            ProfileValues::Categorical(s.str()?.iter().map(|v| v.map(str::to_string)).collect())
        };
        features.push((input.name.clone(), values));
    }
    let (predictions, _) = pipeline.predict_frame(train)?;
    let classes = pipeline.model().classes();
    let prediction = match classes.len() {
        0 => ProfileValues::Numerical { values: predictions.values.clone(), integer: false },
        2 => ProfileValues::Numerical {
            values: (0..predictions.rows()).map(|i| predictions.row(i)[1]).collect(),
            integer: false,
        },
        _ => ProfileValues::Categorical(
            predictions.labels().into_iter().map(|l| classes.get(l).cloned()).collect(),
        ),
    };
    Ok(ReferenceProfile::compute(
        &features,
        &[("prediction".to_string(), prediction)],
        &Default::default(),
    )?)
}
