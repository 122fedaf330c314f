//! The conformance story of the monitoring part of [`Store`]: the
//! prediction log, feedback, windows and alerts. Backends that keep
//! monitoring data (SQLite, PostgreSQL) run [`run_all`]; the REST store
//! answers [`StoreError::Unsupported`] instead. Names are fresh random ids,
//! so the story runs again and again against one database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use lathe_core::new_id;

use crate::{
    AlertDelivery, Feedback, LabelQuery, MonitoringWindow, PredictionQuery, PredictionRecord,
    Store, StoreError,
};

/// Runs every monitoring story, in order, against `store`.
pub async fn run_all(store: &dyn Store) {
    prediction_log(store).await;
    feedback(store).await;
    label_arrivals(store).await;
    windows(store).await;
    alerts(store).await;
}

fn record(model: &str, version: i64, i: i64) -> PredictionRecord {
    PredictionRecord {
        prediction_id: format!("{model}-p{i}"),
        model_name: model.to_string(),
        model_version: version,
        timestamp: 1_000 + i,
        inputs: format!(r#"{{"x": {i}, "c": "a'b\"c"}}"#),
        outputs: format!(r#"{{"prediction": {}, "probabilities": [0.25, 0.75]}}"#, i % 2),
        latency_us: 10 + i,
    }
}

fn query(model: &str, version: i64, after_seq: i64, limit: i64) -> PredictionQuery {
    PredictionQuery {
        model_name: model.to_string(),
        model_version: version,
        after_seq,
        limit,
        ..PredictionQuery::default()
    }
}

/// Batches are logged whole, read back in order per version, and a
/// retried batch writes nothing twice.
pub async fn prediction_log(store: &dyn Store) {
    let model = format!("log-{}", new_id());
    let batch: Vec<_> = (0..1_200).map(|i| record(&model, 1 + i % 2, i)).collect();
    store.log_predictions(&batch).await.expect("log 1,200 predictions");
    store.log_predictions(&batch[..10]).await.expect("a retried batch is accepted");
    store.log_predictions(&[]).await.expect("an empty batch is a no-op");
    let mut bad = record(&model, 1, 9_999);
    bad.prediction_id.clear();
    let message = match store.log_predictions(&[record(&model, 1, 5_000), bad]).await {
        Err(StoreError::InvalidParameter(m)) => m,
        other => panic!("empty prediction id: expected InvalidParameter, got {other:?}"),
    };
    assert!(message.contains("prediction_id"), "{message}");

    let v1 = store.read_predictions(&query(&model, 1, 0, 10_000)).await.expect("read v1");
    assert_eq!(v1.len(), 600, "retried rows are not duplicated; the refused batch wrote nothing");
    assert!(v1.windows(2).all(|w| w[0].seq < w[1].seq), "ordered by seq");
    assert_eq!(v1[0].record, batch[0], "a record reads back as written");
    assert!(v1.iter().all(|p| p.label.is_none()));
    let page = store.read_predictions(&query(&model, 1, v1[99].seq, 50)).await.expect("page");
    assert_eq!(page.len(), 50);
    assert_eq!(page[0].seq, v1[100].seq, "after_seq is exclusive");
    let mut timed = query(&model, 2, 0, 10_000);
    timed.from_time = Some(1_011);
    timed.to_time = Some(1_021);
    let timed = store.read_predictions(&timed).await.expect("time range");
    let times: Vec<i64> = timed.iter().map(|p| p.record.timestamp).collect();
    assert_eq!(times, vec![1_011, 1_013, 1_015, 1_017, 1_019], "[from, to) on version 2");
    assert!(matches!(
        store.read_predictions(&query(&model, 1, 0, 0)).await,
        Err(StoreError::InvalidParameter(_))
    ));

    let summary = store.prediction_log_summary(Some(&model)).await.expect("summary");
    assert_eq!(summary.len(), 2);
    assert_eq!((summary[0].model_version, summary[0].rows, summary[0].labeled), (1, 600, 0));
    assert_eq!((summary[0].first_time, summary[0].last_time), (1_000, 2_198));
    assert_eq!((summary[1].model_version, summary[1].rows, summary[1].last_time), (2, 600, 2_199));
    assert!(summary[0].last_seq == v1.last().unwrap().seq);
}

/// Unknown ids are reported and not stored; the first label stands unless
/// overwrite is asked; labels come back joined to their predictions.
pub async fn feedback(store: &dyn Store) {
    let model = format!("fb-{}", new_id());
    let batch: Vec<_> = (0..3).map(|i| record(&model, 1, i)).collect();
    store.log_predictions(&batch).await.expect("log");
    let label = |id: &str, label: &str, at: i64| Feedback {
        prediction_id: id.to_string(),
        label: label.to_string(),
        received_at: at,
    };
    let p0 = &batch[0].prediction_id;
    let p1 = &batch[1].prediction_id;
    let outcome = store
        .record_feedback(
            &[
                label(p0, "\"yes\"", 5_000),
                label("nope", "\"no\"", 5_000),
                label(p0, "\"no\"", 5_001),
            ],
            false,
        )
        .await
        .expect("feedback");
    assert_eq!(outcome.stored, vec![p0.clone()]);
    assert_eq!(outcome.unknown, vec!["nope".to_string()]);
    assert_eq!(
        outcome.kept_first,
        vec![p0.clone()],
        "a duplicate in the same batch keeps the first"
    );
    let outcome = store.record_feedback(&[label(p0, "\"no\"", 6_000)], false).await.expect("again");
    assert_eq!(outcome.kept_first, vec![p0.clone()]);
    let outcome = store
        .record_feedback(&[label(p1, "1", 7_000), label(p0, "\"no\"", 7_000)], true)
        .await
        .expect("overwrite");
    assert_eq!(outcome.stored, vec![p1.clone(), p0.clone()]);
    let read = store.read_predictions(&query(&model, 1, 0, 10)).await.expect("read");
    let labels: Vec<_> = read.iter().map(|p| (p.label.as_deref(), p.label_received_at)).collect();
    assert_eq!(labels, vec![(Some("\"no\""), Some(7_000)), (Some("1"), Some(7_000)), (None, None)]);
    let summary = store.prediction_log_summary(Some(&model)).await.expect("summary");
    assert_eq!(summary[0].labeled, 2);
    let outcome = store.record_feedback(&[label("nope", "1", 1)], true).await.expect("unknown");
    assert!(outcome.stored.is_empty() && outcome.unknown == vec!["nope".to_string()]);
}

/// A window is stored once; windows list in order per version.
pub async fn windows(store: &dyn Store) {
    let model = format!("win-{}", new_id());
    let window = |version: i64, index: i64, status: &str| MonitoringWindow {
        model_name: model.clone(),
        model_version: version,
        kind: "count:500".into(),
        index,
        start_time: 10 * index,
        end_time: 10 * index + 9,
        first_seq: 500 * index + 1,
        last_seq: 500 * index + 500,
        rows: 500,
        labeled_rows: 120,
        status: status.into(),
        drift: r#"{"dataset_drift": false}"#.into(),
        performance: r#"{"accuracy": 0.9}"#.into(),
        computed_at: 42,
        labels_through: 7,
    };
    assert!(store.put_window(&window(1, 1, "ok")).await.expect("put"));
    assert!(store.put_window(&window(1, 0, "insufficient_data")).await.expect("put"));
    assert!(store.put_window(&window(2, 0, "ok")).await.expect("put"));
    let mut again = window(1, 1, "ok");
    again.drift = "{}".into();
    assert!(!store.put_window(&again).await.expect("put twice"), "a window is computed once");
    assert!(matches!(
        store.put_window(&window(1, 7, "maybe")).await,
        Err(StoreError::InvalidParameter(_))
    ));
    let all = store.list_windows(&model, None).await.expect("list");
    let keys: Vec<_> = all.iter().map(|w| (w.model_version, w.index)).collect();
    assert_eq!(keys, vec![(1, 0), (1, 1), (2, 0)]);
    assert_eq!(all[1], window(1, 1, "ok"), "the first write stands");
    assert_eq!(store.list_windows(&model, Some(2)).await.expect("v2").len(), 1);
    assert!(store.list_windows("no-such-model", None).await.expect("none").is_empty());

    // Late labels rewrite the performance part only.
    let mut rescored = window(1, 1, "ok");
    rescored.labeled_rows = 480;
    rescored.performance = r#"{"accuracy": 0.7}"#.into();
    rescored.labels_through = 9_000;
    rescored.drift = "{}".into();
    rescored.computed_at = 99;
    assert!(store.rescore_window(&rescored).await.expect("rescore"));
    let after = store.list_windows(&model, Some(1)).await.expect("list");
    let expected = MonitoringWindow {
        labeled_rows: 480,
        performance: r#"{"accuracy": 0.7}"#.into(),
        labels_through: 9_000,
        ..window(1, 1, "ok")
    };
    assert_eq!(after[1], expected, "drift and computed_at stay as first written");
    assert_eq!(after[0], window(1, 0, "insufficient_data"), "other windows are untouched");
    assert!(!store.rescore_window(&window(1, 9, "ok")).await.expect("absent"), "no such window");
}

/// Labels are found by arrival time, paged by `(received_at, seq)`, per version.
pub async fn label_arrivals(store: &dyn Store) {
    let model = format!("late-{}", new_id());
    let batch: Vec<_> = (0..6).map(|i| record(&model, 1 + i / 5, i)).collect();
    store.log_predictions(&batch).await.expect("log");
    let label = |i: usize, at: i64| Feedback {
        prediction_id: batch[i].prediction_id.clone(),
        label: "1".into(),
        received_at: at,
    };
    let labels = [label(3, 200), label(0, 100), label(1, 200), label(2, 300), label(5, 50)];
    store.record_feedback(&labels, false).await.expect("feedback");
    let seqs = store.read_predictions(&query(&model, 1, 0, 10)).await.expect("read");
    let seq = |i: usize| seqs[i].seq;
    let since = |received_after: i64, after_seq: i64, limit: i64| LabelQuery {
        model_name: model.clone(),
        model_version: 1,
        received_after,
        after_seq,
        limit,
    };
    let all = store.labels_since(&since(0, i64::MAX, 10)).await.expect("all");
    let seen: Vec<_> = all.iter().map(|a| (a.seq, a.timestamp, a.received_at)).collect();
    assert_eq!(
        seen,
        vec![
            (seq(0), 1_000, 100),
            (seq(1), 1_001, 200),
            (seq(3), 1_003, 200),
            (seq(2), 1_002, 300)
        ],
        "version 1 only, by arrival then seq"
    );
    let later = store.labels_since(&since(100, i64::MAX, 10)).await.expect("later");
    assert_eq!(later.len(), 3, "strictly after the arrival time");
    let page = store.labels_since(&since(200, seq(1), 10)).await.expect("page");
    let seen: Vec<_> = page.iter().map(|a| a.seq).collect();
    assert_eq!(seen, vec![seq(3), seq(2)], "the cursor's tie-breaker is seq");
    let first = store.labels_since(&since(0, i64::MAX, 1)).await.expect("limit");
    assert_eq!(first.len(), 1);
    assert!(matches!(
        store.labels_since(&since(0, 0, 0)).await,
        Err(StoreError::InvalidParameter(_))
    ));
}

/// An alert fires once per episode, resolves once, and keeps its history
/// and deliveries.
pub async fn alerts(store: &dyn Store) {
    let model = format!("alert-{}", new_id());
    let rule = "feature_drift(age)";
    let first = store.fire_alert(rule, &model, "{\"share\": 0.6}", 100).await.expect("fire");
    let first = first.expect("a new episode");
    assert_eq!((first.state.as_str(), first.fired_at, first.resolved_at), ("firing", 100, None));
    assert!(store.fire_alert(rule, &model, "{}", 200).await.expect("again").is_none(), "no storm");
    assert!(
        store.fire_alert("dataset_drift", &model, "{}", 150).await.expect("other rule").is_some(),
        "rules are independent"
    );
    let resolved = store.resolve_alert(rule, &model, 300).await.expect("resolve");
    let resolved = resolved.expect("the firing episode");
    assert_eq!(resolved.episode_id, first.episode_id);
    assert_eq!((resolved.state.as_str(), resolved.resolved_at), ("resolved", Some(300)));
    assert!(store.resolve_alert(rule, &model, 301).await.expect("twice").is_none());
    let second = store.fire_alert(rule, &model, "{}", 400).await.expect("fire").expect("new");
    assert_ne!(second.episode_id, first.episode_id);

    let history = store.list_alerts(Some(&model)).await.expect("history");
    let seen: Vec<_> = history.iter().map(|e| (e.fired_at, e.state.as_str())).collect();
    assert_eq!(seen, vec![(400, "firing"), (150, "firing"), (100, "resolved")]);
    assert_eq!(history[2].detail, "{\"share\": 0.6}");

    let delivery = |attempts: i64, status: &str| AlertDelivery {
        episode_id: first.episode_id.clone(),
        event: "fired".into(),
        target: "http://127.0.0.1:9/hook".into(),
        attempts,
        status: status.into(),
        error: if status == "failed" { "connection refused".into() } else { String::new() },
        at: 500,
    };
    store.record_alert_delivery(&delivery(3, "failed")).await.expect("record");
    store.record_alert_delivery(&delivery(1, "delivered")).await.expect("record");
    let deliveries = store.list_alert_deliveries(&first.episode_id).await.expect("deliveries");
    assert_eq!(deliveries, vec![delivery(3, "failed"), delivery(1, "delivered")]);
    let mut orphan = delivery(1, "delivered");
    orphan.episode_id = "no-such-episode".into();
    assert!(store.record_alert_delivery(&orphan).await.is_err(), "a delivery needs its episode");
}
