//! The web UI in a real browser: `lathe quickstart --no-serve`, then
//! `lathe server` on its database, then headless Chromium (Debian's
//! `chromium`, driven by playwright-core through `tests/browser/ui.cjs`)
//! opens every page type and checks what it shows, that nothing failed in
//! the console or the network, that keyboard and hover work, and that a
//! param holding `<script>` is shown as text. Screenshots land in the test's
//! temporary folder and are copied to `target/ui-screenshots/` for a person.
//!
//! Skips with a message when Chromium, node or playwright-core is missing
//! (`.ci/run` installs all three).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::{json, Value};

use super::harness::{http, lathe, Server};

const XSS: &str = "<script>alert('x')</script>";

/// Chromium, node and playwright-core, or why the test cannot run.
fn browser_tools() -> Result<(PathBuf, PathBuf), String> {
    let chromium = PathBuf::from(
        std::env::var("LATHE_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    if !chromium.exists() {
        return Err(format!(
            "{} is absent (apt-get install chromium, or set LATHE_TEST_CHROMIUM)",
            chromium.display()
        ));
    }
    if Command::new("node").arg("--version").output().map(|o| !o.status.success()).unwrap_or(true) {
        return Err("node is not on PATH".into());
    }
    let playwright = match std::env::var("LATHE_TEST_PLAYWRIGHT") {
        Ok(p) => PathBuf::from(p),
        Err(_) => PathBuf::from(std::env::var("HOME").unwrap_or_default())
            .join(".cache/lathe/node/node_modules/playwright-core"),
    };
    if !playwright.join("package.json").exists() {
        return Err(format!(
            "playwright-core is not installed at {} (npm install playwright-core@1 there, \
             as .ci/run does, or set LATHE_TEST_PLAYWRIGHT)",
            playwright.display()
        ));
    }
    Ok((chromium, playwright))
}

fn rest(server: &Server, method: &str, path: &str, body: Value) -> Value {
    let (status, text) =
        http(server.addr, method, &format!("/api/2.0/mlflow/{path}"), &body.to_string()).unwrap();
    assert_eq!(status, 200, "{method} {path}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// A value as the UI prints it (four decimals for a non-integer).
fn shown(v: f64) -> String {
    format!("{v:.4}")
}

#[test]
fn every_page_type_works_in_headless_chromium() {
    let (chromium, playwright) = match browser_tools() {
        Ok(tools) => tools,
        Err(why) => {
            eprintln!("skipping the browser test: {why}");
            return;
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("qs");
    let out = lathe()
        .args(["quickstart", "--example", "breast-cancer", "--no-serve", "--dir"])
        .arg(&dir)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    assert!(out.status.success(), "quickstart: {}", String::from_utf8_lossy(&out.stderr));
    let backend = format!("sqlite:///{}", dir.join("lathe.db").display());
    let server = Server::start(&backend, &dir.join("artifacts"));

    // What the quickstart made, as the REST API reports it.
    let exp = rest(&server, "GET", "experiments/get-by-name?experiment_name=quickstart", json!({}));
    let exp_id = exp["experiment"]["experiment_id"].as_str().unwrap().to_string();
    let runs = rest(&server, "POST", "runs/search", json!({"experiment_ids": [exp_id]}));
    let mut ids = HashMap::new();
    let mut roc = HashMap::new();
    for r in runs["runs"].as_array().unwrap() {
        let name = r["info"]["run_name"].as_str().unwrap().to_string();
        ids.insert(name.clone(), r["info"]["run_id"].as_str().unwrap().to_string());
        for m in r["data"]["metrics"].as_array().into_iter().flatten() {
            if m["key"] == "test_roc_auc" {
                roc.insert(name.clone(), m["value"].as_f64().unwrap());
            }
        }
    }
    let champion = rest(
        &server,
        "GET",
        "registered-models/alias?name=breast-cancer&alias=champion",
        json!({}),
    );
    let champion_version = champion["model_version"]["version"].as_str().unwrap().to_string();

    // A run whose param and tag hold markup, with a 10,000-step metric.
    let escaping =
        rest(&server, "POST", "experiments/create", json!({"name": "escaping <b>check</b>"}));
    let escaping_id = escaping["experiment_id"].as_str().unwrap().to_string();
    let run = rest(
        &server,
        "POST",
        "runs/create",
        json!({"experiment_id": escaping_id, "run_name": "markup-run", "start_time": 1_700_000_000_000_i64}),
    );
    let xss_run = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    rest(
        &server,
        "POST",
        "runs/log-batch",
        json!({"run_id": xss_run, "params": [{"key": "note", "value": XSS}],
               "tags": [{"key": "comment", "value": XSS}]}),
    );
    for chunk in 0..10 {
        let metrics: Vec<Value> = (chunk * 1000..(chunk + 1) * 1000)
            .map(|s: i64| {
                let wave = (s as f64 / 300.0).sin() * 0.05;
                json!({"key": "loss", "value": 2.0 / (1.0 + s as f64 / 500.0) + wave,
                       "timestamp": 1_700_000_000_000_i64 + s, "step": s})
            })
            .collect();
        rest(&server, "POST", "runs/log-batch", json!({"run_id": xss_run, "metrics": metrics}));
    }

    let logistic = &ids["logistic-regression"];
    let baseline = &ids["baseline-majority"];
    let pipeline = &ids["quickstart-pipeline"];
    let roc_logistic = shown(roc["logistic-regression"]);
    let roc_baseline = shown(roc["baseline-majority"]);
    let pages = json!([
        {"name": "01-experiments", "path": "/", "dark": true,
         "expect": ["quickstart", "escaping <b>check</b>", "Made by `lathe quickstart`"]},
        {"name": "02-runs", "path": format!("/experiments/{exp_id}"), "dark": true, "interact": "compare",
         "expect": ["profile", "quickstart-pipeline", "baseline-majority", "logistic-regression",
                    roc_logistic, roc_baseline, "test_roc_auc", "FINISHED"]},
        {"name": "03-runs-columns",
         "path": format!("/experiments/{exp_id}?cols=1&metrics=test_roc_auc,test_f1&params=split_seed&order_by=metrics.%60test_roc_auc%60%20DESC"),
         "interact": "columns", "expect": ["logistic-regression", roc_logistic, "test_f1", "split_seed"]},
        {"name": "04-run", "path": format!("/runs/{logistic}"), "dark": true, "interact": "chart",
         "expect": ["logistic-regression", roc_logistic, "train_loss", "breast_cancer_wisconsin",
                    "quickstart-pipeline", "@champion", format!("breast-cancer v{champion_version}")]},
        {"name": "05-pipeline-run", "path": format!("/runs/{pipeline}"),
         "expect": ["quickstart-pipeline", "Compare the child runs", "baseline-majority", "logistic-regression"]},
        {"name": "06-compare", "path": format!("/compare?runs={baseline},{logistic}"), "dark": true,
         "interact": "chart",
         "expect": ["baseline-majority", "logistic-regression", roc_logistic, roc_baseline, "train_loss",
                    "Parallel coordinates"]},
        {"name": "07-models", "path": "/models", "expect": ["breast-cancer", "@champion"]},
        {"name": "08-model", "path": "/models/breast-cancer", "dark": true,
         "expect": ["breast-cancer", "@champion", "logistic-regression", "baseline-majority",
                    "breast_cancer_wisconsin", "quickstart-pipeline", "Champion: test ROC AUC"]},
        {"name": "09-model-version",
         "path": format!("/models/breast-cancer/versions/{champion_version}"),
         "expect": ["@champion", "logistic-regression", roc_logistic, "breast_cancer_wisconsin"]},
        {"name": "10-escaping-run", "path": format!("/runs/{xss_run}"), "interact": "chart",
         "expect": [XSS, "markup-run", "loss", "2000 of 10000 points drawn (LTTB)"]},
        {"name": "11-bad-filter", "status": 400,
         "path": format!("/experiments/{exp_id}?filter=metrics.test_roc_auc%20%3E%3E%201"),
         "expect": ["Invalid filter 'metrics.test_roc_auc >> 1'", "position"]},
        {"name": "12-unknown-run", "status": 404, "path": "/runs/0123456789abcdef0123456789abcdef",
         "expect": ["Not found", "0123456789abcdef0123456789abcdef"]},
        {"name": "13-huge-page", "status": 400,
         "path": format!("/experiments/{exp_id}?max_results=1000000000"),
         "expect": ["max_results", "1 to 1000"]},
        {"name": "14-run-artifacts", "path": format!("/runs/{logistic}?path=model"),
         "expect": ["Artifacts", "model/", "MLmodel", "model.json"]},
        {"name": "15-artifact-mlmodel", "path": format!("/runs/{logistic}/artifacts?path=model/MLmodel"),
         "dark": true, "expect": ["MLmodel", "flavors", "Download"]},
    ]);
    let shots = tmp.path().join("screenshots");
    let config = json!({
        "base": server.url(),
        "out": shots,
        "chromium": chromium,
        "playwright": playwright,
        "pages": pages,
    });
    let config_path = tmp.path().join("browser.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/ui.cjs");
    let run = Command::new("node").arg(&script).arg(&config_path).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();

    // A copy for a person to look at, whatever the outcome.
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("ui-screenshots");
    let _ = std::fs::remove_dir_all(&keep);
    std::fs::create_dir_all(&keep).unwrap();
    for entry in std::fs::read_dir(&shots).into_iter().flatten().flatten() {
        std::fs::copy(entry.path(), keep.join(entry.file_name())).unwrap();
    }
    eprintln!("screenshots: {}", keep.display());

    let results: Vec<Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let problems: Vec<String> = results
        .iter()
        .flat_map(|r| {
            let name = r["name"].as_str().unwrap_or("?").to_string();
            r["problems"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |p| format!("{name}: {}", p.as_str().unwrap_or("?")))
        })
        .collect();
    assert!(problems.is_empty(), "browser found problems:\n{}\n{stderr}", problems.join("\n"));
    assert_eq!(results.len(), pages.as_array().unwrap().len(), "{stdout}\n{stderr}");
    assert!(run.status.success(), "{stdout}\n{stderr}");
    for r in &results {
        for shot in r["screenshots"].as_array().unwrap() {
            let shot = Path::new(shot.as_str().unwrap());
            assert!(
                std::fs::metadata(shot).unwrap().len() > 10_000,
                "{} is nearly empty",
                shot.display()
            );
        }
    }
}
