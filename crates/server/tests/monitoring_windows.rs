//! The monitoring job on a SQLite store: a logged stream of predictions from
//! the reference distribution, then one with three shifted columns and
//! noisier labels, cut into count windows against a stored reference
//! profile: no drift and good performance first, drift on exactly the
//! shifted columns and worse performance after; windows computed once;
//! too few rows and empty time windows are "insufficient data"; labels that
//! arrive after a window was computed rescore its performance, and only its.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use lathe_core::{SplitMix64, Tag};
use lathe_monitor::{ProfileOptions, ProfileValues, ReferenceProfile};
use lathe_server::monitoring::{self, WindowSettings, WindowSpec};
use lathe_store::{
    ArtifactStore, CreateModelVersion, Feedback, LocalArtifactStore, PredictionRecord, Store,
};
use serde_json::Value;

const FEATURES: [&str; 5] = ["f0", "f1", "f2", "f3", "f4"];
const SHIFTED: [&str; 3] = ["f0", "f2", "f4"];

struct Gen(SplitMix64);

impl Gen {
    fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-300), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    /// A row, the model's probability and the true label.
    fn row(&mut self, shifted: bool) -> (Vec<f64>, f64, bool) {
        let row: Vec<f64> = FEATURES
            .iter()
            .map(|f| self.normal() + if shifted && SHIFTED.contains(f) { 1.5 } else { 0.0 })
            .collect();
        let p = 1.0 / (1.0 + (-2.0 * (row[0] + row[1])).exp());
        // In production the relationship weakens: half the labels flip.
        let flip = shifted && self.unit() < 0.5;
        let label = (self.unit() < p) != flip;
        (row, p, label)
    }
}

async fn setup() -> (tempfile::TempDir, Arc<dyn Store>, Arc<dyn ArtifactStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        lathe_store_sqlite::open(&dir.path().join("lathe.db"), "mlflow-artifacts:/").await.unwrap(),
    );
    let artifacts: Arc<dyn ArtifactStore> =
        Arc::new(LocalArtifactStore::open(dir.path().join("artifacts")).unwrap());
    store.create_registered_model("churn", &[], None).await.unwrap();
    store
        .create_model_version(CreateModelVersion {
            name: "churn".into(),
            source: "mlflow-artifacts:/m/model".into(),
            ..CreateModelVersion::default()
        })
        .await
        .unwrap();
    // The reference profile: 5,000 training rows and the model's probabilities on them.
    let mut gen = Gen(SplitMix64::new(7));
    let rows: Vec<_> = (0..5_000).map(|_| gen.row(false)).collect();
    let mut features: Vec<(String, ProfileValues)> = FEATURES
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let values = rows.iter().map(|r| r.0[j]).collect();
            (f.to_string(), ProfileValues::Numerical { values, integer: false })
        })
        .collect();
    features.push(("plan".into(), ProfileValues::Categorical(vec![Some("basic".into()); 5_000])));
    let predictions = vec![(
        "prediction".to_string(),
        ProfileValues::Numerical { values: rows.iter().map(|r| r.1).collect(), integer: false },
    )];
    let profile =
        ReferenceProfile::compute(&features, &predictions, &ProfileOptions::default()).unwrap();
    let bytes = serde_json::to_vec(&profile).unwrap();
    artifacts.put("m/reference/profile.json", Box::pin(std::io::Cursor::new(bytes))).await.unwrap();
    let tag =
        Tag::new(monitoring::windows::PROFILE_TAG, "mlflow-artifacts:/m/reference/profile.json");
    store.set_model_version_tag("churn", 1, &tag).await.unwrap();
    (dir, store, artifacts)
}

/// `n` predictions (at times from `t0`, one per ms) and their labels,
/// each arriving a minute after its prediction.
fn batch(
    gen: &mut Gen,
    n: usize,
    shifted: bool,
    t0: i64,
    tag: &str,
) -> (Vec<PredictionRecord>, Vec<Feedback>) {
    let mut records = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let (row, p, label) = gen.row(shifted);
        let mut inputs = serde_json::Map::new();
        for (f, v) in FEATURES.iter().zip(&row) {
            inputs.insert(f.to_string(), serde_json::json!(v));
        }
        inputs.insert("plan".into(), serde_json::json!("basic"));
        if shifted {
            // A column the reference never had: schema drift.
            inputs.insert("coupon".into(), serde_json::json!("x"));
        }
        let id = format!("{tag}-{i}");
        records.push(PredictionRecord {
            prediction_id: id.clone(),
            model_name: "churn".into(),
            model_version: 1,
            timestamp: t0 + i as i64,
            inputs: Value::Object(inputs).to_string(),
            outputs: serde_json::json!({
                "prediction": if p >= 0.5 { "yes" } else { "no" },
                "positive_class": "yes",
                "probability": p,
            })
            .to_string(),
            latency_us: 50,
        });
        let label = if label { "\"yes\"" } else { "\"no\"" };
        labels.push(Feedback {
            prediction_id: id,
            label: label.into(),
            received_at: t0 + i as i64 + 60_000,
        });
    }
    (records, labels)
}

/// Logs `n` predictions (at times from `t0`, one per ms) with labels.
async fn traffic(store: &dyn Store, gen: &mut Gen, n: usize, shifted: bool, t0: i64, tag: &str) {
    let (records, labels) = batch(gen, n, shifted, t0, tag);
    store.log_predictions(&records).await.unwrap();
    let outcome = store.record_feedback(&labels, false).await.unwrap();
    assert_eq!(outcome.stored.len(), n);
}

fn drifted(w: &lathe_store::MonitoringWindow) -> (bool, Vec<String>, f64, Value) {
    let drift: Value = serde_json::from_str(&w.drift).unwrap();
    let perf: Value = serde_json::from_str(&w.performance).unwrap();
    let columns: Vec<String> = drift["columns"]
        .as_object()
        .unwrap_or_else(|| panic!("no columns in {drift}"))
        .iter()
        .filter(|(_, c)| c["drift"] == true)
        .map(|(n, _)| n.clone())
        .collect();
    (drift["prediction"]["drift"] == true, columns, perf["f1"].as_f64().unwrap(), drift)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_windows_show_no_drift_then_drift_on_the_shifted_columns() {
    let (_dir, store, artifacts) = setup().await;
    let settings = WindowSettings { spec: WindowSpec::Count(500), ..WindowSettings::default() };
    let mut gen = Gen(SplitMix64::new(42));
    traffic(store.as_ref(), &mut gen, 2_000, false, 1_000_000, "ref").await;
    traffic(store.as_ref(), &mut gen, 2_000, true, 2_000_000, "cur").await;
    traffic(store.as_ref(), &mut gen, 300, true, 3_000_000, "tail").await;

    let fresh =
        monitoring::update_version(store.as_ref(), artifacts.as_ref(), "churn", 1, &settings, 9)
            .await
            .unwrap();
    assert_eq!(fresh.len(), 8, "the last 300 rows wait for a full window");
    let mut worst_reference_f1 = 1.0_f64;
    for w in &fresh[..4] {
        let (prediction, columns, f1, drift) = drifted(w);
        worst_reference_f1 = worst_reference_f1.min(f1);
        assert_eq!(w.status, "ok");
        assert!(columns.is_empty() && !prediction, "window {}: {drift}", w.index);
        assert_eq!(drift["dataset_drift"], false);
        assert!(f1 > 0.7, "window {}: f1 {f1}", w.index);
        assert_eq!(w.labeled_rows, 500);
    }
    for w in &fresh[4..] {
        let (prediction, columns, f1, drift) = drifted(w);
        assert_eq!(columns, SHIFTED, "window {}: {drift}", w.index);
        assert!(prediction, "f0 moves the prediction");
        assert_eq!(drift["dataset_drift"], true, "3 of 6 columns");
        assert_eq!(drift["extra_columns"], serde_json::json!(["coupon"]));
        assert!(
            f1 < worst_reference_f1 - 0.05,
            "window {}: f1 {f1} vs {worst_reference_f1}",
            w.index
        );
        let perf: Value = serde_json::from_str(&w.performance).unwrap();
        assert_eq!(perf["label_delay_ms"]["median"], 60_000);
        assert!(perf["roc_auc"].as_f64().is_some() && perf["log_loss"].as_f64().is_some());
    }
    let plan = &drifted(&fresh[0]).3["columns"]["plan"];
    assert!(plan["notes"].to_string().contains("constant in the reference"), "{plan}");

    // Incremental: nothing new until 500 more rows arrive.
    let again =
        monitoring::update_version(store.as_ref(), artifacts.as_ref(), "churn", 1, &settings, 10)
            .await
            .unwrap();
    assert!(again.is_empty());
    traffic(store.as_ref(), &mut gen, 200, true, 4_000_000, "more").await;
    let next =
        monitoring::update_all(store.as_ref(), artifacts.as_ref(), &settings, 11).await.unwrap();
    assert_eq!(next.iter().map(|w| w.index).collect::<Vec<_>>(), vec![8]);
    assert_eq!(store.list_windows("churn", Some(1)).await.unwrap().len(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_override_changes_that_columns_test_only() {
    let (_dir, store, artifacts) = setup().await;
    let text = r#"
        [monitoring.columns.f0]
        method = "psi"
        threshold = 5.0
        [monitoring.columns.f2]
        method = "jensenshannon"
    "#;
    let settings = WindowSettings {
        spec: WindowSpec::Count(500),
        columns: monitoring::columns::parse(text, "lathe.toml").unwrap(),
        ..WindowSettings::default()
    };
    let mut gen = Gen(SplitMix64::new(42));
    traffic(store.as_ref(), &mut gen, 500, true, 1_000_000, "cur").await;
    let fresh =
        monitoring::update_version(store.as_ref(), artifacts.as_ref(), "churn", 1, &settings, 9)
            .await
            .unwrap();
    let (_, columns, _, drift) = drifted(&fresh[0]);
    assert_eq!(columns, ["f2", "f4"], "f0's PSI is below 5: {drift}");
    assert_eq!(drift["columns"]["f0"]["method"], "psi");
    assert_eq!(drift["columns"]["f2"]["method"], "jensenshannon");
    assert_eq!(drift["columns"]["f2"]["threshold"], 0.1);
    assert_eq!(drift["columns"]["f4"]["method"], "binned_chisquare");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_windows_with_few_or_no_rows_are_insufficient_data() {
    let (_dir, store, artifacts) = setup().await;
    let settings = WindowSettings {
        spec: "1s".parse().unwrap(),
        min_rows: 100,
        grace_ms: 500,
        // Window 10 is read in three pages and one empty read.
        page_rows: 100,
        ..WindowSettings::default()
    };
    let mut gen = Gen(SplitMix64::new(3));
    // 300 rows in [10 s, 10.3 s), nothing in the next second, 50 rows at 12 s.
    traffic(store.as_ref(), &mut gen, 300, false, 10_000, "a").await;
    traffic(store.as_ref(), &mut gen, 50, false, 12_000, "b").await;
    let fresh = monitoring::update_version(
        store.as_ref(),
        artifacts.as_ref(),
        "churn",
        1,
        &settings,
        13_600,
    )
    .await
    .unwrap();
    let seen: Vec<_> = fresh.iter().map(|w| (w.index, w.rows, w.status.as_str())).collect();
    assert_eq!(
        seen,
        vec![(10, 300, "ok"), (11, 0, "insufficient_data"), (12, 50, "insufficient_data")]
    );
    let empty: Value = serde_json::from_str(&fresh[1].drift).unwrap();
    assert!(empty["note"].as_str().unwrap().contains("no verdict"), "{empty}");
    assert!(empty.get("dataset_drift").is_none(), "no verdict, no false alarm");
    // Window 13 is not closed before 14.5 s.
    assert!(monitoring::update_version(
        store.as_ref(),
        artifacts.as_ref(),
        "churn",
        1,
        &settings,
        14_400
    )
    .await
    .unwrap()
    .is_empty());
}

/// `lathe_eval`'s binary metrics on logged rows and their labels, computed
/// here directly: what a window's performance must equal.
fn direct_metrics(records: &[PredictionRecord], labels: &[Feedback]) -> Value {
    let mut y = Vec::new();
    let mut p = Vec::new();
    for l in labels {
        let r = records.iter().find(|r| r.prediction_id == l.prediction_id).unwrap();
        let out: Value = serde_json::from_str(&r.outputs).unwrap();
        p.push(out["probability"].as_f64().unwrap());
        y.push(u8::from(l.label == "\"yes\""));
    }
    let m = lathe_eval::BinaryMetrics::compute(&y, &p, 0.5).unwrap();
    m.named().iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect()
}

fn metrics_of(w: &lathe_store::MonitoringWindow) -> Value {
    let perf: Value = serde_json::from_str(&w.performance).unwrap();
    ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"]
        .iter()
        .filter(|k| perf.get(**k).is_some())
        .map(|k| (k.to_string(), perf[*k].clone()))
        .collect()
}

/// Same metrics, equal to the last bits JSON text keeps (serde_json's
/// default float parsing may differ from the value printed by one ulp).
fn assert_close(got: &Value, want: &Value) {
    let (got, want) = (got.as_object().unwrap(), want.as_object().unwrap());
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
    for (k, w) in want {
        let (g, w) = (got[k].as_f64().unwrap(), w.as_f64().unwrap());
        assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "{k}: {g} vs {w}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_labels_rescore_only_the_windows_they_belong_to() {
    let (_dir, store, artifacts) = setup().await;
    let config = monitoring::MonitoringConfig::parse(
        r#"
        [monitoring]
        window = "500"
        [[alerts]]
        rule = "metric_below(f1, 0.99)"
        model = "churn"
        "#,
        "lathe.toml",
    )
    .unwrap();
    let settings = config.windows.clone();
    let mut gen = Gen(SplitMix64::new(42));
    let (records, labels) = batch(&mut gen, 1_500, false, 1_000_000, "ref");
    store.log_predictions(&records).await.unwrap();
    let pass = |now| {
        let (store, artifacts, settings) =
            (Arc::clone(&store), Arc::clone(&artifacts), settings.clone());
        async move {
            let written = monitoring::update_version(
                store.as_ref(),
                artifacts.as_ref(),
                "churn",
                1,
                &settings,
                now,
            )
            .await
            .unwrap();
            written.iter().map(|w| w.index).collect::<Vec<_>>()
        }
    };
    assert_eq!(pass(1).await, vec![0, 1, 2]);
    let first = store.list_windows("churn", Some(1)).await.unwrap();
    for w in &first {
        assert_eq!((w.labeled_rows, w.labels_through), (0, 0));
        assert_eq!(metrics_of(w), serde_json::json!({}), "no labels, no metrics");
    }
    assert!(monitoring::alerts::evaluate(store.as_ref(), &config, 1).await.unwrap().is_empty());

    // Half of window 1's labels arrive after it was computed.
    store.record_feedback(&labels[500..750], false).await.unwrap();
    assert_eq!(pass(2).await, vec![1], "only the window the labels belong to is rewritten");
    let second = store.list_windows("churn", Some(1)).await.unwrap();
    assert_eq!(second[1].labeled_rows, 250);
    assert_close(&metrics_of(&second[1]), &direct_metrics(&records, &labels[500..750]));
    assert_eq!(second[1].labels_through, labels[749].received_at);
    assert_eq!(
        (second[1].drift.as_str(), second[1].computed_at),
        (first[1].drift.as_str(), 1),
        "drift is not recomputed"
    );
    assert_eq!((&second[0], &second[2]), (&first[0], &first[2]));
    let fired = monitoring::alerts::evaluate(store.as_ref(), &config, 2).await.unwrap();
    assert_eq!(fired.len(), 1, "metric_below reads the rescored window");

    // The rest of them: the metrics count all 500.
    store.record_feedback(&labels[750..1_000], false).await.unwrap();
    assert_eq!(pass(3).await, vec![1]);
    let third = store.list_windows("churn", Some(1)).await.unwrap();
    assert_eq!(third[1].labeled_rows, 500);
    assert_close(&metrics_of(&third[1]), &direct_metrics(&records, &labels[500..1_000]));
    assert!(pass(4).await.is_empty(), "no new labels: nothing rewritten");

    // Labels stamped before window 1's newest (within the grace period) still count.
    assert!(labels[499].received_at < third[1].labels_through);
    store.record_feedback(&labels[..500], false).await.unwrap();
    assert_eq!(pass(5).await, vec![0]);
    let fourth = store.list_windows("churn", Some(1)).await.unwrap();
    assert_close(&metrics_of(&fourth[0]), &direct_metrics(&records, &labels[..500]));
    // Labels of predictions no window holds yet wait for their window.
    let (tail, tail_labels) = batch(&mut gen, 200, false, 3_000_000, "tail");
    store.log_predictions(&tail).await.unwrap();
    store.record_feedback(&tail_labels, false).await.unwrap();
    assert!(pass(6).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_labels_find_their_time_window_by_prediction_time() {
    let (_dir, store, artifacts) = setup().await;
    let settings =
        WindowSettings { spec: "1s".parse().unwrap(), grace_ms: 500, ..WindowSettings::default() };
    let mut gen = Gen(SplitMix64::new(3));
    let (a, a_labels) = batch(&mut gen, 300, false, 10_000, "a");
    let (b, b_labels) = batch(&mut gen, 200, false, 11_000, "b");
    store.log_predictions(&a).await.unwrap();
    store.log_predictions(&b).await.unwrap();
    let run = |now| {
        let (store, artifacts, settings) =
            (Arc::clone(&store), Arc::clone(&artifacts), settings.clone());
        async move {
            monitoring::update_version(
                store.as_ref(),
                artifacts.as_ref(),
                "churn",
                1,
                &settings,
                now,
            )
            .await
            .unwrap()
        }
    };
    let fresh = run(12_600).await;
    assert_eq!(
        fresh.iter().map(|w| (w.index, w.rows)).collect::<Vec<_>>(),
        vec![(10, 300), (11, 200)]
    );
    store.record_feedback(&b_labels, false).await.unwrap();
    let rescored = run(12_700).await;
    assert_eq!(
        rescored.iter().map(|w| (w.index, w.labeled_rows)).collect::<Vec<_>>(),
        vec![(11, 200)]
    );
    assert_close(&metrics_of(&rescored[0]), &direct_metrics(&b, &b_labels));
    // Later labels carry later arrival times.
    let a_labels: Vec<Feedback> = a_labels
        .into_iter()
        .map(|l| Feedback { received_at: l.received_at + 20_000, ..l })
        .collect();
    store.record_feedback(&a_labels, false).await.unwrap();
    let rescored = run(12_800).await;
    assert_eq!(
        rescored.iter().map(|w| (w.index, w.labeled_rows)).collect::<Vec<_>>(),
        vec![(10, 300)]
    );
    assert_close(&metrics_of(&rescored[0]), &direct_metrics(&a, &a_labels));
}

/// A webhook receiver on 127.0.0.1 that keeps every JSON body it gets.
async fn receiver() -> (String, Arc<std::sync::Mutex<Vec<Value>>>) {
    use axum::{routing::post, Json, Router};
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = Arc::clone(&got);
    let app = Router::new().route(
        "/hook",
        post(move |Json(body): Json<Value>| {
            let keep = Arc::clone(&keep);
            async move {
                keep.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_fire_once_per_episode_resolve_and_reach_the_webhook() {
    let (_dir, store, artifacts) = setup().await;
    let (hook, got) = receiver().await;
    // A port nothing listens on: every attempt fails and is recorded.
    let dead = "http://127.0.0.1:9/hook".to_string();
    let config = monitoring::MonitoringConfig::parse(
        &format!(
            r#"
            [monitoring]
            window = "500"
            [[alerts]]
            rule = "feature_drift(f2)"
            [[alerts]]
            rule = "metric_below(roc_auc, 0.7)"
            model = "churn"
            [webhooks]
            urls = ["{hook}", "{dead}"]
            allowed_hosts = ["127.0.0.1"]
            "#
        ),
        "lathe.toml",
    )
    .unwrap();
    let mut gen = Gen(SplitMix64::new(42));
    let pass = |now| {
        let (store, artifacts, config) =
            (Arc::clone(&store), Arc::clone(&artifacts), config.clone());
        async move {
            monitoring::update_all(store.as_ref(), artifacts.as_ref(), &config.windows, now)
                .await
                .unwrap();
            monitoring::alerts::evaluate(store.as_ref(), &config, now).await.unwrap()
        }
    };
    traffic(store.as_ref(), &mut gen, 1_000, false, 1_000_000, "ref").await;
    assert!(pass(1).await.is_empty(), "no drift, nothing fires");
    traffic(store.as_ref(), &mut gen, 1_000, true, 2_000_000, "cur").await;
    let fired = pass(2).await;
    let names: Vec<_> = fired.iter().map(|(e, ep)| (*e, ep.rule.as_str())).collect();
    assert_eq!(
        names,
        vec![("fired", "feature_drift(f2)"), ("fired", "metric_below(roc_auc, 0.7)")]
    );
    traffic(store.as_ref(), &mut gen, 500, true, 3_000_000, "more").await;
    assert!(pass(3).await.is_empty(), "still drifting: the episode does not fire again");
    traffic(store.as_ref(), &mut gen, 500, false, 4_000_000, "back").await;
    let resolved = pass(4).await;
    assert_eq!(resolved.len(), 2);
    for ((event, episode), (_, was)) in resolved.iter().zip(&fired) {
        assert_eq!((*event, episode.episode_id.as_str()), ("resolved", was.episode_id.as_str()));
    }

    let bodies = got.lock().unwrap().clone();
    let events: Vec<_> = bodies
        .iter()
        .map(|b| (b["event"].as_str().unwrap(), b["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(
        events,
        vec![
            ("fired", "feature_drift(f2)"),
            ("fired", "metric_below(roc_auc, 0.7)"),
            ("resolved", "feature_drift(f2)"),
            ("resolved", "metric_below(roc_auc, 0.7)"),
        ]
    );
    assert_eq!(bodies[0]["model"], "churn");
    assert_eq!(bodies[0]["detail"]["feature"], "f2");

    let history = store.list_alerts(Some("churn")).await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|e| e.state == "resolved" && e.resolved_at == Some(4)));
    let drift_episode = history.iter().find(|e| e.rule == "feature_drift(f2)").unwrap();
    let deliveries = store.list_alert_deliveries(&drift_episode.episode_id).await.unwrap();
    let seen: Vec<_> = deliveries
        .iter()
        .map(|d| (d.event.as_str(), d.target.as_str(), d.status.as_str(), d.attempts))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("fired", hook.as_str(), "delivered", 1),
            ("fired", dead.as_str(), "failed", 4),
            ("resolved", hook.as_str(), "delivered", 1),
            ("resolved", dead.as_str(), "failed", 4),
        ]
    );
    assert!(!deliveries[1].error.is_empty());
}
