//! `lathe quickstart --no-serve` end to end: what it leaves in the store and
//! on disk, and that a second run in the same directory adds to it.

use std::{collections::HashMap, path::Path, process::Output};

use lathe_core::Run;
use lathe_store::{SearchQuery, SearchRuns, Store};

use super::harness::lathe;

fn quickstart(dir: &Path) -> String {
    let out: Output = lathe()
        .args(["quickstart", "--example", "breast-cancer", "--no-serve", "--dir"])
        .arg(dir)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("lathe runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Every run of the experiment, by name (newest first within a name).
async fn runs_by_name(store: &dyn Store, experiment_id: &str) -> HashMap<String, Vec<Run>> {
    let search = SearchRuns {
        experiment_ids: vec![experiment_id.to_string()],
        query: SearchQuery { max_results: Some(1000), ..SearchQuery::default() },
    };
    let mut by_name: HashMap<String, Vec<Run>> = HashMap::new();
    for run in store.search_runs(&search).await.expect("search runs").items {
        by_name.entry(run.info.run_name.clone()).or_default().push(run);
    }
    by_name
}

fn tag<'a>(run: &'a Run, key: &str) -> Option<&'a str> {
    run.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

fn metric(run: &Run, key: &str) -> f64 {
    run.metrics.iter().find(|m| m.key == key).map(|m| m.value).unwrap_or(f64::NAN)
}

#[test]
fn quickstart_records_the_lifecycle_and_runs_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("qs");
    let stdout = quickstart(&dir);
    assert!(stdout.contains("champion: breast-cancer v2 (logistic-regression)"), "{stdout}");
    assert!(stdout.contains("vs baseline-majority v1 (baseline)"), "{stdout}");
    assert!(stdout.contains("-> promoted"), "{stdout}");
    assert!(stdout.contains("lathe runs list --tracking-uri sqlite:///"), "{stdout}");

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store =
            lathe_store_sqlite::open(&dir.join("lathe.db"), "mlflow-artifacts:/").await.unwrap();
        let exp = store.get_experiment_by_name("quickstart").await.unwrap();
        let runs = runs_by_name(&store, &exp.experiment_id).await;
        let mut names: Vec<&str> = runs.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["baseline-majority", "logistic-regression", "profile", "quickstart-pipeline"]
        );
        assert!(runs.values().all(|r| r.len() == 1 && r[0].info.status.as_str() == "FINISHED"));
        let [profile, parent, baseline, logistic] =
            ["profile", "quickstart-pipeline", "baseline-majority", "logistic-regression"]
                .map(|n| &runs[n][0]);

        // Lineage: children of the pipeline run, all reading the same dataset.
        for child in [baseline, logistic] {
            assert_eq!(tag(child, "mlflow.parentRunId"), Some(parent.info.run_id.as_str()));
        }
        assert_eq!(tag(profile, "mlflow.parentRunId"), None);
        for run in [profile, baseline, logistic] {
            let [input] = run.inputs.as_slice() else {
                panic!("one input expected: {:?}", run.inputs)
            };
            let d = &input.dataset;
            assert_eq!(
                (d.name.as_str(), d.source_type.as_str()),
                ("breast_cancer_wisconsin", "code")
            );
            assert_eq!(d.digest.len(), 16);
            let schema: serde_json::Value =
                serde_json::from_str(d.schema.as_deref().unwrap()).unwrap();
            assert_eq!(schema["mlflow_colspec"].as_array().unwrap().len(), 31);
            let size: serde_json::Value =
                serde_json::from_str(d.profile.as_deref().unwrap()).unwrap();
            assert_eq!(
                (size["num_rows"].as_u64(), size["num_elements"].as_u64()),
                (Some(569), Some(569 * 31))
            );
            assert_eq!(
                input.tags.iter().find(|t| t.key == "mlflow.data.context").unwrap().value,
                "training"
            );
        }
        assert_eq!(metric(profile, "rows"), 569.0);
        assert_eq!(metric(profile, "columns"), 31.0);

        // Test-set metrics and per-epoch training loss.
        let auc = metric(logistic, "test_roc_auc");
        assert!(auc > 0.95, "logistic regression test roc_auc {auc}");
        assert_eq!(metric(baseline, "test_roc_auc"), 0.5);
        for key in ["test_accuracy", "test_f1", "test_log_loss"] {
            assert!(
                metric(logistic, key).is_finite() && metric(baseline, key).is_finite(),
                "{key}"
            );
        }
        let history = store
            .get_metric_history(&logistic.info.run_id, "train_loss", None, None)
            .await
            .unwrap()
            .items;
        let steps: Vec<i64> = history.iter().map(|m| m.step).collect();
        assert_eq!(steps, (0..=500).collect::<Vec<_>>());
        assert!(history[500].value < history[0].value / 5.0, "loss falls");
        let baseline_history = store
            .get_metric_history(&baseline.info.run_id, "train_loss", None, None)
            .await
            .unwrap();
        assert_eq!(baseline_history.items.len(), 1);

        // Artifacts on disk, in the proxy layout the server serves.
        let run_dir = |r: &Run| {
            dir.join("artifacts").join(&exp.experiment_id).join(&r.info.run_id).join("artifacts")
        };
        let profile_json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run_dir(profile).join("profile.json")).unwrap())
                .unwrap();
        assert_eq!(profile_json["columns"].as_array().unwrap().len(), 30);
        assert_eq!(profile_json["label"]["positive_rows"], 212);
        for (run, kind) in [(baseline, "majority_class"), (logistic, "logistic_regression")] {
            let text = std::fs::read_to_string(run_dir(run).join("model/model.json")).unwrap();
            let model = lathe_train::Model::from_json(&text).unwrap();
            assert_eq!(model.kind(), kind);
            let mlmodel = std::fs::read_to_string(run_dir(run).join("model/MLmodel")).unwrap();
            assert!(mlmodel.contains("flavors:\n  lathe:\n"), "{mlmodel}");
            assert!(
                mlmodel.contains("  inputs: '[{\"type\": \"double\", \"name\": \"mean_radius\""),
                "{mlmodel}"
            );
        }

        // Registry: one version per model, champion on the logistic regression.
        let versions = store
            .search_model_versions(&SearchQuery {
                filter: "name = 'breast-cancer'".into(),
                ..SearchQuery::default()
            })
            .await
            .unwrap()
            .items;
        assert_eq!(versions.len(), 2);
        let champion = store.get_model_version_by_alias("breast-cancer", "champion").await.unwrap();
        assert_eq!(champion.run_id, logistic.info.run_id);
        assert_eq!(champion.source, format!("runs:/{}/model", logistic.info.run_id));
        assert!(
            champion.description.starts_with("Champion: test ROC AUC"),
            "{}",
            champion.description
        );
        assert!(champion.tags.iter().any(|t| t.key == "lathe.compared_with"));
        // The gate's decision: the logistic regression beat the baseline significantly.
        let gate = |key: &str| {
            champion.tags.iter().find(|t| t.key == key).map(|t| t.value.clone()).unwrap()
        };
        assert_eq!(gate("lathe.gate.decision"), "promoted");
        assert_eq!(gate("lathe.gate.resamples"), "2000");
        let num = |key: &str| gate(key).parse::<f64>().unwrap();
        assert!(num("lathe.gate.diff") > 0.4, "{}", gate("lathe.gate.diff"));
        assert!(num("lathe.gate.ci_low") > 0.0, "{}", gate("lathe.gate.ci_low"));
        assert!(num("lathe.gate.ci_high") >= num("lathe.gate.diff"));
    });

    // Again, in the same directory: new runs and versions, but the new
    // logistic regression (v4) is the same model as the champion (v2), so the
    // gate keeps v2: a challenger that is not significantly better never moves
    // the alias (before the gate the alias moved to v4 unconditionally).
    let stdout = quickstart(&dir);
    assert!(
        stdout.contains("champion: breast-cancer v2 (logistic-regression), unchanged"),
        "{stdout}"
    );
    assert!(stdout.contains("vs logistic-regression v2 (@champion)"), "{stdout}");
    assert!(stdout.contains("-> kept"), "{stdout}");
    runtime.block_on(async {
        let store =
            lathe_store_sqlite::open(&dir.join("lathe.db"), "mlflow-artifacts:/").await.unwrap();
        let exp = store.get_experiment_by_name("quickstart").await.unwrap();
        let runs = runs_by_name(&store, &exp.experiment_id).await;
        assert_eq!(runs.values().map(Vec::len).sum::<usize>(), 8);
        let champion = store.get_model_version_by_alias("breast-cancer", "champion").await.unwrap();
        assert_eq!(champion.version, 2);
        let first_logistic = runs["logistic-regression"].iter().min_by_key(|r| r.info.start_time);
        assert_eq!(champion.run_id, first_logistic.unwrap().info.run_id);
        let challenger = store.get_model_version("breast-cancer", 4).await.unwrap();
        let gate = |key: &str| {
            challenger.tags.iter().find(|t| t.key == key).map(|t| t.value.clone()).unwrap()
        };
        assert_eq!(gate("lathe.gate.decision"), "kept");
        assert_eq!(gate("lathe.gate.incumbent"), "logistic-regression v2 (@champion)");
        let ci =
            (gate("lathe.gate.ci_low").parse::<f64>(), gate("lathe.gate.ci_high").parse::<f64>());
        let (Ok(low), Ok(high)) = ci else { panic!("{ci:?}") };
        assert!(low <= 0.0 && high >= 0.0, "the interval of identical models contains 0");
        assert!(challenger.description.starts_with("Not promoted:"), "{}", challenger.description);
    });
}
