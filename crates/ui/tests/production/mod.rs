//! The production pages over a real SQLite store: a model served as a
//! champion and a challenger with logged predictions, monitoring windows
//! (one of them drifted), alerts with a webhook delivery, a model whose
//! name and feature hold markup, and a LoRA fine-tuning run.

use std::sync::Arc;

use axum::{http::StatusCode, Router};
use lathe_core::{Metric, Param, Tag};
use lathe_store::{
    AlertDelivery, CreateModelVersion, CreateRun, LocalArtifactStore, MonitoringWindow,
    PredictionRecord, Store,
};

use super::{get, has, no_injected_script};

const T0: i64 = 1_700_000_000_000;
const MIN: i64 = 60_000;
const HOSTILE: &str = "x<b>\"'&";

struct Prod {
    _dir: tempfile::TempDir,
    app: Router,
    finetune: String,
}

/// `n` predictions of `model` v`version`, one a minute from `from`.
fn predictions(model: &str, version: i64, from: i64, n: i64) -> Vec<PredictionRecord> {
    (0..n)
        .map(|i| PredictionRecord {
            prediction_id: format!("{model}-{version}-{i}"),
            model_name: model.into(),
            model_version: version,
            timestamp: from + i * MIN,
            inputs: r#"{"amount": 12.5, "country": "fr"}"#.into(),
            outputs: r#"{"probability": 0.2, "positive_class": "1"}"#.into(),
            latency_us: 1500,
        })
        .collect()
}

/// A window of ten predictions; `drifted_p` makes `amount` drift.
fn window(
    model: &str,
    version: i64,
    index: i64,
    from: i64,
    drifted_p: Option<f64>,
) -> MonitoringWindow {
    let amount_p = drifted_p.unwrap_or(0.62);
    let drifted = drifted_p.is_some();
    let drift = format!(
        r#"{{"dataset_drift": {drifted}, "drift_share": {share}, "drift_share_threshold": 0.5,
            "columns": {{
              "amount": {{"method": "binned_chisquare", "score": {amount_p}, "adjusted_score": {amount_p}, "drift": {drifted},
                          "bins": [["[0, 10)", 40, 5], ["[10, 50)", 50, 40], ["[50, inf)", 10, 55]]}},
              "country": {{"method": "binned_chisquare", "score": 0.3, "adjusted_score": 0.45, "drift": false}},
              "<i>f</i>": {{"method": "binned_chisquare", "score": 0.9, "adjusted_score": 0.9, "drift": false}}
            }},
            "prediction": {{"method": "binned_chisquare", "score": 0.04, "adjusted_score": 0.04, "drift": false}}}}"#,
        share = if drifted { 1.0 / 3.0 } else { 0.0 },
    );
    let accuracy = [0.91, 0.85, 0.71][index as usize % 3];
    MonitoringWindow {
        model_name: model.into(),
        model_version: version,
        kind: "count:10".into(),
        index,
        start_time: from,
        end_time: from + 9 * MIN,
        first_seq: index * 10 + 1,
        last_seq: index * 10 + 10,
        rows: 10,
        labeled_rows: 10,
        labels_through: 0,
        status: "ok".into(),
        drift,
        performance: format!(
            r#"{{"labeled": 10, "accuracy": {accuracy}, "f1": 0.8, "roc_auc": 0.93, "log_loss": 0.31,
                "latency_ms": {{"p50": 1.5, "p99": {p99}, "max": 40.0}}}}"#,
            p99 = 12 + index
        ),
        computed_at: from + 10 * MIN,
    }
}

async fn seed() -> Prod {
    let dir = tempfile::tempdir().unwrap();
    let store =
        lathe_store_sqlite::open(&dir.path().join("ui.db"), "mlflow-artifacts:/").await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    for name in ["fraud", HOSTILE, "idle-model"] {
        store.create_registered_model(name, &[], None).await.unwrap();
        for _ in 0..2 {
            store
                .create_model_version(CreateModelVersion {
                    name: name.into(),
                    source: "mlflow-artifacts:/m".into(),
                    ..CreateModelVersion::default()
                })
                .await
                .unwrap();
        }
    }
    store.set_registered_model_alias("fraud", "champion", 1).await.unwrap();
    store.set_registered_model_alias("fraud", "challenger", 2).await.unwrap();

    // v1 answers for 30 minutes, v2 (a canary) for the last 10 of them.
    store.log_predictions(&predictions("fraud", 1, T0, 30)).await.unwrap();
    store.log_predictions(&predictions("fraud", 2, T0 + 20 * MIN, 10)).await.unwrap();
    store.log_predictions(&predictions(HOSTILE, 1, T0, 10)).await.unwrap();
    // Served once, deleted from the registry since: its log stays.
    store.log_predictions(&predictions("ghost", 3, T0, 2)).await.unwrap();
    for (index, p) in [(0, None), (1, None), (2, Some(0.0001))] {
        store.put_window(&window("fraud", 1, index, T0 + index * 10 * MIN, p)).await.unwrap();
    }
    store.put_window(&window("fraud", 2, 0, T0 + 20 * MIN, None)).await.unwrap();
    store.put_window(&window(HOSTILE, 1, 0, T0, Some(0.002))).await.unwrap();
    let mut short = window(HOSTILE, 1, 1, T0 + 10 * MIN, None);
    short.rows = 3;
    short.status = "insufficient_data".into();
    short.drift = r#"{"note": "3 rows, fewer than the minimum of 10: no verdict"}"#.into();
    store.put_window(&short).await.unwrap();

    let drift = store
        .fire_alert("feature_drift(amount)", "fraud", r#"{"p": 0.0001}"#, T0 + 30 * MIN)
        .await
        .unwrap()
        .unwrap();
    store.resolve_alert("feature_drift(amount)", "fraud", T0 + 50 * MIN).await.unwrap();
    store
        .record_alert_delivery(&AlertDelivery {
            episode_id: drift.episode_id.clone(),
            event: "fired".into(),
            target: "http://hooks.example/alert".into(),
            attempts: 1,
            status: "delivered".into(),
            error: String::new(),
            at: T0 + 30 * MIN + 200,
        })
        .await
        .unwrap();
    store
        .fire_alert("latency_p99_above(10ms)", "fraud", r#"{"p99_ms": 14}"#, T0 + 31 * MIN)
        .await
        .unwrap();

    // A LoRA fine-tuning run as `lathe llm finetune` logs it.
    let exp = store.create_experiment("llm", None, &[]).await.unwrap();
    let run = store
        .create_run(CreateRun {
            experiment_id: exp,
            user_id: "ada".into(),
            start_time: Some(T0),
            run_name: Some("finetune".into()),
            tags: vec![Tag::new("lathe.llm.base_model", "tiny-llama")],
        })
        .await
        .unwrap();
    let finetune = run.info.run_id;
    // Its sample generations at two evaluations, one holding markup.
    let root = run.info.artifact_uri.strip_prefix("mlflow-artifacts:/").unwrap().trim_matches('/');
    let samples = dir.path().join("artifacts").join(root).join("samples");
    std::fs::create_dir_all(&samples).unwrap();
    for (step, generation) in [(5, "the dog"), (10, "<script>x</script> the cat sat")] {
        let body = serde_json::json!({"step": step, "samples": [
            {"prompt": "user: hi", "reference": "the cat sat", "generation": generation}]});
        std::fs::write(samples.join(format!("step-{step:06}.json")), body.to_string()).unwrap();
    }
    let m =
        |key: &str, value: f64, step: i64| Metric { key: key.into(), value, timestamp: T0, step };
    let mut metrics: Vec<Metric> = (1..=20)
        .flat_map(|s| {
            let s = s as i64;
            [m("train_loss", 3.0 / s as f64, s), m("tokens_per_s", 1000.0 + s as f64, s)]
        })
        .collect();
    metrics.extend([m("eval_loss", 1.2, 5), m("eval_loss", 0.7, 10), m("eval_loss", 0.9, 15)]);
    let p = |k: &str, v: &str| Param { key: k.into(), value: v.into() };
    let params =
        [p("base_model", "tiny-llama"), p("lora_rank", "8"), p("trainable_params", "4096")];
    store.log_batch(&finetune, &metrics, &params, &[]).await.unwrap();

    // A retrain the drift alert triggered (`lathe run`'s tags), and its gate.
    let project = store.create_experiment("fraud-project", None, &[]).await.unwrap();
    let run = |name: &str, tags: Vec<Tag>| CreateRun {
        experiment_id: project.clone(),
        user_id: "lathe".into(),
        start_time: Some(T0 + 32 * MIN),
        run_name: Some(name.into()),
        tags,
    };
    let promote = store
        .create_run(run(
            "promote",
            vec![
                Tag::new("lathe.gate.decision", "refused"),
                Tag::new("lathe.gate.reason", "v3 log_loss 0.31 vs champion v1 0.30 <is worse>"),
            ],
        ))
        .await
        .unwrap();
    store
        .create_run(run(
            "pipeline-fraud",
            vec![
                Tag::new("lathe.trigger", "alert"),
                Tag::new("lathe.trigger.model", "fraud"),
                Tag::new("lathe.trigger.rule", "feature_drift(amount)"),
                Tag::new("lathe.trigger.production_rows", "1234"),
                Tag::new("lathe.pipeline.step.promote", format!("ran {}", promote.info.run_id)),
            ],
        ))
        .await
        .unwrap();

    let artifacts = LocalArtifactStore::open(dir.path().join("artifacts")).unwrap();
    let app = lathe_ui::router(store, Arc::new(artifacts));
    Prod { _dir: dir, app, finetune }
}

#[tokio::test]
async fn monitoring_page_shows_drift_performance_latency_and_alerts() {
    let s = seed().await;
    let (status, page) = get(&s.app, "/models/fraud/monitoring").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    has(
        &page,
        &[
            "fraud · monitoring",
            "v1 · count:10 (3 windows)",
            "v2 · count:10 (1 windows)",
            "amount · window 2: p = 0.0001 (drifted)",
            "country · window 0: p = 0.45",
            "prediction · window 1: p = 0.04",
            "<span class=\"badge drifted\" title=\"binned_chisquare p = 1.000e-4\">amount</span>",
            "Metrics on labeled predictions",
            "Serving latency",
            "Distributions in window 2",
            "<title>[0, 10): reference 40.0%, window 5.0%</title>",
            // Window 2's span (the end on the same day without its date), accuracy and p99.
            ">2023-11-14 22:33:20</time> – <time datetime=\"2023-11-14T22:42:20Z\" title=\"2023-11-14 22:42:20\">22:42:20</time>",
            "title=\"0.71\">0.7100</td>",
            "<td class=\"num\" title=\"14\">14</td>",
            "feature_drift(amount)",
            "latency_p99_above(10ms)",
            ">firing<",
            ">resolved<",
            "http://hooks.example/alert",
            "delivered",
            "30 predictions, 0 labeled",
            // The retrain the alert triggered, and the gate's refusal, escaped.
            "Retraining",
            "pipeline-fraud",
            ">1234<",
            ">refused<",
            "v3 log_loss 0.31 vs champion v1 0.30 &lt;is worse&gt;",
        ],
    );
    no_injected_script(&page);
    // Another model's page lists no retrain.
    let (_, page) = get(&s.app, "/models/idle-model/monitoring").await;
    assert!(page.contains("No retrain yet"), "{page}");
    // The other version's series, chosen in the URL.
    let (status, page) = get(&s.app, "/models/fraud/monitoring?version=2").await;
    assert_eq!(status, StatusCode::OK);
    has(&page, &["Drift per feature and window, v2 count:10", "amount · window 0: p = 0.62"]);
    assert!(!page.contains("window 2:"), "{page}");
}

#[tokio::test]
async fn monitoring_escapes_names_and_refuses_bad_urls() {
    let s = seed().await;
    let (status, page) = get(&s.app, "/models/x%3Cb%3E%22'%26/monitoring").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    has(
        &page,
        &[
            "x&lt;b&gt;&quot;&#39;&amp; · monitoring",
            "&lt;i&gt;f&lt;/i&gt; · window 0",
            // A window with too few rows: no verdict in the heatmap, its note in the table.
            "amount · window 1: no verdict",
            ">3 rows, fewer than the minimum of 10: no verdict<",
        ],
    );
    assert!(!page.contains("<b>\"") && !page.contains("<i>f</i>"), "{page}");
    no_injected_script(&page);

    let (status, page) = get(&s.app, "/models/idle-model/monitoring").await;
    assert_eq!(status, StatusCode::OK);
    has(&page, &["No monitoring windows yet", "Prediction log", "No alert has fired"]);

    for (uri, want, text) in [
        ("/models/no-such-model/monitoring", StatusCode::NOT_FOUND, "no-such-model"),
        ("/models/fraud/monitoring?version=9", StatusCode::NOT_FOUND, "for version 9"),
        ("/models/fraud/monitoring?kind=time:1", StatusCode::NOT_FOUND, "of kind &#39;time:1&#39;"),
        ("/models/fraud/monitoring?version=two", StatusCode::BAD_REQUEST, "&#39;version&#39;"),
    ] {
        let (status, page) = get(&s.app, uri).await;
        assert_eq!(status, want, "{uri}: {page}");
        has(&page, &[text]);
    }

    let (status, page) = get(&s.app, "/monitoring").await;
    assert_eq!(status, StatusCode::OK);
    has(
        &page,
        &[
            "href=\"/models/fraud/monitoring\"",
            "x&lt;b&gt;&quot;&#39;&amp;",
            "<span class=\"badge firing\">latency_p99_above(10ms)</span>",
        ],
    );
    assert!(!page.contains(">feature_drift(amount)<"), "a resolved alert is not firing: {page}");
    no_injected_script(&page);
}

#[tokio::test]
async fn deployments_show_aliases_traffic_split_rate_and_latency() {
    let s = seed().await;
    let (status, page) = get(&s.app, "/deployments").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    has(
        &page,
        &[
            "@champion",
            "@challenger",
            // 30 of 40 recent predictions went to v1, 10 to v2, over the 29 minutes they span.
            "75.0% <span class=\"muted\">(30 of 40)</span>",
            "25.0% <span class=\"muted\">(10 of 40)</span>",
            "<td class=\"num\">1.0345</td>",
            "<td class=\"num\">0.3448</td>",
            // Latency of each version's latest window.
            "<td class=\"num\">1.5000</td><td class=\"num\">14</td>",
            "<td class=\"num\">1.5000</td><td class=\"num\">12</td>",
            "lathe_serve_errors_total",
            "x&lt;b&gt;&quot;&#39;&amp;",
            "ghost <span class=\"muted\">(no longer registered)</span>",
            "no monitoring windows yet, so no recent split or latency",
        ],
    );
    assert!(!page.contains("idle-model"), "a model with no predictions is not deployed: {page}");
    no_injected_script(&page);
    let (status, page) = get(&s.app, "/models/fraud").await;
    assert_eq!(status, StatusCode::OK);
    has(&page, &["href=\"/models/fraud/monitoring\"", "href=\"/deployments\""]);
}

#[tokio::test]
async fn a_finetuning_run_overlays_its_losses() {
    let s = seed().await;
    let (status, page) = get(&s.app, &format!("/runs/{}", s.finetune)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    has(
        &page,
        &[
            "Fine-tuning",
            "<dt>Base model</dt><dd>tiny-llama</dd>",
            "<dt>LoRA rank</dt><dd>8</dd>",
            "<dt>Best eval loss</dt><dd>0.7000 at step 10</dd>",
            "<dt>Tokens/s (median)</dt><dd>1011</dd>",
            "aria-label=\"Loss: train_loss, eval_loss over step",
        ],
    );
    // The last evaluation's samples, escaped, with a link to the other step.
    has(
        &page,
        &[
            "Sample generations",
            "after step 10",
            "<pre>&lt;script&gt;x&lt;/script&gt; the cat sat</pre>",
            "<pre>the cat sat</pre>",
            "<strong>10</strong>",
            &format!("href=\"/runs/{}?samples=5\"", s.finetune),
        ],
    );
    no_injected_script(&page);
    let (status, page) = get(&s.app, &format!("/runs/{}?samples=5", s.finetune)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    has(&page, &["after step 5", "<pre>the dog</pre>", "<strong>5</strong>"]);
    let (status, _) = get(&s.app, &format!("/runs/{}?samples=7", s.finetune)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&s.app, &format!("/runs/{}?samples=x", s.finetune)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
