//! The web UI in a real browser: `lathe quickstart --no-serve`, then
//! `lathe server` on its database, then headless Chromium (Debian's
//! `chromium`, driven by playwright-core through `tests/browser/ui.cjs`)
//! opens every page type and checks what it shows, that nothing failed in
//! the console or the network, that keyboard and hover work, and that a
//! param holding `<script>` is shown as text. The deployments and monitoring
//! pages read a production history written into the quickstart's database
//! (`seed_production`). Screenshots land in the test's
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
    let (canary_version, windows) = seed_production(&dir.join("lathe.db"));
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

    // A LoRA fine-tuning run as `lathe llm finetune` logs it.
    let llm = rest(&server, "POST", "experiments/create", json!({"name": "llm-finetune"}));
    let llm = rest(
        &server,
        "POST",
        "runs/create",
        json!({"experiment_id": llm["experiment_id"], "run_name": "finetune",
               "start_time": 1_700_000_000_000_i64,
               "tags": [{"key": "lathe.llm.base_model", "value": "tiny-llama"}]}),
    );
    let llm_run = llm["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let mut metrics: Vec<Value> = (1..=200_i64)
        .map(|s| {
            json!({"key": "train_loss", "value": 2.5 / (1.0 + s as f64 / 40.0),
                         "timestamp": 1_700_000_000_000_i64 + s, "step": s})
        })
        .collect();
    metrics.extend((1..=8_i64).map(|k| {
        json!({"key": "eval_loss", "value": 2.2 / (1.0 + k as f64 / 1.5) + 0.1,
                                                "timestamp": 1_700_000_000_000_i64, "step": k * 25})
    }));
    rest(
        &server,
        "POST",
        "runs/log-batch",
        json!({"run_id": llm_run, "metrics": metrics,
               "params": [{"key": "base_model", "value": "tiny-llama"}, {"key": "lora_rank", "value": "8"}]}),
    );

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
        {"name": "16-deployments", "path": "/deployments", "dark": true,
         "expect": ["breast-cancer", "@champion", format!("v{canary_version}"), "Traffic split (recent)",
                    "80.0%", "20.0%", "lathe_serve_errors_total"]},
        {"name": "17-monitoring", "path": "/models/breast-cancer/monitoring", "dark": true,
         "interact": "monitoring",
         "expect": ["breast-cancer · monitoring", "Drift per feature and window", "worst area",
                    format!("({windows} windows)"), "Metrics on labeled predictions", "Serving latency",
                    "Distributions in window 15",
                    "feature_drift(worst area)", "latency_p99_above(10ms)", "resolved", "firing",
                    "http://127.0.0.1:9/hook", "connection refused"]},
        {"name": "18-monitoring-index", "path": "/monitoring",
         "expect": ["breast-cancer", "latency_p99_above(10ms)"]},
        {"name": "19-unknown-model-monitoring", "status": 404, "path": "/models/no-such-model/monitoring",
         "expect": ["Not found", "no-such-model"]},
        {"name": "20-llm-run", "path": format!("/runs/{llm_run}"), "dark": true,
         "expect": ["Fine-tuning", "tiny-llama", "0.4474 at step 200", "train_loss", "eval_loss"]},
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

/// A production history for the quickstart's model, written to its database
/// before the server starts (as `lathe serve` and the monitoring job would):
/// the champion answering 800 requests and a canary 200, their windows with
/// `worst area` drifting in the last four, two alert episodes and their
/// webhook deliveries. Gives the canary's version and the champion's window count.
fn seed_production(db: &Path) -> (i64, usize) {
    use lathe_store::{AlertDelivery, MonitoringWindow, PredictionRecord, SearchQuery, Store};

    const T0: i64 = 1_700_000_000_000;
    const SEC: i64 = 1000;
    const FEATURES: [&str; 4] = ["mean radius", "mean texture", "worst area", "worst concavity"];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = lathe_store_sqlite::open(db, "mlflow-artifacts:/").await.unwrap();
        let model = store.get_registered_model("breast-cancer").await.unwrap();
        let champion = model.aliases.iter().find(|(a, _)| a == "champion").unwrap().1;
        let versions = store
            .search_model_versions(&SearchQuery {
                filter: "name = 'breast-cancer'".into(),
                ..SearchQuery::default()
            })
            .await
            .unwrap();
        let canary = versions.items.iter().map(|v| v.version).find(|v| *v != champion).unwrap();
        let record = |version: i64, i: i64, at: i64| PredictionRecord {
            prediction_id: format!("p-{version}-{i}"),
            model_name: "breast-cancer".into(),
            model_version: version,
            timestamp: at,
            inputs: r#"{"mean radius": 14.1}"#.into(),
            outputs: r#"{"probability": 0.8, "positive_class": "1"}"#.into(),
            latency_us: 1800 + i % 7 * 300,
        };
        // One request every 3 s for 50 minutes; the canary takes every fifth.
        let records: Vec<PredictionRecord> = (0..1000)
            .map(|i| record(if i % 5 == 4 { canary } else { champion }, i, T0 + i * 3 * SEC))
            .collect();
        store.log_predictions(&records).await.unwrap();
        let window = |version: i64, index: i64, rows: i64, span: (i64, i64)| {
            let drifting = version == champion && index >= 12;
            let columns: Vec<String> = FEATURES
                .iter()
                .enumerate()
                .map(|(f, name)| {
                    let p: f64 = if drifting && *name == "worst area" {
                        1e-6 * (index - 11) as f64
                    } else {
                        0.9 / (1.0 + ((index * 7 + f as i64 * 3) % 11) as f64)
                    };
                    let reference = [5, 12, 20, 18, 10, 5];
                    let bins: Vec<String> = reference
                        .iter()
                        .enumerate()
                        .map(|(b, r)| {
                            let shifted = if drifting && *name == "worst area" { reference[(b + 4) % 6] } else { *r };
                            format!(r#"["bin {b}", {}, {}]"#, r * 10, shifted * 5 / 2)
                        })
                        .collect();
                    format!(
                        r#""{name}": {{"method": "binned_chisquare", "score": {p}, "adjusted_score": {p}, "drift": {}, "bins": [{}]}}"#,
                        p < 0.05,
                        bins.join(",")
                    )
                })
                .collect();
            let drifted = columns.iter().filter(|c| c.contains("\"drift\": true")).count();
            let accuracy = (if drifting { 0.84 } else { 0.95 }) - 0.004 * (index % 3) as f64;
            MonitoringWindow {
                model_name: "breast-cancer".into(),
                model_version: version,
                kind: "count:50".into(),
                index,
                start_time: span.0,
                end_time: span.1,
                first_seq: index * 50 + 1,
                last_seq: index * 50 + rows,
                rows,
                labeled_rows: rows,
                labels_through: 0,
                status: "ok".into(),
                drift: format!(
                    r#"{{"dataset_drift": {}, "drift_share": {}, "columns": {{{}}},
                        "prediction": {{"method": "binned_chisquare", "score": {p}, "adjusted_score": {p}, "drift": {}}}}}"#,
                    drifted * 2 >= FEATURES.len(),
                    drifted as f64 / FEATURES.len() as f64,
                    columns.join(","),
                    drifting && index > 13,
                    p = if drifting { 0.01 / (index - 11) as f64 } else { 0.5 },
                ),
                performance: format!(
                    r#"{{"labeled": {rows}, "accuracy": {accuracy}, "f1": {}, "roc_auc": {}, "log_loss": 0.2,
                        "latency_ms": {{"p50": {}, "p99": {}, "max": 30.0}}}}"#,
                    accuracy - 0.02,
                    accuracy + 0.03,
                    2.0 + (index % 4) as f64 * 0.2,
                    if index >= 14 { 11.0 + index as f64 * 0.1 } else { 6.0 + (index % 5) as f64 },
                ),
                computed_at: span.1 + 10 * SEC,
            }
        };
        // 800 champion rows in 16 windows of 50, 200 canary rows in 4.
        for (version, count) in [(champion, 16), (canary, 4)] {
            let mine: Vec<&PredictionRecord> =
                records.iter().filter(|r| r.model_version == version).collect();
            for (index, chunk) in mine.chunks(50).take(count).enumerate() {
                let span = (chunk[0].timestamp, chunk[chunk.len() - 1].timestamp);
                let w = window(version, index as i64, chunk.len() as i64, span);
                assert!(store.put_window(&w).await.unwrap());
            }
        }
        let drift = store
            .fire_alert("feature_drift(worst area)", "breast-cancer", r#"{"p": 1e-6}"#, T0 + 1800 * SEC)
            .await
            .unwrap()
            .unwrap();
        store.resolve_alert("feature_drift(worst area)", "breast-cancer", T0 + 2300 * SEC).await.unwrap();
        for (event, status, error, at) in [
            ("fired", "delivered", "", T0 + 1801 * SEC),
            ("resolved", "failed", "connection refused", T0 + 2305 * SEC),
        ] {
            let delivery = AlertDelivery {
                episode_id: drift.episode_id.clone(),
                event: event.into(),
                target: "http://127.0.0.1:9/hook".into(),
                attempts: if status == "failed" { 3 } else { 1 },
                status: status.into(),
                error: error.into(),
                at,
            };
            store.record_alert_delivery(&delivery).await.unwrap();
        }
        store
            .fire_alert("latency_p99_above(10ms)", "breast-cancer", r#"{"p99_ms": 12.4}"#, T0 + 2100 * SEC)
            .await
            .unwrap();
        (canary, 16)
    })
}
