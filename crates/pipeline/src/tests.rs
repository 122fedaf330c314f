//! The pipeline's contract on real files: errors point at lines, unchanged
//! steps are skipped, a change reruns exactly what lies downstream of it,
//! and a failed or interrupted step leaves nothing behind.
//!
//! The executor here does small real work on files (splits lines, "trains"
//! by counting rows) so that every output a step reads really comes from the
//! step it needs, through the cache.

use std::{cell::RefCell, collections::BTreeMap, fs, path::Path};

use crate::{run, Action, Cache, Error, Event, Pipeline, Plan, Reason, StepExecutor, StepKind};

const TOML: &str = r#"
[project]
name = "demo"

[data.rows]
path = "rows.csv"
target = "y"

[steps.split]
kind = "split"
data = "rows"
test_size = 0.25

[steps.small]
kind = "train"
needs = ["split"]
learner = "linear"
params = { l2 = 1.0 }

[steps.big]
kind = "train"
needs = ["split"]
learner = "gbm"
params = { learning_rate = 0.1 }

[steps.evaluate]
kind = "evaluate"
needs = ["small", "big"]
metric = "roc_auc"

[steps.register]
kind = "register"
needs = ["evaluate"]
model = "demo"
"#;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Failed(String);

/// Counts executions per step; fails the step named in `fail`.
#[derive(Default)]
struct Files {
    runs: RefCell<BTreeMap<String, usize>>,
    fail: Option<String>,
}

impl StepExecutor for Files {
    type Error = Failed;
    fn execute(&mut self, run: &crate::StepRun<'_>) -> Result<crate::StepOutcome, Failed> {
        let name = run.step.name.clone();
        *self.runs.borrow_mut().entry(name.clone()).or_default() += 1;
        let io = |e: std::io::Error| Failed(e.to_string());
        fs::write(run.out_dir.join("partial"), "written before the failure").map_err(io)?;
        if self.fail.as_deref() == Some(name.as_str()) {
            return Err(Failed("the learner diverged".into()));
        }
        let summary = match run.step.config.kind {
            StepKind::Split => {
                let (data, _) = run.data.ok_or_else(|| Failed("no data".into()))?;
                let text = fs::read_to_string(&data.path).map_err(io)?;
                let rows: Vec<&str> = text.lines().skip(1).collect();
                let cut = rows.len() * 3 / 4;
                fs::write(run.out_dir.join("train.csv"), rows[..cut].join("\n")).map_err(io)?;
                serde_json::json!({ "train_rows": cut })
            }
            StepKind::Train => {
                let split = run.input("split").ok_or_else(|| Failed("no split".into()))?;
                let train = fs::read_to_string(split.dir.join("train.csv")).map_err(io)?;
                let params = serde_json::to_value(&run.step.config.params)
                    .map_err(|e| Failed(e.to_string()))?;
                serde_json::json!({ "rows": train.lines().count(), "params": params })
            }
            _ => {
                let rows: Vec<_> = run.inputs.iter().map(|i| i.manifest.summary.clone()).collect();
                serde_json::json!({ "inputs": rows })
            }
        };
        Ok(crate::StepOutcome { run_id: Some(format!("run-{name}")), summary })
    }
}

fn project(toml: &str, rows: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("x,y\n");
    for i in 0..rows {
        csv.push_str(&format!("{i},{}\n", i % 2));
    }
    fs::write(dir.path().join("rows.csv"), csv).unwrap();
    fs::write(dir.path().join("lathe.toml"), toml).unwrap();
    dir
}

fn plan(dir: &Path, force: bool) -> (Pipeline, Cache, Plan) {
    let pipeline = Pipeline::load(&dir.join("lathe.toml")).unwrap();
    let cache = Cache::new(dir.join(".lathe/cache"));
    let plan = Plan::new(&pipeline, &cache, None, force, "test").unwrap();
    (pipeline, cache, plan)
}

fn actions(plan: &Plan) -> Vec<(String, Action)> {
    plan.steps.iter().map(|s| (s.name.clone(), s.action.clone())).collect()
}

fn run_all(dir: &Path, executor: &mut Files) -> crate::Result<Vec<String>> {
    let (pipeline, cache, plan) = plan(dir, false);
    let mut ran = Vec::new();
    run(&pipeline, &plan, &cache, executor, |e| {
        if let Event::Finished(p, _) = e {
            ran.push(p.name.clone());
        }
    })?;
    Ok(ran)
}

fn parse_error(toml: &str) -> String {
    let dir = project(toml, 4);
    Pipeline::load(&dir.path().join("lathe.toml")).unwrap_err().to_string()
}

#[test]
fn steps_run_after_what_they_need() {
    let dir = project(TOML, 8);
    let (_, _, plan) = plan(dir.path(), false);
    let names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["split", "small", "big", "evaluate", "register"]);
    assert!(plan.steps.iter().all(|s| s.action == Action::Run(Reason::FirstRun)));
}

#[test]
fn a_second_run_without_changes_skips_every_step() {
    let dir = project(TOML, 8);
    let mut files = Files::default();
    assert_eq!(run_all(dir.path(), &mut files).unwrap().len(), 5);
    assert_eq!(run_all(dir.path(), &mut files).unwrap(), Vec::<String>::new());
    assert!(files.runs.borrow().values().all(|&n| n == 1));
    let (_, _, plan) = plan(dir.path(), false);
    assert!(plan.steps.iter().all(|s| s.action == Action::Reuse));
    assert_eq!(plan.to_run(), 0);
}

#[test]
fn a_changed_hyperparameter_reruns_only_what_lies_downstream() {
    let dir = project(TOML, 8);
    let mut files = Files::default();
    run_all(dir.path(), &mut files).unwrap();
    let changed = TOML.replace("learning_rate = 0.1", "learning_rate = 0.05");
    fs::write(dir.path().join("lathe.toml"), changed).unwrap();
    let (_, _, p) = plan(dir.path(), false);
    assert_eq!(
        actions(&p),
        [
            ("split".into(), Action::Reuse),
            ("small".into(), Action::Reuse),
            ("big".into(), Action::Run(Reason::Config)),
            ("evaluate".into(), Action::Run(Reason::Input("big".into()))),
            ("register".into(), Action::Run(Reason::Input("evaluate".into()))),
        ]
    );
    assert_eq!(run_all(dir.path(), &mut files).unwrap(), ["big", "evaluate", "register"]);
}

#[test]
fn changed_data_reruns_everything_that_reads_it() {
    let dir = project(TOML, 8);
    let mut files = Files::default();
    run_all(dir.path(), &mut files).unwrap();
    fs::write(dir.path().join("rows.csv"), "x,y\n1,0\n2,1\n3,0\n4,1\n5,0\n").unwrap();
    let (_, _, p) = plan(dir.path(), false);
    assert_eq!(p.steps[0].action, Action::Run(Reason::Data("rows".into())));
    assert_eq!(p.to_run(), 5);
    run_all(dir.path(), &mut files).unwrap();
    // The trained step read the new split through the cache: 5 rows, 3 for training.
    let (_, cache, p) = plan(dir.path(), false);
    let small = &p.steps[1];
    let manifest = cache.manifest(&small.name, &small.key).unwrap().unwrap();
    assert_eq!(manifest.summary["rows"], 3);
}

#[test]
fn force_reruns_and_a_target_runs_only_what_it_needs() {
    let dir = project(TOML, 8);
    let mut files = Files::default();
    run_all(dir.path(), &mut files).unwrap();
    let (pipeline, cache, _) = plan(dir.path(), false);
    let forced = Plan::new(&pipeline, &cache, Some("small"), true, "test").unwrap();
    assert_eq!(
        actions(&forced),
        [
            ("split".into(), Action::Run(Reason::Forced)),
            ("small".into(), Action::Run(Reason::Forced))
        ]
    );
    run(&pipeline, &forced, &cache, &mut files, |_| {}).unwrap();
    assert_eq!(files.runs.borrow()["small"], 2);
    assert_eq!(files.runs.borrow()["big"], 1);
    let unknown = Plan::new(&pipeline, &cache, Some("deploy"), false, "test").unwrap_err();
    assert!(unknown.to_string().contains("no step `deploy`"), "{unknown}");
    let other_version = Plan::new(&pipeline, &cache, None, false, "next").unwrap();
    assert_eq!(other_version.steps[0].action, Action::Run(Reason::LatheVersion));
}

#[test]
fn a_failing_step_stops_the_pipeline_and_keeps_what_finished() {
    let dir = project(TOML, 8);
    let mut files = Files { fail: Some("big".into()), ..Files::default() };
    let err = run_all(dir.path(), &mut files).unwrap_err();
    assert!(matches!(&err, Error::StepFailed { step, .. } if step == "big"), "{err}");
    assert_eq!(err.to_string(), "step `big` failed: the learner diverged");
    assert!(!files.runs.borrow().contains_key("evaluate"));
    let big_dir = dir.path().join(".lathe/cache/big");
    let leftovers: Vec<_> = fs::read_dir(&big_dir).unwrap().collect();
    assert!(leftovers.is_empty(), "a failed step left {leftovers:?}");
    // The fix: only the failed step and what follows it run.
    files.fail = None;
    assert_eq!(run_all(dir.path(), &mut files).unwrap(), ["big", "evaluate", "register"]);
    assert_eq!(files.runs.borrow()["split"], 1);
}

#[test]
fn an_interrupted_step_is_redone_from_scratch() {
    let dir = project(TOML, 8);
    let mut files = Files::default();
    let (_, _, p) = plan(dir.path(), false);
    // What a Ctrl-C during `split` leaves: a staging folder with a partial output.
    let staging = dir.path().join(format!(".lathe/cache/split/.staging-{}", p.steps[0].key));
    fs::create_dir_all(staging.join("out")).unwrap();
    fs::write(staging.join("out/train.csv"), "half a fi").unwrap();
    assert_eq!(run_all(dir.path(), &mut files).unwrap().len(), 5);
    assert!(!staging.exists());
    let (_, cache, p) = plan(dir.path(), false);
    let split = cache.out_dir("split", &p.steps[0].key);
    assert_eq!(fs::read_to_string(split.join("train.csv")).unwrap().lines().count(), 6);
}

#[test]
fn a_vanished_data_file_is_named_with_its_line() {
    let dir = project(TOML, 8);
    fs::remove_file(dir.path().join("rows.csv")).unwrap();
    let pipeline = Pipeline::load(&dir.path().join("lathe.toml")).unwrap();
    let cache = Cache::new(dir.path().join(".lathe/cache"));
    let err = Plan::new(&pipeline, &cache, None, false, "test").unwrap_err().to_string();
    assert!(err.starts_with("data `rows` ("), "{err}");
    assert!(err.contains("lathe.toml:5)") && err.contains("rows.csv"), "{err}");
}

#[test]
fn bad_files_are_refused_with_the_line_and_the_key() {
    let check = |toml: String, line: &str, words: &[&str]| {
        let err = parse_error(&toml);
        assert!(err.contains(&format!("lathe.toml:{line}: ")), "want line {line}: {err}");
        for w in words {
            assert!(err.contains(w), "want `{w}` in: {err}");
        }
    };
    check(
        TOML.replace("learner = \"linear\"", "lerner = \"linear\""),
        "17",
        &["unknown field `lerner`"],
    );
    check(
        TOML.replace("test_size = 0.25", "test_size = \"a quarter\""),
        "12",
        &["[steps.split] `test_size`", "expected a number"],
    );
    check(TOML.replace("kind = \"split\"", "kind = \"shuffle\""), "10", &["shuffle", "split"]);
    check(TOML.replace("[project]", "[projekt]"), "2", &["projekt"]);
    check(
        TOML.replace(
            "needs = [\"split\"]\nlearner = \"linear\"",
            "needs = [\"split\", \"register\"]\nlearner = \"linear\"",
        ),
        "14",
        &["cycle", "small -> register -> evaluate -> small (each needs the next)"],
    );
    check(
        TOML.replace("needs = [\"small\", \"big\"]", "needs = [\"small\", \"huge\"]"),
        "26",
        &["step `evaluate`", "`huge`", "not a step"],
    );
    check(
        TOML.replace("data = \"rows\"", "data = \"lines\""),
        "9",
        &["step `split`", "`data = \"lines\"`", "declared: rows"],
    );
    check(
        TOML.replace("metric = \"roc_auc\"", "metric = \"roc_auc\"\nlearner = \"gbm\""),
        "26",
        &["`learner` does not apply to `evaluate` steps"],
    );
    check(TOML.replace("model = \"demo\"", ""), "31", &["`register` steps need `model`"]);
    check(
        TOML.replace("needs = [\"split\"]\nlearner = \"gbm\"", "learner = \"gbm\""),
        "20",
        &["step `big`", "need a `split` step"],
    );
    check(TOML.replace("name = \"demo\"", "name = \" \""), "2", &["`name` must not be empty"]);
    check("[project\nname = 1".into(), "1", &[]);
}
