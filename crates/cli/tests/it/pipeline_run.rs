//! `lathe run` end to end on a real table (breast cancer, from
//! `../shared/data`): every step is a tracked run under the pipeline's run,
//! unchanged steps are skipped, a changed hyperparameter reruns only what
//! lies downstream, the gate promotes a better challenger and refuses a
//! worse one, and bad projects fail with the file, line and step.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    path::Path,
    process::{Output, Stdio},
};

use lathe_core::Run;
use lathe_store::{SearchQuery, SearchRuns, Store};

use super::harness::{lathe, shared};

const TOML: &str = r#"
[project]
name = "cancer"

[data.cancer]
path = "cancer.csv"
target = "diagnosis"

[steps.profile]
kind = "profile"
data = "cancer"

[steps.split]
kind = "split"
data = "cancer"
test_size = 0.3
seed = 7

[steps.baseline]
kind = "train"
needs = ["split"]
learner = "linear"
preprocess = { scaling = "robust", imputation = "mean" }

[steps.gbm]
kind = "train"
needs = ["split"]
learner = "gbm"
params = { num_iterations = 1, num_leaves = 2, min_data_in_leaf = 150 }

[steps.evaluate]
kind = "evaluate"
needs = ["gbm"]
metric = "roc_auc"

[steps.register]
kind = "register"
needs = ["evaluate"]
model = "cancer"

[steps.promote]
kind = "promote"
needs = ["register"]
"#;

/// A project folder with the table and `toml`.
fn project(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(shared().join("data/breast_cancer_wisconsin.csv"), dir.path().join("cancer.csv"))
        .unwrap();
    std::fs::write(dir.path().join("lathe.toml"), toml).unwrap();
    dir
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    let uri = format!("sqlite:///{}", dir.join("lathe.db").display());
    lathe()
        .arg("run")
        .args(args)
        .args(["--tracking-uri", &uri, "--artifacts-destination"])
        .arg(dir.join("artifacts"))
        .current_dir(dir)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("lathe runs")
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

fn failed(out: &Output) -> String {
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Steps that ran, from `lathe run`'s table (`STEP KIND ran|reused …`).
fn ran(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.len() >= 3 && cols[2] == "ran").then(|| cols[0].to_string())
        })
        .collect()
}

struct Tracked {
    runtime: tokio::runtime::Runtime,
    store: std::sync::Arc<dyn Store>,
}

fn open(dir: &Path) -> Tracked {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(
        runtime
            .block_on(lathe_store_sqlite::open(&dir.join("lathe.db"), "mlflow-artifacts:/"))
            .unwrap(),
    );
    Tracked { runtime, store }
}

impl Tracked {
    fn runs(&self) -> Vec<Run> {
        self.runtime.block_on(async {
            let exp = self.store.get_experiment_by_name("cancer").await.unwrap();
            let search = SearchRuns {
                experiment_ids: vec![exp.experiment_id],
                query: SearchQuery { max_results: Some(1000), ..SearchQuery::default() },
            };
            self.store.search_runs(&search).await.unwrap().items
        })
    }

    fn version_tags(&self, version: i64) -> HashMap<String, String> {
        self.runtime.block_on(async {
            let v = self.store.get_model_version("cancer", version).await.unwrap();
            v.tags.into_iter().map(|t| (t.key, t.value)).collect()
        })
    }

    fn champion(&self) -> i64 {
        self.runtime
            .block_on(self.store.get_model_version_by_alias("cancer", "champion"))
            .unwrap()
            .version
    }
}

fn tag<'a>(run: &'a Run, key: &str) -> Option<&'a str> {
    run.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

fn step_runs<'a>(runs: &'a [Run], step: &str) -> Vec<&'a Run> {
    runs.iter().filter(|r| tag(r, "lathe.pipeline.step") == Some(step)).collect()
}

#[test]
fn a_pipeline_runs_caches_reruns_downstream_and_gates() {
    let dir = project(TOML);
    let d = dir.path();

    // First run: every step, each a child of the pipeline run, lineage recorded.
    let stdout = ok(&run_in(d, &[]));
    assert_eq!(
        ran(&stdout),
        ["profile", "split", "baseline", "gbm", "evaluate", "register", "promote"]
    );
    let s = open(d);
    let runs = s.runs();
    let parents: Vec<&Run> =
        runs.iter().filter(|r| tag(r, "lathe.pipeline") == Some("cancer")).collect();
    assert_eq!(parents.len(), 1);
    let parent = parents[0];
    assert_eq!(parent.info.status.as_str(), "FINISHED");
    for step in ["profile", "split", "baseline", "gbm", "evaluate", "register", "promote"] {
        let r = step_runs(&runs, step);
        assert_eq!(r.len(), 1, "{step}");
        assert_eq!(tag(r[0], "mlflow.parentRunId"), Some(parent.info.run_id.as_str()), "{step}");
        assert_eq!(r[0].info.status.as_str(), "FINISHED", "{step}");
        let lineage = tag(parent, &format!("lathe.pipeline.step.{step}")).unwrap();
        assert_eq!(lineage, format!("ran {}", r[0].info.run_id));
    }
    let split = step_runs(&runs, "split")[0];
    assert_eq!(split.inputs[0].dataset.name, "cancer");
    let params: HashMap<&str, &str> =
        split.params.iter().map(|p| (p.key.as_str(), p.value.as_str())).collect();
    assert_eq!(params["test_rows"], "171");
    assert_eq!(params["strategy"], "stratified");
    let gbm = step_runs(&runs, "gbm")[0];
    assert!(gbm.metrics.iter().any(|m| m.key == "valid_roc_auc"));
    let evaluate = step_runs(&runs, "evaluate")[0];
    let weak_auc = evaluate.metrics.iter().find(|m| m.key == "gbm.test_roc_auc").unwrap().value;
    assert!(weak_auc > 0.5 && weak_auc < 0.97, "a one-stump model: {weak_auc}");
    assert_eq!(s.champion(), 1);
    assert_eq!(s.version_tags(1)["lathe.gate.decision"], "promoted");
    drop(s);

    // Unchanged: nothing runs, nothing is retrained.
    let stdout = ok(&run_in(d, &[]));
    assert_eq!(ran(&stdout), Vec::<String>::new(), "{stdout}");
    assert_eq!(step_runs(&open(d).runs(), "gbm").len(), 1);

    // A better hyperparameter: the dry run says what will run and why, then
    // only gbm and what lies downstream of it rerun; the gate promotes.
    let better = TOML.replace(
        "num_iterations = 1, num_leaves = 2, min_data_in_leaf = 150",
        "num_iterations = 60, num_leaves = 7, min_data_in_leaf = 20",
    );
    std::fs::write(d.join("lathe.toml"), &better).unwrap();
    let plan = ok(&run_in(d, &["--dry-run"]));
    assert!(plan.contains("its configuration changed"), "{plan}");
    assert!(plan.contains("input `gbm` changed"), "{plan}");
    assert!(plan.contains("4 of 7 steps would run"), "{plan}");
    let stdout = ok(&run_in(d, &[]));
    assert_eq!(ran(&stdout), ["gbm", "evaluate", "register", "promote"], "{stdout}");
    let s = open(d);
    assert_eq!(s.champion(), 2, "{stdout}");
    let tags = s.version_tags(2);
    assert_eq!(tags["lathe.gate.decision"], "promoted");
    assert!(tags["lathe.gate.reason"].contains("above 0"), "{tags:?}");
    assert_eq!(tags["lathe.previous.champion"], "1");
    let runs = s.runs();
    assert_eq!(step_runs(&runs, "split").len(), 1);
    assert_eq!(step_runs(&runs, "baseline").len(), 1);
    assert_eq!(step_runs(&runs, "gbm").len(), 2);
    drop(s);

    // A deliberately weakened challenger: registered, refused, champion kept.
    let worse = TOML.replace(
        "num_iterations = 1, num_leaves = 2, min_data_in_leaf = 150",
        "num_iterations = 2, num_leaves = 2, min_data_in_leaf = 200",
    );
    std::fs::write(d.join("lathe.toml"), &worse).unwrap();
    ok(&run_in(d, &[]));
    let s = open(d);
    assert_eq!(s.champion(), 2);
    let tags = s.version_tags(3);
    assert_eq!(tags["lathe.gate.decision"], "refused", "{tags:?}");
    assert_eq!(tags["lathe.gate.champion"], "2");
    let runs = s.runs();
    let promote = step_runs(&runs, "promote");
    let last = promote.iter().max_by_key(|r| r.info.start_time).unwrap();
    let improvement = last.metrics.iter().find(|m| m.key == "improvement").unwrap().value;
    assert!(improvement < 0.0, "{improvement}");
}

#[test]
fn a_failing_step_stops_the_pipeline_and_keeps_what_finished() {
    let dir = project(&TOML.replace("metric = \"roc_auc\"", "metric = \"nonsense\""));
    let d = dir.path();
    let stderr = failed(&run_in(d, &[]));
    assert!(stderr.contains("step `evaluate` failed"), "{stderr}");
    assert!(stderr.contains("\"nonsense\" is not one of this task's metrics"), "{stderr}");
    std::fs::write(d.join("lathe.toml"), TOML).unwrap();
    let stdout = ok(&run_in(d, &[]));
    assert_eq!(ran(&stdout), ["evaluate", "register", "promote"], "{stdout}");
    // The failed attempt is recorded as such.
    let runs = open(d).runs();
    let failed: Vec<&Run> = runs.iter().filter(|r| r.info.status.as_str() == "FAILED").collect();
    assert_eq!(failed.len(), 2, "the evaluate step and its pipeline run");
}

#[test]
fn bad_projects_name_the_file_line_and_key() {
    for (toml, expect) in [
        (TOML.replace("test_size = 0.3", "test_size = 0.3\ncolour = 1"), "unknown field `colour`"),
        (TOML.replace("test_size = 0.3", "test_size = \"big\""), "expected a number"),
        (
            TOML.replace("needs = [\"evaluate\"]", "needs = [\"evaluat\"]"),
            "needs `evaluat`, which is not a step",
        ),
        (TOML.replace("needs = [\"gbm\"]", "needs = [\"gbm\", \"promote\"]"), "form a cycle"),
    ] {
        let dir = project(&toml);
        let stderr = failed(&run_in(dir.path(), &[]));
        assert!(stderr.contains("lathe.toml:"), "{stderr}");
        assert!(stderr.contains(expect), "{expect}: {stderr}");
    }
    // A preprocessing option the step does not know, or a value it cannot take.
    for (bad, expect) in [
        ("scaling = \"zscore\"", "preprocess.scaling = \"zscore\": expected \"standard\""),
        ("bins = 3", "preprocess.bins is not a preprocessing option"),
    ] {
        let dir = project(&TOML.replace("scaling = \"robust\", imputation = \"mean\"", bad));
        let stderr = failed(&run_in(dir.path(), &[]));
        assert!(stderr.contains("step `baseline` failed") && stderr.contains(expect), "{stderr}");
    }
    // The data file disappeared.
    let dir = project(TOML);
    std::fs::remove_file(dir.path().join("cancer.csv")).unwrap();
    let stderr = failed(&run_in(dir.path(), &[]));
    assert!(stderr.contains("data `cancer`") && stderr.contains("cancer.csv"), "{stderr}");
}

#[test]
fn an_interrupted_run_resumes_from_the_cache() {
    let dir = project(TOML);
    let d = dir.path();
    let uri = format!("sqlite:///{}", d.join("lathe.db").display());
    let mut child = lathe()
        .args(["run", "--tracking-uri", &uri, "--artifacts-destination"])
        .arg(d.join("artifacts"))
        .current_dir(d)
        .env_remove("MLFLOW_TRACKING_URI")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut sent = false;
    // Read stderr to its end: a closed pipe would make the child's next
    // message fail, which is not what this test is about.
    for line in BufReader::new(stderr).lines() {
        // Ctrl-C once the step after the split finished (the split is
        // committed to the cache before the next step starts).
        if !sent && line.unwrap().contains("✓ baseline:") {
            let pid = child.id().to_string();
            assert!(std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success());
            sent = true;
        }
    }
    assert!(sent, "the run never reached the baseline step");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    // The interrupted pipeline and step runs are marked KILLED, not left RUNNING.
    let runs = open(d).runs();
    assert!(runs.iter().all(|r| r.info.status.as_str() != "RUNNING"));
    assert!(runs.iter().any(|r| r.info.status.as_str() == "KILLED"));
    let stdout = ok(&run_in(d, &[]));
    let again = ran(&stdout);
    assert!(
        !again.contains(&"split".to_string()) && !again.contains(&"profile".to_string()),
        "{stdout}"
    );
    assert!(again.contains(&"promote".to_string()), "{stdout}");
}
