//! Tumbling windows over each model version's prediction log, computed
//! once each and stored.
//!
//! **Count windows** (`500`) hold the next N predictions of a version in log
//! order; the last stored window's `last_seq` is the cursor, so a pass reads
//! only what arrived since, and a window is cut only when it is full.
//! **Time windows** (`1h`) hold the predictions whose time falls in
//! `[k·width, (k+1)·width)`; window k is computed once its end is more than
//! a grace period in the past (rows are logged asynchronously, a little
//! late), and every closed window is stored, empty ones included, so a gap
//! in traffic shows as "insufficient data" rather than as nothing. A window
//! below the minimum row count is stored as `insufficient_data` with no
//! drift verdict: too few rows never raise a false alarm.

use std::{collections::BTreeMap, str::FromStr, sync::Arc};

use lathe_monitor::{ColumnOverride, ReferenceProfile};
use lathe_store::{ArtifactStore, LoggedPrediction, MonitoringWindow, PredictionQuery, Store};
use tokio::io::AsyncReadExt;

use super::{compute, late, MonitorError, Result};

/// The model version tag that names the stored reference profile.
pub const PROFILE_TAG: &str = "lathe.reference_profile";

/// Largest reference profile read.
const MAX_PROFILE_BYTES: u64 = 64 * 1024 * 1024;

/// The most rows a time window is judged on; larger windows use their first rows.
const MAX_TIME_WINDOW_ROWS: i64 = 1_000_000;

/// How windows are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSpec {
    /// Every N predictions.
    Count(i64),
    /// Every so many milliseconds.
    Time(i64),
}

impl WindowSpec {
    /// The stored kind, e.g. `count:500` or `time:3600000`.
    pub fn kind(&self) -> String {
        match self {
            WindowSpec::Count(n) => format!("count:{n}"),
            WindowSpec::Time(ms) => format!("time:{ms}"),
        }
    }
}

impl FromStr for WindowSpec {
    type Err = MonitorError;

    /// `500` (predictions) or a duration: `90s`, `15m`, `1h`, `1d`.
    fn from_str(s: &str) -> Result<WindowSpec> {
        let bad = || {
            MonitorError::Config(format!(
                "window '{s}': expected a number of predictions (500) or a duration (30s, 15m, 1h, 1d)"
            ))
        };
        let s = s.trim();
        if let Ok(n) = s.parse::<i64>() {
            return if n > 0 { Ok(WindowSpec::Count(n)) } else { Err(bad()) };
        }
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (number, unit) = s.split_at(split);
        let n: i64 = number.parse().map_err(|_| bad())?;
        let unit_ms = match unit {
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        if n <= 0 {
            return Err(bad());
        }
        n.checked_mul(unit_ms).map(WindowSpec::Time).ok_or_else(bad)
    }
}

/// How windows are cut and judged.
#[derive(Debug, Clone)]
pub struct WindowSettings {
    /// Count or time windows.
    pub spec: WindowSpec,
    /// Fewer rows than this: `insufficient_data`, no verdict.
    pub min_rows: i64,
    /// Significance level of the drift tests (after correction).
    pub threshold: f64,
    /// Share of drifted features at which the dataset drifts.
    pub drift_share: f64,
    /// How long after its end a time window waits for late log rows.
    pub grace_ms: i64,
    /// Rows per read of the log when collecting a time window.
    pub page_rows: i64,
    /// Per-feature overrides of the drift test and threshold
    /// (`[monitoring.columns.NAME]`, parsed by [`super::columns::parse`]).
    pub columns: BTreeMap<String, ColumnOverride>,
}

impl Default for WindowSettings {
    /// Windows of 500 predictions, at least 100 rows, 0.05, 0.5, 10 s, pages
    /// of 50,000, no column override.
    fn default() -> WindowSettings {
        WindowSettings {
            spec: WindowSpec::Count(500),
            min_rows: 100,
            threshold: 0.05,
            drift_share: 0.5,
            grace_ms: 10_000,
            page_rows: 50_000,
            columns: BTreeMap::new(),
        }
    }
}

/// Reads the reference profile tagged on a model version; `None` when it has none.
pub async fn reference_profile(
    store: &dyn Store,
    artifacts: &dyn ArtifactStore,
    model: &str,
    version: i64,
) -> Result<Option<ReferenceProfile>> {
    let mv = store.get_model_version(model, version).await?;
    let Some(tag) = mv.tags.iter().find(|t| t.key == PROFILE_TAG) else { return Ok(None) };
    let problem =
        |reason: String| MonitorError::Profile { model: model.to_string(), version, reason };
    let path = tag
        .value
        .strip_prefix("mlflow-artifacts:")
        .map(|p| p.trim_start_matches('/'))
        .ok_or_else(|| problem(format!("{} is not an mlflow-artifacts:/ URI", tag.value)))?;
    let (stream, _) = artifacts.get(path).await?;
    let mut bytes = Vec::new();
    stream
        .take(MAX_PROFILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| problem(format!("cannot read {path}: {e}")))?;
    if bytes.len() as u64 > MAX_PROFILE_BYTES {
        return Err(problem(format!("{path} is larger than 64 MiB")));
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|e| problem(format!("{path}: {e}")))
}

/// Computes and stores every window of one version that is complete and
/// not yet stored, and rescores the stored ones that labels arrived for
/// since they were scored ([`super::late`]); returns every window written:
/// the rescored ones first, then the new ones.
pub async fn update_version(
    store: &dyn Store,
    artifacts: &dyn ArtifactStore,
    model: &str,
    version: i64,
    settings: &WindowSettings,
    now: i64,
) -> Result<Vec<MonitoringWindow>> {
    let kind = settings.spec.kind();
    let stored = store.list_windows(model, Some(version)).await?;
    let of_kind: Vec<&MonitoringWindow> = stored.iter().filter(|w| w.kind == kind).collect();
    let last = of_kind.last().copied();
    let mut fresh = late::rescore(store, model, version, &of_kind, settings).await?;
    let profile = reference_profile(store, artifacts, model, version).await?;
    let query = |after_seq, limit| PredictionQuery {
        model_name: model.to_string(),
        model_version: version,
        after_seq,
        limit,
        ..PredictionQuery::default()
    };
    match settings.spec {
        WindowSpec::Count(n) => {
            let mut after = last.map_or(0, |w| w.last_seq);
            let mut index = last.map_or(0, |w| w.index + 1);
            loop {
                let rows = store.read_predictions(&query(after, n)).await?;
                if (rows.len() as i64) < n {
                    break;
                }
                let start = rows.first().map_or(0, |r| r.record.timestamp);
                let end = rows.last().map_or(0, |r| r.record.timestamp);
                let cut = compute::Cut { model, version, kind: &kind, index, span: (start, end) };
                let w = compute::window(&cut, &rows, profile.as_ref(), settings, now);
                after = w.last_seq;
                index += 1;
                if store.put_window(&w).await? {
                    fresh.push(w);
                }
            }
        }
        WindowSpec::Time(width) => {
            let summary = store.prediction_log_summary(Some(model)).await?;
            let Some(log) = summary.iter().find(|s| s.model_version == version) else {
                return Ok(fresh);
            };
            let mut index = last.map_or(log.first_time.div_euclid(width), |w| w.index + 1);
            while (index + 1) * width + settings.grace_ms <= now {
                let (start, end) = (index * width, (index + 1) * width);
                let rows = time_rows(store, model, version, (start, end), settings).await?;
                let cut = compute::Cut { model, version, kind: &kind, index, span: (start, end) };
                let w = compute::window(&cut, &rows, profile.as_ref(), settings, now);
                index += 1;
                if store.put_window(&w).await? {
                    fresh.push(w);
                }
            }
        }
    }
    Ok(fresh)
}

/// The logged rows of a time window `[start, end)`, read in pages, at most
/// [`MAX_TIME_WINDOW_ROWS`].
async fn time_rows(
    store: &dyn Store,
    model: &str,
    version: i64,
    (start, end): (i64, i64),
    settings: &WindowSettings,
) -> Result<Vec<LoggedPrediction>> {
    let page = settings.page_rows.clamp(1, 100_000);
    let mut rows: Vec<LoggedPrediction> = Vec::new();
    loop {
        let q = PredictionQuery {
            model_name: model.to_string(),
            model_version: version,
            after_seq: rows.last().map_or(0, |r| r.seq),
            from_time: Some(start),
            to_time: Some(end),
            limit: page,
        };
        let got = store.read_predictions(&q).await?;
        let full = got.len() as i64 == page;
        rows.extend(got);
        if !full || rows.len() as i64 >= MAX_TIME_WINDOW_ROWS {
            break;
        }
    }
    if rows.len() as i64 >= MAX_TIME_WINDOW_ROWS {
        // Memory stays bounded: a larger window is judged on its first rows.
        tracing::warn!(
            "{model} v{version} window at {start}: more than {MAX_TIME_WINDOW_ROWS} \
             predictions; the first {MAX_TIME_WINDOW_ROWS} are used"
        );
    }
    Ok(rows)
}

/// The logged rows of a stored window, read again (with their labels as
/// they are now) to rescore it.
pub(crate) async fn rows_of(
    store: &dyn Store,
    model: &str,
    version: i64,
    w: &MonitoringWindow,
    settings: &WindowSettings,
) -> Result<Vec<LoggedPrediction>> {
    match settings.spec {
        WindowSpec::Count(_) if w.rows > 0 => {
            let q = PredictionQuery {
                model_name: model.to_string(),
                model_version: version,
                after_seq: w.first_seq - 1,
                limit: w.rows,
                ..PredictionQuery::default()
            };
            Ok(store.read_predictions(&q).await?)
        }
        WindowSpec::Count(_) => Ok(Vec::new()),
        WindowSpec::Time(_) => {
            time_rows(store, model, version, (w.start_time, w.end_time), settings).await
        }
    }
}

/// [`update_version`] for every model version in the prediction log.
pub async fn update_all(
    store: &dyn Store,
    artifacts: &dyn ArtifactStore,
    settings: &WindowSettings,
    now: i64,
) -> Result<Vec<MonitoringWindow>> {
    let mut fresh = Vec::new();
    for log in store.prediction_log_summary(None).await? {
        match update_version(store, artifacts, &log.model_name, log.model_version, settings, now)
            .await
        {
            Ok(w) => fresh.extend(w),
            // One bad version (a deleted model, an unreadable profile) must
            // not stop the others.
            Err(e) => tracing::warn!("monitoring {} v{}: {e}", log.model_name, log.model_version),
        }
    }
    Ok(fresh)
}

/// Runs [`update_all`] every `interval`, then `after_pass` (alerts).
pub fn spawn<F, Fut>(
    store: Arc<dyn Store>,
    artifacts: Arc<dyn ArtifactStore>,
    settings: WindowSettings,
    interval: std::time::Duration,
    mut after_pass: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut(Vec<MonitoringWindow>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = lathe_core::now_millis();
            match update_all(store.as_ref(), artifacts.as_ref(), &settings, now).await {
                Ok(fresh) => after_pass(fresh).await,
                Err(e) => tracing::warn!("monitoring pass failed: {e}"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_specs() {
        assert_eq!("500".parse::<WindowSpec>().unwrap(), WindowSpec::Count(500));
        assert_eq!("1h".parse::<WindowSpec>().unwrap(), WindowSpec::Time(3_600_000));
        assert_eq!("15m".parse::<WindowSpec>().unwrap(), WindowSpec::Time(900_000));
        assert_eq!("30s".parse::<WindowSpec>().unwrap().kind(), "time:30000");
        for bad in ["0", "-5", "1x", "h", "", "0h"] {
            assert!(bad.parse::<WindowSpec>().is_err(), "{bad}");
        }
    }
}
