//! Late labels: ground truth often arrives hours or days after the
//! prediction, long after its window was cut. A window's drift is computed
//! once, but its performance is scored again whenever labels for its
//! predictions arrive after it was last scored.
//!
//! Each window records `labels_through`, the newest arrival among the
//! labels it counts. A pass asks the store for the labels of the version
//! that arrived after the newest `labels_through` of its windows, less the
//! grace period (a label stamped just before another may be committed just
//! after it), through an index on (version, arrival time), so the cost
//! follows the labels that arrived, not the size of the log. Each label is
//! placed in its window (by `seq` for count windows, by time for time
//! windows); a window with a label newer than its `labels_through` is read
//! again and rescored, and written only when its performance part changed.
//! A label stamped more than the grace period before the newest one already
//! counted (a clock far behind, a commit held that long) waits until the
//! next label of its window arrives: the rescore reads the window whole.

use std::collections::BTreeSet;

use lathe_store::{LabelQuery, MonitoringWindow, Store};

use super::{compute, windows, Result, WindowSettings, WindowSpec};

/// Rescores the stored windows of one version and kind (in index order)
/// that labels arrived for since they were scored; returns the rewritten ones.
pub(crate) async fn rescore(
    store: &dyn Store,
    model: &str,
    version: i64,
    stored: &[&MonitoringWindow],
    settings: &WindowSettings,
) -> Result<Vec<MonitoringWindow>> {
    let Some(newest) = stored.iter().map(|w| w.labels_through).max() else {
        return Ok(Vec::new());
    };
    let page = settings.page_rows.clamp(1, 100_000);
    let mut query = LabelQuery {
        model_name: model.to_string(),
        model_version: version,
        received_after: newest.saturating_sub(settings.grace_ms.max(0)),
        after_seq: i64::MAX,
        limit: page,
    };
    let mut stale = BTreeSet::new();
    loop {
        let arrivals = store.labels_since(&query).await?;
        for a in &arrivals {
            let at = match settings.spec {
                WindowSpec::Count(_) => {
                    let i = stored.partition_point(|w| w.last_seq < a.seq);
                    stored.get(i).filter(|w| w.first_seq <= a.seq)
                }
                WindowSpec::Time(width) => {
                    let index = a.timestamp.div_euclid(width);
                    stored
                        .binary_search_by_key(&index, |w| w.index)
                        .ok()
                        .and_then(|i| stored.get(i))
                }
            };
            // Labels of the open window wait for it to be cut.
            if let Some(w) = at.filter(|w| a.received_at > w.labels_through) {
                stale.insert(w.index);
            }
        }
        match arrivals.last() {
            Some(last) if arrivals.len() as i64 == page => {
                query.received_after = last.received_at;
                query.after_seq = last.seq;
            }
            _ => break,
        }
    }
    let mut rewritten = Vec::new();
    for w in stored.iter().filter(|w| stale.contains(&w.index)) {
        let rows = windows::rows_of(store, model, version, w, settings).await?;
        let fresh = compute::rescored(w, &rows, settings);
        let changed = (fresh.labeled_rows, &fresh.performance, fresh.labels_through)
            != (w.labeled_rows, &w.performance, w.labels_through);
        if changed && store.rescore_window(&fresh).await? {
            rewritten.push(fresh);
        }
    }
    Ok(rewritten)
}
