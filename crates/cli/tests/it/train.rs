//! `lathe train`, `lathe predict` and `lathe eval` end to end on real
//! tables: the printed run id and URI, the run's params, metrics, tags and
//! dataset input read back from the store, batch predictions, evaluation,
//! and the run seen through the stock `mlflow` client.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use lathe_store::Store;

use super::harness::{lathe, python, Server};

/// A test table under `tests/data` or the embedded breast cancer data.
pub(crate) fn table(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if name == "breast_cancer_wisconsin.csv" {
        root.join("data").join(name)
    } else {
        root.join("tests/data").join(name)
    }
}

/// A store and artifact directory in a temp dir.
pub(crate) struct Workspace {
    pub(crate) dir: tempfile::TempDir,
}

impl Workspace {
    pub(crate) fn new() -> Workspace {
        Workspace { dir: tempfile::tempdir().unwrap() }
    }

    pub(crate) fn db(&self) -> PathBuf {
        self.dir.path().join("lathe.db")
    }

    pub(crate) fn uri(&self) -> String {
        format!("sqlite:///{}", self.db().display())
    }

    pub(crate) fn artifacts(&self) -> PathBuf {
        self.dir.path().join("artifacts")
    }

    /// `lathe SUBCOMMAND ARGS... --tracking-uri ... --artifacts-destination ...`.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args, &self.uri())
    }

    pub(crate) fn command(&self, args: &[&str], tracking: &str) -> Output {
        lathe()
            .args(args)
            .args(["--tracking-uri", tracking])
            .arg("--artifacts-destination")
            .arg(self.artifacts())
            .current_dir(self.dir.path())
            .env_remove("MLFLOW_TRACKING_URI")
            .output()
            .expect("lathe runs")
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `lathe train`, asserts success and the two last stdout lines; returns the run id.
fn train(ws: &Workspace, data: &str, target: &str, extra: &[&str]) -> String {
    let path = table(data);
    let mut args = vec!["train", "--data", path.to_str().unwrap(), "--target", target];
    args.extend_from_slice(extra);
    let out = ws.run(&args);
    assert!(out.status.success(), "lathe train failed: {}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "stdout is the run id and the URI only: {stdout:?}");
    assert_eq!(lines[0].len(), 32, "{stdout}");
    assert_eq!(lines[1], format!("runs:/{}/model", lines[0]));
    lines[0].to_string()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

#[test]
fn breast_cancer_trains_logs_registers_predicts_and_evaluates() {
    let ws = Workspace::new();
    let run_id = train(
        &ws,
        "breast_cancer_wisconsin.csv",
        "diagnosis",
        &["--experiment", "cancer", "--register", "cancer", "--params", "num_leaves=15"],
    );
    let run = runtime().block_on(async {
        let store = lathe_store_sqlite::open(&ws.db(), "mlflow-artifacts:/").await.unwrap();
        let run = store.get_run(&run_id).await.unwrap();
        let version = store.get_model_version("cancer", 1).await.unwrap();
        assert_eq!(version.source, format!("runs:/{run_id}/model"));
        assert!(version.tags.iter().any(|t| t.key == "lathe.reference_profile"));
        run
    });
    let param = |k: &str| run.params.iter().find(|p| p.key == k).map(|p| p.value.clone());
    assert_eq!(param("target").as_deref(), Some("diagnosis"));
    assert_eq!(param("task").as_deref(), Some("binary"));
    assert_eq!(param("test_size").as_deref(), Some("0.2"));
    assert_eq!(param("split_seed").as_deref(), Some("42"));
    assert_eq!(param("num_leaves").as_deref(), Some("15"));
    assert!(param("data").is_some_and(|d| d.ends_with("breast_cancer_wisconsin.csv")));
    let metric = |k: &str| run.metrics.iter().find(|m| m.key == k).map(|m| m.value);
    let auc = metric("test_roc_auc").expect("test_roc_auc is logged");
    assert!(auc > 0.95, "test ROC AUC {auc}");
    assert!(metric("test_roc_auc_ci_low").is_some_and(|low| low <= auc));
    assert!(metric("valid_logloss").is_some(), "per-round validation loss is logged");
    let tag = |k: &str| run.tags.iter().find(|t| t.key == k).map(|t| t.value.clone());
    assert_eq!(tag("lathe.version").as_deref(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(tag("mlflow.source.name").as_deref(), Some("lathe train"));
    assert!(tag("mlflow.log-model.history").is_some_and(|h| h.contains("lathe_tabular")));
    let input = &run.inputs[0];
    assert_eq!(input.dataset.name, "breast_cancer_wisconsin");
    assert!(
        !input.dataset.digest.is_empty()
            && input.dataset.digest.chars().all(|c| c.is_ascii_hexdigit())
    );

    let run_dir = find_dir(&ws.artifacts(), &run_id);
    for file in [
        "model/MLmodel",
        "model/preprocess.json",
        "model/model.txt",
        "model/lathe_model.json",
        "model/input_example.json",
        "eval/report.html",
        "eval/report.json",
    ] {
        assert!(run_dir.join("artifacts").join(file).is_file(), "{file} is logged");
    }

    let out_csv = ws.dir.path().join("pred.csv");
    let data = table("breast_cancer_wisconsin.csv");
    let out = ws.run(&[
        "predict",
        "--model",
        "models:/cancer/1",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out_csv.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&out_csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("prediction,proba_benign,proba_malignant"));
    assert_eq!(lines.count(), 569);

    let html = ws.dir.path().join("report.html");
    let out = ws.run(&[
        "eval",
        "--model",
        &format!("runs:/{run_id}/model"),
        "--data",
        data.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("roc_auc") && stdout.contains("569 rows"), "{stdout}");
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));

    // A second model, then the two compared on the same rows.
    let second = train(&ws, "breast_cancer_wisconsin.csv", "diagnosis", &["--model", "forest"]);
    let out = ws.run(&[
        "eval",
        "--compare",
        &format!("runs:/{run_id}/model"),
        &format!("runs:/{second}/model"),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("McNemar") && stdout.contains("A - B"), "{stdout}");
}

#[test]
fn penguins_multiclass_with_categories_and_missing_values() {
    let ws = Workspace::new();
    let run_id = train(&ws, "penguins.csv", "species", &[]);
    let model_dir = find_dir(&ws.artifacts(), &run_id).join("artifacts/model");
    let mlmodel = std::fs::read_to_string(model_dir.join("MLmodel")).unwrap();
    assert!(mlmodel.contains("classes: [Adelie, Chinstrap, Gentoo]"), "{mlmodel}");
    assert!(mlmodel.contains(r#"{"type": "string", "name": "island", "required": true}"#));

    // An island never seen in training, scored through the local model folder.
    let data = ws.dir.path().join("new.csv");
    std::fs::write(
        &data,
        "species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year\n\
         Adelie,Atlantis,39.1,18.7,181,3750,male,2007\n\
         Gentoo,Biscoe,47.5,15.0,218,4950,female,2009\n",
    )
    .unwrap();
    let out_parquet = ws.dir.path().join("p.parquet");
    let out = ws.run(&[
        "predict",
        "--model",
        model_dir.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out_parquet.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("column \"island\": 1 value(s) never seen in training"), "{err}");
    assert!(std::fs::metadata(&out_parquet).unwrap().len() > 0);

    let out = ws.run(&[
        "eval",
        "--model",
        model_dir.to_str().unwrap(),
        "--data",
        table("penguins.csv").to_str().unwrap(),
        "--slice",
        "island",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("slice island=Biscoe"));
}

#[test]
fn diabetes_regression_through_a_tracking_server_and_the_mlflow_client() {
    let ws = Workspace::new();
    let server = Server::start(&ws.uri(), &ws.artifacts());
    let path = table("diabetes.csv");
    let out = ws.command(
        &[
            "train",
            "--data",
            path.to_str().unwrap(),
            "--target",
            "progression",
            "--experiment",
            "diabetes",
        ],
        &server.url(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let run_id = stdout.lines().next().unwrap().to_string();

    let out_csv = ws.dir.path().join("d.csv");
    let out = ws.command(
        &[
            "predict",
            "--model",
            &format!("runs:/{run_id}/model"),
            "--data",
            path.to_str().unwrap(),
            "--out",
            out_csv.to_str().unwrap(),
        ],
        &server.url(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&out_csv).unwrap();
    assert_eq!(text.lines().next(), Some("prediction"));
    assert_eq!(text.lines().count(), 443);

    let Some(python) = python() else {
        eprintln!("skipping the mlflow client check: no Python with mlflow");
        return;
    };
    let script = format!(
        r#"
import mlflow
runs = mlflow.search_runs(experiment_names=["diabetes"])
assert len(runs) == 1, runs
assert runs["run_id"][0] == "{run_id}"
r = mlflow.get_run("{run_id}")
assert r.data.params["target"] == "progression", r.data.params
assert r.data.params["task"] == "regression"
assert r.data.metrics["test_rmse"] > 0, r.data.metrics
assert "test_r2" in r.data.metrics
assert r.data.tags["mlflow.source.name"] == "lathe train"
assert r.inputs.dataset_inputs[0].dataset.name == "diabetes"
print("ok")
"#
    );
    let out = Command::new(python)
        .args(["-c", &script])
        .env("MLFLOW_TRACKING_URI", server.url())
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .expect("python runs");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok",
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

/// The directory named `name` under `root` (a run's directory in the artifacts).
pub(crate) fn find_dir(root: &Path, name: &str) -> PathBuf {
    search(root, name).unwrap_or_else(|| panic!("no directory {name} under {}", root.display()))
}

fn search(root: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(root).ok()?.flatten() {
        let p = entry.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == name) {
                return Some(p);
            }
            if let Some(found) = search(&p, name) {
                return Some(found);
            }
        }
    }
    None
}

#[test]
fn a_trained_model_with_categories_is_served_from_the_registry() {
    let ws = Workspace::new();
    train(&ws, "penguins.csv", "species", &["--register", "penguins"]);
    let (_serving, addr) =
        super::serve::start_serving_model(ws.dir.path(), "models:/penguins/1", &[]);
    // A category never seen in training (Atlantis) and a missing value are scored.
    let body = r#"{"dataframe_records": [
        {"island": "Biscoe", "bill_length_mm": 47.5, "bill_depth_mm": 15.0, "flipper_length_mm": 218,
         "body_mass_g": 4950, "sex": "female", "year": 2009},
        {"island": "Atlantis", "bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181,
         "body_mass_g": null, "sex": "male", "year": 2007}]}"#;
    let (status, _, text) = super::serve::request(addr, "/invocations", body).unwrap();
    assert_eq!(status, 200, "{text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows = answer["predictions"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let p: Vec<f64> = row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(p.len(), 3, "one probability per species: {text}");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{text}");
    }
    assert!(rows[0][2].as_f64().unwrap() > 0.5, "the Biscoe row is a Gentoo: {text}");
    let records = r#"[{"island": "Dream", "bill_length_mm": 49.0, "bill_depth_mm": 18.5,
        "flipper_length_mm": 195, "body_mass_g": 3800, "sex": "male", "year": 2008}]"#;
    let (status, _, text) =
        super::serve::request(addr, "/v1/models/penguins/predict", records).unwrap();
    assert_eq!(status, 200, "{text}");
    let label = serde_json::from_str::<serde_json::Value>(&text).unwrap()["predictions"][0].clone();
    assert!(["Adelie", "Chinstrap", "Gentoo"].contains(&label.as_str().unwrap()), "{text}");
    // A word where a number belongs is refused, naming the column; a missing column too.
    let bad = r#"[{"island": "Dream", "bill_length_mm": "long", "bill_depth_mm": 18.5,
        "flipper_length_mm": 195, "body_mass_g": 3800, "sex": "male", "year": 2008}]"#;
    let (status, _, text) =
        super::serve::request(addr, "/v1/models/penguins/predict", bad).unwrap();
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("bill_length_mm"), "{text}");
    let (status, _, text) =
        super::serve::request(addr, "/v1/models/penguins/predict", r#"[{"island": "Dream"}]"#)
            .unwrap();
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("missing column"), "{text}");
}

#[test]
fn a_linear_model_is_trained_saved_as_weights_and_predicts() {
    let ws = Workspace::new();
    let run_id = train(&ws, "breast_cancer_wisconsin.csv", "diagnosis", &["--model", "linear"]);
    let model_dir = find_dir(&ws.artifacts(), &run_id).join("artifacts/model");
    assert!(model_dir.join("linear.json").is_file(), "a linear model keeps its weights");
    assert!(!model_dir.join("model.txt").exists());
    let mlmodel = std::fs::read_to_string(model_dir.join("MLmodel")).unwrap();
    assert!(
        mlmodel.contains("data: linear.json") && mlmodel.contains("learner: linear"),
        "{mlmodel}"
    );
    let out_csv = ws.dir.path().join("scored.csv");
    let out = ws.run(&[
        "predict",
        "--model",
        &format!("runs:/{run_id}/model"),
        "--data",
        table("breast_cancer_wisconsin.csv").to_str().unwrap(),
        "--out",
        out_csv.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let scored = std::fs::read_to_string(&out_csv).unwrap();
    assert_eq!(scored.lines().count(), 570, "a header and one line per row");
    assert!(scored.lines().next().unwrap().contains("proba_malignant"));
}

#[test]
fn auto_picks_a_linear_model_for_free_text_and_boosting_otherwise() {
    let ws = Workspace::new();
    // 600 labelled snippets of the shared sentiment data: text and label only.
    let source = super::harness::shared().join("data/sentiment_snippets.csv");
    let mut reader = csv::Reader::from_path(&source).unwrap();
    let path = ws.dir.path().join("snippets.csv");
    let mut writer = csv::Writer::from_path(&path).unwrap();
    writer.write_record(["text", "label"]).unwrap();
    for record in reader.records().take(600) {
        let record = record.unwrap();
        writer.write_record([&record[2], &record[4]]).unwrap();
    }
    writer.flush().unwrap();
    let run_param = |run_id: &str, key: &str| {
        runtime().block_on(async {
            let store = lathe_store_sqlite::open(&ws.db(), "mlflow-artifacts:/").await.unwrap();
            let run = store.get_run(run_id).await.unwrap();
            run.params.into_iter().find(|p| p.key == key).map(|p| p.value)
        })
    };
    let out = ws.run(&["train", "--data", path.to_str().unwrap(), "--target", "label"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run_id = String::from_utf8_lossy(&out.stdout).lines().next().unwrap().to_string();
    assert_eq!(run_param(&run_id, "model").as_deref(), Some("linear"));

    let run_id = train(&ws, "penguins.csv", "species", &[]);
    assert_eq!(run_param(&run_id, "model").as_deref(), Some("gbm"));
}
