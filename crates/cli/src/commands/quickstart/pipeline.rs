//! The quickstart's steps on the embedded data: profile, split, train a
//! baseline and a logistic regression under one parent run, evaluate both on
//! the held-out rows, register both, and move `champion` to the better new
//! one only when the champion/challenger gate ([`lathe_eval::gate`]: paired
//! bootstrap of the test ROC AUC difference) says it beats the current
//! champion (or, on a fresh store, the baseline).
//!
//! Synchronous on purpose: it runs on a blocking thread and reaches the
//! store through [`Tracker`] (see `tracker.rs` for why that is safe).

use anyhow::Context;
use lathe_core::{
    now_millis, Dataset as DatasetRecord, DatasetInput, LifecycleStage, RunRecorder, Tag,
};
use lathe_eval::{BinaryMetrics, BootstrapConfig, Decision};
use lathe_store::{CreateModelVersion, StoreError};
use lathe_train::{
    stratified_split, Dataset, Learner, LogisticRegression, MajorityClass, MlmodelInfo, Model,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{
    progress::Progress,
    tracker::{StoreRecorder, Tracker},
};
use crate::{commands::monitor::reference::store_profile, output};

/// The embedded data: UCI Breast Cancer Wisconsin (Diagnostic), CC BY 4.0 (see `data/LICENSE.md`).
const DATA: &[u8] = include_bytes!("../../../data/breast_cancer_wisconsin.csv");
pub(crate) const DATASET_NAME: &str = "breast_cancer_wisconsin";
const LABEL_COLUMN: &str = "diagnosis";
const POSITIVE_CLASS: &str = "malignant";
pub(crate) const EXPERIMENT: &str = "quickstart";
pub(crate) const MODEL_NAME: &str = "breast-cancer";
pub(crate) const CHAMPION: &str = "champion";
const SEED: u64 = 42;
const TEST_FRACTION: f64 = 0.2;
/// Labels are `p >= THRESHOLD`.
const THRESHOLD: f64 = 0.5;

/// What the pipeline did, for the summary.
pub(crate) struct Outcome {
    pub(crate) experiment_id: String,
    pub(crate) rows: usize,
    pub(crate) features: usize,
    pub(crate) positive_share: f64,
    pub(crate) train_rows: usize,
    pub(crate) test_rows: usize,
    pub(crate) seed: u64,
    pub(crate) candidates: Vec<Candidate>,
    /// Index into `candidates` of the champion when it is one of this run's.
    pub(crate) champion: Option<usize>,
    /// The version the `champion` alias points at after this run.
    pub(crate) champion_version: i64,
    /// The run name of that version.
    pub(crate) champion_name: String,
    /// The gate's decision on this run's best candidate.
    pub(crate) gate: Gate,
}

/// The champion/challenger comparison of one quickstart run.
pub(crate) struct Gate {
    /// Index into `candidates` of the challenger.
    pub(crate) challenger: usize,
    /// What it was compared with, e.g. `logistic-regression v2 (@champion)`.
    pub(crate) incumbent: String,
    /// The gate's decision.
    pub(crate) decision: Decision,
}

/// One trained and registered model.
pub(crate) struct Candidate {
    pub(crate) run_name: &'static str,
    pub(crate) run_id: String,
    pub(crate) version: i64,
    pub(crate) metrics: BinaryMetrics,
    /// Probabilities on the test split, for the gate.
    proba: Vec<f64>,
    /// Reference profile of the training split and the model's predictions on it.
    profile: lathe_monitor::ReferenceProfile,
}

/// Runs every step, logging into the store behind `tracker`.
pub(crate) fn run(tracker: &Tracker) -> anyhow::Result<Outcome> {
    let mut progress = Progress::new(6);
    let step = progress.step("reading the embedded data");
    let data = Dataset::from_csv(DATA, LABEL_COLUMN, POSITIVE_CLASS)
        .context("cannot read the embedded breast cancer data")?;
    let input = dataset_input(&data);
    let experiment_id = ensure_experiment(tracker)?;
    step.done(format!(
        "read {DATASET_NAME}: {} rows, {} features, label '{LABEL_COLUMN}' (digest {})",
        data.n_rows(),
        data.n_features(),
        input.dataset.digest
    ));

    let step = progress.step("profiling the data");
    profile(tracker, &experiment_id, &data, &input)?;
    step.done(format!("profiled {} columns (run 'profile')", data.n_features() + 1));

    let step = progress.step("splitting train/test");
    let split = stratified_split(data.labels(), TEST_FRACTION, SEED)?;
    let (train, test) = split.apply(&data)?;
    let mut parent = tracker.start_run(&experiment_id, "quickstart-pipeline", vec![])?;
    let split_params = split_params(&train, &test);
    parent.log_params(&split_params)?;
    parent.log_inputs(std::slice::from_ref(&input))?;
    step.done(format!(
        "split {} train / {} test rows, stratified on '{LABEL_COLUMN}' (seed {SEED})",
        train.n_rows(),
        test.n_rows()
    ));

    let parent_tag = Tag::new("mlflow.parentRunId", parent.run_id());
    let mut candidates = Vec::new();
    let context = TrainContext {
        tracker,
        experiment_id: &experiment_id,
        parent_tag,
        input: &input,
        split_params: &split_params,
    };
    let bar = progress.bar("training baseline-majority", 1);
    let baseline = context.train("baseline-majority", &MajorityClass, &train, &test, &bar)?;
    bar.done(format!("baseline-majority: test roc_auc {:.4}", baseline.metrics.roc_auc));
    candidates.push(baseline);
    let learner = LogisticRegression::default();
    let bar = progress.bar("training logistic-regression", learner.epochs as u64 + 1);
    let logistic = context.train("logistic-regression", &learner, &train, &test, &bar)?;
    bar.done(format!(
        "logistic-regression: {} epochs, test roc_auc {:.4}",
        learner.epochs, logistic.metrics.roc_auc
    ));
    candidates.push(logistic);

    let step = progress.step("registering models");
    let registered = register(tracker, &mut candidates, &test)?;
    let best = &candidates[registered.gate.challenger];
    let decision = &registered.gate.decision;
    parent.set_tags(&[
        Tag::new("lathe.champion_version", registered.champion_version.to_string()),
        Tag::new("lathe.gate.decision", gate_word(decision)),
        Tag::new("lathe.gate.reason", decision.reason.clone()),
    ])?;
    parent.log_values(&[
        ("best_test_roc_auc", best.metrics.roc_auc),
        ("gate_diff", decision.diff.observed),
        ("gate_ci_low", decision.diff.ci_low),
        ("gate_ci_high", decision.diff.ci_high),
    ])?;
    parent.finish()?;
    step.done(format!(
        "registered {MODEL_NAME} v{}..v{}: @{CHAMPION} is v{} ({}); gate {} {} v{} vs {}",
        candidates[0].version,
        candidates[candidates.len() - 1].version,
        registered.champion_version,
        registered.champion_name,
        gate_word(decision),
        best.run_name,
        best.version,
        registered.gate.incumbent,
    ));

    Ok(Outcome {
        experiment_id,
        rows: data.n_rows(),
        features: data.n_features(),
        positive_share: data.positive_share(),
        train_rows: train.n_rows(),
        test_rows: test.n_rows(),
        seed: SEED,
        champion: registered.champion,
        champion_version: registered.champion_version,
        champion_name: registered.champion_name,
        gate: registered.gate,
        candidates,
    })
}

/// The dataset as MLflow records it: content digest, code source, colspec schema, size profile.
fn dataset_input(data: &Dataset) -> DatasetInput {
    let digest: String = Sha256::digest(DATA).iter().take(8).map(|b| format!("{b:02x}")).collect();
    DatasetInput {
        dataset: DatasetRecord {
            name: DATASET_NAME.to_string(),
            digest,
            source_type: "code".to_string(),
            source: json!({"tags": {"mlflow.source.name": "lathe quickstart"}}).to_string(),
            schema: Some(data.mlflow_schema_json()),
            profile: Some(
                json!({"num_rows": data.n_rows(), "num_elements": data.n_rows() * (data.n_features() + 1)})
                    .to_string(),
            ),
        },
        tags: vec![Tag::new("mlflow.data.context", "training")],
    }
}

/// The `quickstart` experiment, created on first use and restored if it was deleted.
fn ensure_experiment(tracker: &Tracker) -> anyhow::Result<String> {
    let store = tracker.store();
    match tracker.block(store.get_experiment_by_name(EXPERIMENT)) {
        Ok(e) if e.lifecycle_stage == LifecycleStage::Active => Ok(e.experiment_id),
        Ok(e) => {
            tracker.block(store.restore_experiment(&e.experiment_id))?;
            Ok(e.experiment_id)
        }
        Err(StoreError::NotFound(_)) => {
            let note = Tag::new(
                "mlflow.note.content",
                "Made by `lathe quickstart`: breast cancer diagnosis, a baseline and a logistic regression.",
            );
            Ok(tracker.block(store.create_experiment(EXPERIMENT, None, &[note]))?)
        }
        Err(e) => Err(e).context("cannot look up the quickstart experiment"),
    }
}

/// The `profile` run: the dataset input, size metrics and `profile.json`.
fn profile(
    tracker: &Tracker,
    experiment_id: &str,
    data: &Dataset,
    input: &DatasetInput,
) -> anyhow::Result<()> {
    let mut run = tracker.start_run(experiment_id, "profile", vec![])?;
    run.log_inputs(std::slice::from_ref(input))?;
    run.log_params(&[
        param("dataset", DATASET_NAME),
        param("label_column", LABEL_COLUMN),
        param("positive_class", POSITIVE_CLASS),
    ])?;
    let positives = data.labels().iter().filter(|&&l| l == 1).count();
    run.log_values(&[
        ("rows", data.n_rows() as f64),
        ("columns", (data.n_features() + 1) as f64),
        ("features", data.n_features() as f64),
        ("positive_share", data.positive_share()),
        ("missing_values", data.profile().iter().map(|c| c.missing as f64).sum()),
    ])?;
    let label = data.label();
    let report = json!({
        "dataset": {
            "name": DATASET_NAME,
            "digest": input.dataset.digest,
            "num_rows": data.n_rows(),
            "num_columns": data.n_features() + 1,
        },
        "label": {
            "column": label.column,
            "positive_class": label.positive_class,
            "negative_class": label.negative_class,
            "positive_rows": positives,
            "negative_rows": data.n_rows() - positives,
            "positive_share": data.positive_share(),
        },
        "columns": data.profile(),
    });
    run.log_artifact("profile.json", serde_json::to_string_pretty(&report)?.as_bytes())?;
    run.finish()
}

fn param(key: &str, value: impl ToString) -> lathe_core::Param {
    lathe_core::Param { key: key.to_string(), value: value.to_string() }
}

fn split_params(train: &Dataset, test: &Dataset) -> Vec<lathe_core::Param> {
    vec![
        param("dataset", DATASET_NAME),
        param("split_seed", SEED),
        param("test_fraction", TEST_FRACTION),
        param("test_rows", test.n_rows()),
        param("threshold", THRESHOLD),
        param("split", format!("stratified {}/{}", train.n_rows(), test.n_rows())),
    ]
}

/// What every training run shares.
struct TrainContext<'a> {
    tracker: &'a Tracker,
    experiment_id: &'a str,
    parent_tag: Tag,
    input: &'a DatasetInput,
    split_params: &'a [lathe_core::Param],
}

impl TrainContext<'_> {
    /// One child run: fit (the learner logs params and `train_loss` per
    /// epoch), evaluate on `test`, log the model artifact.
    fn train(
        &self,
        run_name: &'static str,
        learner: &impl Learner,
        train: &Dataset,
        test: &Dataset,
        step: &super::progress::Step,
    ) -> anyhow::Result<Candidate> {
        let mut run =
            self.tracker.start_run(self.experiment_id, run_name, vec![self.parent_tag.clone()])?;
        run.show_steps_on(step.bar());
        run.log_inputs(std::slice::from_ref(self.input))?;
        run.log_params(self.split_params)?;
        let model = learner.fit(train, &mut run)?;
        let proba = model.predict_proba(test)?;
        let metrics = BinaryMetrics::compute(test.labels(), &proba, THRESHOLD)?;
        let named: Vec<(String, f64)> =
            metrics.named().iter().map(|(k, v)| (format!("test_{k}"), *v)).collect();
        let refs: Vec<(&str, f64)> = named.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        run.log_values(&refs)?;
        log_model(&mut run, &model)?;
        let run_id = run.run_id().to_string();
        run.finish()?;
        let profile = reference_profile(train, model.predict_proba(train)?)?;
        Ok(Candidate { run_name, run_id, version: 0, metrics, proba, profile })
    }
}

/// The training split's features and the model's predicted probabilities on it.
fn reference_profile(
    train: &Dataset,
    proba: Vec<f64>,
) -> lathe_monitor::Result<lathe_monitor::ReferenceProfile> {
    use lathe_monitor::ProfileValues::Numerical;
    let features: Vec<_> = (train.feature_names().iter().enumerate())
        .map(|(j, n)| (n.clone(), Numerical { values: train.column(j).collect(), integer: false }))
        .collect();
    let predictions = [("prediction".to_string(), Numerical { values: proba, integer: false })];
    lathe_monitor::ReferenceProfile::compute(&features, &predictions, &Default::default())
}

/// `model/model.json`, `model/MLmodel` and the `mlflow.log-model.history` tag.
fn log_model(run: &mut StoreRecorder<'_>, model: &Model) -> anyhow::Result<()> {
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
    run.log_artifact("model/model.json", model.to_json()?.as_bytes())?;
    run.log_artifact("model/MLmodel", model.mlmodel(&info).as_bytes())?;
    let history = json!([{
        "run_id": run_id,
        "artifact_path": "model",
        "utc_time_created": created,
        "model_uuid": model_uuid,
        "flavors": {"lathe": {"data": "model.json", "model_kind": model.kind()}},
        "signature": {"inputs": model.signature_inputs_json(), "params": null},
    }]);
    run.set_tags(&[Tag::new("mlflow.log-model.history", history.to_string())])?;
    Ok(())
}

/// `promoted` or `kept`, for tags and the summary.
pub(crate) fn gate_word(decision: &Decision) -> &'static str {
    if decision.promote {
        "promoted"
    } else {
        "kept"
    }
}

/// What [`register`] decided.
struct Registered {
    champion: Option<usize>,
    champion_version: i64,
    champion_name: String,
    gate: Gate,
}

/// The gate's metric: ROC AUC, NaN where it is undefined (one class in a resample).
fn roc_auc(y_true: &[u8], y_score: &[f64]) -> f64 {
    lathe_eval::roc_auc(y_true, y_score).unwrap_or(f64::NAN)
}

/// The version the `champion` alias points at, with its run name and its
/// probabilities on `test` recomputed from its stored `model/model.json`.
fn current_champion(
    tracker: &Tracker,
    test: &Dataset,
) -> anyhow::Result<Option<(i64, String, Vec<f64>)>> {
    let store = tracker.store();
    let model = tracker.block(store.get_registered_model(MODEL_NAME))?;
    let Some(&(_, number)) = model.aliases.iter().find(|(alias, _)| alias == CHAMPION) else {
        return Ok(None);
    };
    let version = tracker
        .block(store.get_model_version(MODEL_NAME, number))
        .context("cannot look up the current champion")?;
    let name = (version.tags.iter().find(|t| t.key == "lathe.run_name"))
        .map_or_else(|| format!("run {}", version.run_id), |t| t.value.clone());
    let text = tracker.read_run_artifact(&version.run_id, "model/model.json")?;
    let model = Model::from_json(std::str::from_utf8(&text)?).with_context(|| {
        format!("cannot read the model of the current champion {MODEL_NAME} v{}", version.version)
    })?;
    let proba = model.predict_proba(test)?;
    Ok(Some((version.version, name, proba)))
}

/// Registers every candidate as a version of [`MODEL_NAME`] and runs the
/// champion/challenger gate: the challenger is this run's best candidate by
/// test ROC AUC (lower log loss breaks a tie), the incumbent is the current
/// [`CHAMPION`] (its predictions recomputed from its stored model), or on a
/// fresh store this run's baseline. [`CHAMPION`] moves to the challenger only
/// when [`lathe_eval::gate`] promotes it (margin 0, 95% paired bootstrap
/// interval of the ROC AUC difference above 0); on a fresh store a refused
/// challenger leaves the baseline as champion. The decision is written on the
/// challenger's version (description and `lathe.gate.*` tags).
fn register(
    tracker: &Tracker,
    candidates: &mut [Candidate],
    test: &Dataset,
) -> anyhow::Result<Registered> {
    let store = tracker.store();
    match tracker.block(store.get_registered_model(MODEL_NAME)) {
        Ok(_) => {}
        Err(StoreError::NotFound(_)) => {
            let description = "Breast cancer diagnosis (malignant vs benign) from 30 cell-nucleus \
                               features; versions are made by `lathe quickstart`.";
            tracker.block(store.create_registered_model(MODEL_NAME, &[], Some(description)))?;
        }
        Err(e) => return Err(e).context("cannot look up the registered model"),
    }
    let current = current_champion(tracker, test)?;
    for c in candidates.iter_mut() {
        let version = tracker.block(store.create_model_version(CreateModelVersion {
            name: MODEL_NAME.to_string(),
            source: format!("runs:/{}/model", c.run_id),
            run_id: Some(c.run_id.clone()),
            tags: vec![
                Tag::new("lathe.run_name", c.run_name),
                Tag::new("lathe.test_roc_auc", format!("{:.6}", c.metrics.roc_auc)),
                Tag::new("lathe.test_log_loss", format!("{:.6}", c.metrics.log_loss)),
            ],
            ..CreateModelVersion::default()
        }))?;
        c.version = version.version;
        let (store, artifacts) = (tracker.store(), tracker.artifacts());
        tracker.block(store_profile(store, artifacts, MODEL_NAME, c.version, &c.profile))?;
    }
    let challenger = (0..candidates.len())
        .max_by(|&a, &b| {
            let (a, b) = (&candidates[a].metrics, &candidates[b].metrics);
            a.roc_auc.total_cmp(&b.roc_auc).then(b.log_loss.total_cmp(&a.log_loss))
        })
        .context("no model was trained")?;
    let baseline = &candidates[0];
    let (incumbent, incumbent_proba) = match &current {
        Some((v, name, proba)) => (format!("{name} v{v} (@{CHAMPION})"), proba.as_slice()),
        None => (
            format!("{} v{} (baseline)", baseline.run_name, baseline.version),
            baseline.proba.as_slice(),
        ),
    };
    let config = BootstrapConfig { seed: SEED, ..BootstrapConfig::default() };
    let ch = &candidates[challenger];
    let decision =
        lathe_eval::gate(test.labels(), &ch.proba, incumbent_proba, roc_auc, true, 0.0, &config)
            .context("cannot compare the challenger with the champion")?;
    let (champion, champion_version, champion_name) = match (&current, decision.promote) {
        (_, true) => (Some(challenger), ch.version, ch.run_name.to_string()),
        (Some((v, name, _)), false) => (None, *v, name.clone()),
        (None, false) => (Some(0), baseline.version, baseline.run_name.to_string()),
    };
    let rows = test.n_rows();
    for (i, c) in candidates.iter().enumerate() {
        let others: Vec<String> = candidates
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, o)| format!("{} v{} ({:.4})", o.run_name, o.version, o.metrics.roc_auc))
            .collect();
        let auc = c.metrics.roc_auc;
        let description = if i == challenger && decision.promote {
            format!(
                "Champion: test ROC AUC {auc:.4} on {rows} held-out rows; the gate promoted it \
                 over {incumbent}: {}.",
                decision.reason
            )
        } else if i == challenger {
            format!(
                "Not promoted: test ROC AUC {auc:.4} on {rows} held-out rows; the gate kept \
                 {champion_name} v{champion_version}: {}.",
                decision.reason
            )
        } else if champion == Some(i) {
            format!(
                "Champion: test ROC AUC {auc:.4} on {rows} held-out rows, the baseline of a fresh \
                 registry; {} v{} did not pass the gate: {}.",
                ch.run_name, ch.version, decision.reason
            )
        } else {
            format!(
                "Not promoted: test ROC AUC {auc:.4}, not this run's best; the champion is \
                 {champion_name} v{champion_version}."
            )
        };
        tracker.block(store.update_model_version(MODEL_NAME, c.version, &description))?;
        let compared = Tag::new("lathe.compared_with", others.join(", "));
        tracker.block(store.set_model_version_tag(MODEL_NAME, c.version, &compared))?;
    }
    let d = &decision.diff;
    for tag in [
        Tag::new("lathe.gate.decision", gate_word(&decision)),
        Tag::new("lathe.gate.reason", decision.reason.clone()),
        Tag::new("lathe.gate.metric", "test_roc_auc"),
        Tag::new("lathe.gate.incumbent", incumbent.clone()),
        Tag::new("lathe.gate.diff", format!("{:.6}", d.observed)),
        Tag::new("lathe.gate.ci_low", format!("{:.6}", d.ci_low)),
        Tag::new("lathe.gate.ci_high", format!("{:.6}", d.ci_high)),
        Tag::new("lathe.gate.resamples", d.resamples.to_string()),
    ] {
        tracker.block(store.set_model_version_tag(MODEL_NAME, ch.version, &tag))?;
    }
    tracker.block(crate::commands::models::move_alias(
        store,
        MODEL_NAME,
        CHAMPION,
        champion_version,
    ))?;
    Ok(Registered {
        champion,
        champion_version,
        champion_name,
        gate: Gate { challenger, incumbent, decision },
    })
}
