//! Monitoring windows as the monitoring and deployments pages read them.
//!
//! The store keeps a window's drift and performance as JSON text it never
//! interprets (`lathe_store::MonitoringWindow`); the monitoring job in
//! `lathe server` writes them. This module is the UI's one reader of that
//! shape, so a missing or malformed field shows as "no value", never as an
//! error page: an old window must not make a model's page unreadable.

use std::collections::BTreeMap;

use lathe_store::MonitoringWindow;
use serde::{de::IgnoredAny, Deserialize};
use serde_json::Value;

/// The performance metrics a window records once labels arrive, in display order.
pub(crate) const METRICS: [&str; 4] = ["accuracy", "f1", "roc_auc", "log_loss"];

/// One column's drift verdict in one window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    /// The p-value the verdict compared with the threshold (Holm-adjusted
    /// when the window has one, else the raw score).
    pub(crate) p: f64,
    /// Whether the column drifted.
    pub(crate) drift: bool,
    /// The test that gave it.
    pub(crate) method: String,
}

/// Serving latency of a window, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Latency {
    /// Median.
    pub(crate) p50: f64,
    /// 99th percentile.
    pub(crate) p99: f64,
}

/// One stored window with its JSON read.
#[derive(Debug, Clone)]
pub(crate) struct View<'a> {
    /// The window as stored.
    pub(crate) w: &'a MonitoringWindow,
    /// Per feature, by name.
    pub(crate) columns: BTreeMap<String, Verdict>,
    /// The prediction's drift.
    pub(crate) prediction: Option<Verdict>,
    /// Share of drifted features.
    pub(crate) drift_share: Option<f64>,
    /// The dataset-drift verdict.
    pub(crate) dataset_drift: Option<bool>,
    /// Why the window has no verdict or no metrics (e.g. too few rows).
    pub(crate) notes: Vec<String>,
    /// [`METRICS`] in order, where the window has them.
    pub(crate) metrics: [Option<f64>; 4],
    /// Serving latency, when recorded.
    pub(crate) latency: Option<Latency>,
}

impl<'a> View<'a> {
    /// Reads `w`'s drift and performance JSON, every feature's verdict included.
    pub(crate) fn of(w: &'a MonitoringWindow) -> View<'a> {
        let drift: DriftJson<BTreeMap<String, VerdictJson>> =
            serde_json::from_str(&w.drift).unwrap_or_default();
        let columns = drift
            .columns
            .iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.verdict()?)))
            .collect();
        View { columns, ..View::read(w, drift) }
    }

    /// Reads `w` without its per-feature verdicts, which are most of its
    /// text: what the charts over every window need.
    pub(crate) fn summary(w: &'a MonitoringWindow) -> View<'a> {
        let drift: DriftJson<IgnoredAny> = serde_json::from_str(&w.drift).unwrap_or_default();
        View::read(w, drift)
    }

    fn read<C>(w: &'a MonitoringWindow, drift: DriftJson<C>) -> View<'a> {
        let perf: PerfJson = serde_json::from_str(&w.performance).unwrap_or_default();
        let latency = perf.latency_ms.and_then(|l| Some(Latency { p50: l.p50?, p99: l.p99? }));
        View {
            w,
            columns: BTreeMap::new(),
            prediction: drift.prediction.as_ref().and_then(VerdictJson::verdict),
            drift_share: drift.drift_share,
            dataset_drift: drift.dataset_drift,
            notes: [drift.note, perf.note].into_iter().flatten().collect(),
            metrics: [perf.accuracy, perf.f1, perf.roc_auc, perf.log_loss],
            latency,
        }
    }
}

/// The parts of a window's drift JSON the pages read; `C` is the map of
/// per-feature verdicts, or [`IgnoredAny`] to skip over it unread. A field
/// of the wrong type makes the whole text read as empty.
#[derive(Deserialize)]
struct DriftJson<C> {
    columns: Option<C>,
    prediction: Option<VerdictJson>,
    drift_share: Option<f64>,
    dataset_drift: Option<bool>,
    note: Option<String>,
}

impl<C> Default for DriftJson<C> {
    fn default() -> Self {
        DriftJson {
            columns: None,
            prediction: None,
            drift_share: None,
            dataset_drift: None,
            note: None,
        }
    }
}

/// One column's verdict as `lathe_monitor` writes it.
#[derive(Deserialize)]
struct VerdictJson {
    score: Option<f64>,
    adjusted_score: Option<f64>,
    drift: Option<bool>,
    method: Option<String>,
}

impl VerdictJson {
    fn verdict(&self) -> Option<Verdict> {
        Some(Verdict {
            p: self.adjusted_score.or(self.score)?,
            drift: self.drift.unwrap_or(false),
            method: self.method.clone().unwrap_or_default(),
        })
    }
}

/// A window's performance JSON (metrics are `null` where undefined).
#[derive(Deserialize, Default)]
struct PerfJson {
    accuracy: Option<f64>,
    f1: Option<f64>,
    roc_auc: Option<f64>,
    log_loss: Option<f64>,
    latency_ms: Option<LatencyJson>,
    note: Option<String>,
}

#[derive(Deserialize)]
struct LatencyJson {
    p50: Option<f64>,
    p99: Option<f64>,
}

/// One bin of a drift test: label, reference count, window count.
pub(crate) type Bin = (String, f64, f64);

/// One column's bins in one window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Distribution {
    /// The feature, or `prediction`.
    pub(crate) name: String,
    /// Whether it drifted in that window.
    pub(crate) drifted: bool,
    /// The bins its test used.
    pub(crate) bins: Vec<Bin>,
}

/// Each feature's bins in `w`, drifted features first, then by name; the
/// prediction's last, as `prediction`.
pub(crate) fn distributions(w: &MonitoringWindow) -> Vec<Distribution> {
    let drift: Value = serde_json::from_str(&w.drift).unwrap_or(Value::Null);
    let bins = |v: &Value| -> Vec<Bin> {
        v["bins"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| {
                let label = match &b[0] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Some((label, b[1].as_f64()?, b[2].as_f64()?))
            })
            .collect()
    };
    let mut out: Vec<Distribution> = drift["columns"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, c)| Distribution {
            name: name.clone(),
            drifted: c["drift"] == true,
            bins: bins(c),
        })
        .filter(|d| !d.bins.is_empty())
        .collect();
    out.sort_by(|a, b| b.drifted.cmp(&a.drifted).then_with(|| a.name.cmp(&b.name)));
    let prediction = bins(&drift["prediction"]);
    if !prediction.is_empty() {
        out.push(Distribution {
            name: "prediction".into(),
            drifted: drift["prediction"]["drift"] == true,
            bins: prediction,
        });
    }
    out
}

/// One series of windows: one version, one way of cutting them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SeriesKey {
    /// The model version.
    pub(crate) version: i64,
    /// How the windows are cut (`count:500`, `time:3600000`).
    pub(crate) kind: String,
}

/// The windows grouped by series, each in index order.
pub(crate) fn by_series(
    windows: &[MonitoringWindow],
) -> BTreeMap<SeriesKey, Vec<&MonitoringWindow>> {
    let mut out: BTreeMap<SeriesKey, Vec<&MonitoringWindow>> = BTreeMap::new();
    for w in windows {
        out.entry(SeriesKey { version: w.model_version, kind: w.kind.clone() })
            .or_default()
            .push(w);
    }
    for list in out.values_mut() {
        list.sort_by_key(|w| w.index);
    }
    out
}

/// How long before the newest window a series must have a window to count as current.
const CURRENT_MS: i64 = 3_600_000;

/// The series shown when the URL names none: among the series still
/// current (a window ending within [`CURRENT_MS`] of the newest), the one
/// with the most windows, i.e. the version taking most traffic rather than
/// a canary beside it or a version retired long ago.
pub(crate) fn default_series<'k>(
    series: &'k BTreeMap<SeriesKey, Vec<&MonitoringWindow>>,
) -> Option<&'k SeriesKey> {
    let last = |ws: &[&MonitoringWindow]| ws.last().map_or(i64::MIN, |w| w.end_time);
    let newest = series.values().map(|ws| last(ws)).max()?;
    series
        .iter()
        .filter(|(_, ws)| last(ws) >= newest.saturating_sub(CURRENT_MS))
        .max_by_key(|(k, ws)| (ws.len(), last(ws), std::cmp::Reverse(k.version)))
        .map(|(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(version: i64, index: i64, end: i64) -> MonitoringWindow {
        MonitoringWindow {
            model_version: version,
            kind: "count:100".into(),
            index,
            end_time: end,
            ..MonitoringWindow::default()
        }
    }

    #[test]
    fn reads_verdicts_metrics_and_latency_and_tolerates_junk() {
        let mut w = window(1, 0, 10);
        w.drift = r#"{"dataset_drift":true,"drift_share":0.5,
            "columns":{"age":{"adjusted_score":0.001,"score":0.0005,"drift":true,"method":"binned_chisquare"},
                       "bmi":{"score":0.4,"drift":false}},
            "prediction":{"adjusted_score":0.2,"drift":false}}"#
            .into();
        w.performance =
            r#"{"accuracy":0.9,"roc_auc":0.95,"latency_ms":{"p50":1.5,"p99":9.0}}"#.into();
        let v = View::of(&w);
        assert_eq!(v.columns["age"].p, 0.001);
        assert!(v.columns["age"].drift);
        assert_eq!(v.columns["bmi"].p, 0.4);
        assert_eq!(v.prediction.as_ref().map(|p| p.p), Some(0.2));
        assert_eq!(v.metrics, [Some(0.9), None, Some(0.95), None]);
        assert_eq!(v.latency, Some(Latency { p50: 1.5, p99: 9.0 }));
        assert_eq!(v.dataset_drift, Some(true));
        let light = View::summary(&w);
        assert!(light.columns.is_empty());
        assert_eq!(
            (light.prediction, light.drift_share, light.metrics),
            (v.prediction, v.drift_share, v.metrics)
        );

        assert!(distributions(&w).is_empty());
        w.drift = r#"{"columns":{"a":{"drift":false,"bins":[["x",3,1]]},
            "b":{"drift":true,"bins":[["[0, 1)",2,5],[7,1,1]]}},"prediction":{"bins":[]}}"#
            .into();
        let d = distributions(&w);
        let bins = vec![("[0, 1)".to_string(), 2.0, 5.0), ("7".to_string(), 1.0, 1.0)];
        assert_eq!(d[0], Distribution { name: "b".into(), drifted: true, bins });
        assert_eq!(d[1].name, "a");
        assert_eq!(d.len(), 2);

        w.drift = "not json".into();
        w.performance = r#"{"note":"3 labeled rows, fewer than the minimum"}"#.into();
        let v = View::of(&w);
        assert!(v.columns.is_empty() && v.prediction.is_none() && v.latency.is_none());
        assert_eq!(View::summary(&w).notes, v.notes);
        assert_eq!(v.notes, vec!["3 labeled rows, fewer than the minimum".to_string()]);
    }

    #[test]
    fn the_default_series_is_the_busiest_current_one() {
        let h = CURRENT_MS;
        // v1 answers most; v2 is a canary whose window ended last; v3 was
        // retired long ago with more windows than anyone.
        let mut ws = vec![window(1, 1, 5 * h), window(1, 0, 4 * h), window(2, 0, 5 * h + 1)];
        ws.extend((0..5).map(|i| window(3, i, i)));
        let series = by_series(&ws);
        assert_eq!(series[&SeriesKey { version: 1, kind: "count:100".into() }][0].index, 0);
        assert_eq!(default_series(&series).map(|k| k.version), Some(1));
        assert_eq!(default_series(&BTreeMap::new()), None);
    }
}
