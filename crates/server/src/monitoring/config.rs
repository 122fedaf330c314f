//! The monitoring section of `lathe server --config lathe.toml`:
//!
//! ```toml
//! [monitoring]
//! window = "500"          # predictions per window, or a duration: "1h"
//! min_rows = 100          # fewer rows: insufficient data, no verdict
//! interval_seconds = 30   # how often the job looks for new windows
//! threshold = 0.05        # significance of the drift tests
//!
//! [[alerts]]
//! rule = "feature_drift(age)"  # dataset_drift, prediction_drift, feature_drift(NAME),
//! model = "churn"              # metric_below(METRIC, VALUE), metric_above(METRIC, VALUE),
//!                              # latency_p99_above(5ms), prediction_log_drops_above(N)
//! trigger = "retrain"          # optional: rerun the project's pipeline on reference + labelled production data
//!
//! [webhooks]
//! urls = ["https://hooks.example.com/lathe"]
//! allowed_hosts = ["hooks.example.com"]
//! serve_metrics = ["http://10.0.0.5:8080/metrics"]  # for prediction_log_drops_above
//! ```

use std::str::FromStr;

use serde::Deserialize;

use super::{MonitorError, Result, WindowSettings, WindowSpec};

/// The parsed monitoring configuration.
#[derive(Debug, Clone, Default)]
pub struct MonitoringConfig {
    /// How windows are cut and judged.
    pub windows: WindowSettings,
    /// Seconds between passes of the job.
    pub interval_seconds: u64,
    /// Alert rules.
    pub alerts: Vec<AlertRule>,
    /// Webhook targets, checked against `allowed_hosts`.
    pub webhooks: Vec<String>,
    /// Hosts webhooks may reach.
    pub allowed_hosts: Vec<String>,
    /// `/metrics` URLs of `lathe serve` replicas, read for prediction-log drops.
    pub serve_metrics: Vec<String>,
}

/// One alert rule on one model (or all models).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// The condition.
    pub condition: Condition,
    /// The model it watches; every model in the log when `None`.
    pub model: Option<String>,
    /// The rule as written, its name in the store.
    pub text: String,
    /// What firing sets off besides webhooks.
    pub trigger: Option<Trigger>,
}

/// What an alert starts when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Retrain through the `lathe.toml` pipeline the server was started with.
    Retrain,
}

/// What an alert rule watches.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The latest window's dataset drift verdict.
    DatasetDrift,
    /// The latest window's prediction drift verdict.
    PredictionDrift,
    /// The latest window's verdict on one feature.
    FeatureDrift(String),
    /// The latest window with metrics has `metric` below `value`.
    MetricBelow(String, f64),
    /// The latest window with metrics has `metric` (an error or loss) above `value`.
    MetricAbove(String, f64),
    /// The serve replicas' prediction-log drops exceed `n`.
    DropsAbove(u64),
    /// The latest window's 99th-percentile serving latency is above this many milliseconds.
    LatencyP99Above(f64),
}

impl FromStr for Condition {
    type Err = MonitorError;

    fn from_str(s: &str) -> Result<Condition> {
        let bad = |why: &str| MonitorError::Config(format!("alert rule '{s}': {why}"));
        let s = s.trim();
        let (name, args) = match s.split_once('(') {
            Some((name, rest)) => {
                let args = rest.strip_suffix(')').ok_or_else(|| bad("missing ')'"))?;
                (name.trim(), args.split(',').map(str::trim).collect::<Vec<_>>())
            }
            None => (s, Vec::new()),
        };
        match (name, args.as_slice()) {
            ("dataset_drift", []) => Ok(Condition::DatasetDrift),
            ("prediction_drift", []) => Ok(Condition::PredictionDrift),
            ("feature_drift", [feature]) if !feature.is_empty() => {
                Ok(Condition::FeatureDrift((*feature).to_string()))
            }
            ("metric_below", [metric, value]) => {
                const METRICS: [&str; 7] =
                    ["accuracy", "precision", "recall", "f1", "roc_auc", "f1_macro", "r2"];
                if !METRICS.contains(metric) {
                    return Err(bad(&format!("metric must be one of {}", METRICS.join(", "))));
                }
                let v: f64 = value.parse().map_err(|_| bad("the value must be a number"))?;
                Ok(Condition::MetricBelow((*metric).to_string(), v))
            }
            ("metric_above", [metric, value]) => {
                const METRICS: [&str; 4] = ["log_loss", "brier", "mae", "rmse"];
                if !METRICS.contains(metric) {
                    return Err(bad(&format!("metric must be one of {}", METRICS.join(", "))));
                }
                let v: f64 = value.parse().map_err(|_| bad("the value must be a number"))?;
                Ok(Condition::MetricAbove((*metric).to_string(), v))
            }
            ("latency_p99_above", [limit]) => {
                let ms = match limit.strip_suffix("ms") {
                    Some(ms) => ms.trim().parse::<f64>().ok(),
                    None => limit
                        .strip_suffix('s')
                        .and_then(|s| s.trim().parse::<f64>().ok())
                        .map(|s| s * 1000.0),
                };
                match ms {
                    Some(ms) if ms.is_finite() && ms > 0.0 => Ok(Condition::LatencyP99Above(ms)),
                    _ => Err(bad("expected a duration such as 5ms or 0.5s")),
                }
            }
            ("prediction_log_drops_above", [n]) => {
                Ok(Condition::DropsAbove(n.parse().map_err(|_| bad("expected a whole number"))?))
            }
            _ => Err(bad("expected dataset_drift, prediction_drift, feature_drift(NAME), \
                 metric_below(METRIC, VALUE), metric_above(METRIC, VALUE), \
                 latency_p99_above(DURATION) or prediction_log_drops_above(N)")),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    // A pipeline's `lathe.toml` declares these too; `lathe run` checks them.
    #[serde(default)]
    project: Option<toml::Value>,
    #[serde(default, rename = "data")]
    _data: Option<toml::Value>,
    #[serde(default)]
    steps: Option<toml::Value>,
    #[serde(default)]
    monitoring: Option<Monitoring>,
    #[serde(default)]
    alerts: Vec<Rule>,
    #[serde(default)]
    webhooks: Option<Webhooks>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Monitoring {
    // `[monitoring.columns.NAME]`: read by `columns::parse`.
    #[serde(default, rename = "columns")]
    _columns: Option<toml::Table>,
    window: Option<String>,
    min_rows: Option<i64>,
    interval_seconds: Option<u64>,
    threshold: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    rule: String,
    model: Option<String>,
    trigger: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Webhooks {
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    allowed_hosts: Vec<String>,
    #[serde(default)]
    serve_metrics: Vec<String>,
}

impl MonitoringConfig {
    /// Parses the TOML text of a config file; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<MonitoringConfig> {
        let file: File = toml::from_str(text)
            .map_err(|e| MonitorError::Config(format!("{source}: {}", e.to_string().trim())))?;
        let mut config = MonitoringConfig { interval_seconds: 30, ..MonitoringConfig::default() };
        if let Some(m) = file.monitoring {
            if let Some(w) = m.window {
                config.windows.spec = w.parse::<WindowSpec>()?;
            }
            if let Some(n) = m.min_rows {
                config.windows.min_rows = n.max(1);
            }
            if let Some(t) = m.threshold {
                if !(t > 0.0 && t < 1.0) {
                    return Err(MonitorError::Config(format!(
                        "{source}: monitoring.threshold must be in (0, 1), got {t}"
                    )));
                }
                config.windows.threshold = t;
            }
            config.interval_seconds = m.interval_seconds.unwrap_or(30).max(1);
        }
        config.windows.columns = super::columns::parse(text, source)?;
        let pipeline = file.project.is_some() && file.steps.is_some();
        for r in file.alerts {
            let condition = r.rule.parse()?;
            let trigger = match r.trigger.as_deref() {
                None => None,
                Some("retrain") if pipeline => Some(Trigger::Retrain),
                Some("retrain") => {
                    return Err(MonitorError::Config(format!(
                        "{source}: alert '{}': trigger = \"retrain\" needs the pipeline ([project] and [steps.*]) in the same file",
                        r.rule
                    )))
                }
                Some(other) => {
                    return Err(MonitorError::Config(format!(
                        "{source}: alert '{}': trigger must be \"retrain\", got {other:?}",
                        r.rule
                    )))
                }
            };
            config.alerts.push(AlertRule {
                condition,
                model: r.model,
                text: r.rule.trim().into(),
                trigger,
            });
        }
        if let Some(w) = file.webhooks {
            config.allowed_hosts = w.allowed_hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
            for url in &w.urls {
                super::alerts::check_target(url, &config.allowed_hosts)?;
            }
            config.webhooks = w.urls;
            config.serve_metrics = w.serve_metrics;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_bad_ones_say_why() {
        assert_eq!("dataset_drift".parse::<Condition>().unwrap(), Condition::DatasetDrift);
        assert_eq!(
            "feature_drift( age )".parse::<Condition>().unwrap(),
            Condition::FeatureDrift("age".into())
        );
        assert_eq!(
            "metric_below(f1, 0.8)".parse::<Condition>().unwrap(),
            Condition::MetricBelow("f1".into(), 0.8)
        );
        assert_eq!(
            "metric_above(rmse, 12.5)".parse::<Condition>().unwrap(),
            Condition::MetricAbove("rmse".into(), 12.5)
        );
        assert_eq!(
            "latency_p99_above(5ms)".parse::<Condition>().unwrap(),
            Condition::LatencyP99Above(5.0)
        );
        assert_eq!(
            "latency_p99_above(0.25s)".parse::<Condition>().unwrap(),
            Condition::LatencyP99Above(250.0)
        );
        assert_eq!(
            "prediction_log_drops_above(0)".parse::<Condition>().unwrap(),
            Condition::DropsAbove(0)
        );
        for (bad, why) in [
            ("feature_drift()", "expected"),
            ("metric_below(mse, 1)", "metric must be"),
            ("metric_above(roc_auc, 1)", "metric must be"),
            ("metric_below(f1, x)", "must be a number"),
            ("latency_p99_above(fast)", "a duration such as 5ms"),
            ("latency_p99_above(-1ms)", "a duration such as 5ms"),
            ("dataset_drift(", "missing ')'"),
            ("latency", "expected"),
        ] {
            let e = bad.parse::<Condition>().unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn a_config_file() {
        let text = r#"
            [monitoring]
            window = "1h"
            min_rows = 50
            [[alerts]]
            rule = "metric_below(f1, 0.8)"
            model = "churn"
            [webhooks]
            urls = ["http://127.0.0.1:9/hook"]
            allowed_hosts = ["127.0.0.1"]
        "#;
        let c = MonitoringConfig::parse(text, "lathe.toml").unwrap();
        assert_eq!(c.windows.spec, WindowSpec::Time(3_600_000));
        assert_eq!((c.windows.min_rows, c.interval_seconds), (50, 30));
        assert_eq!(c.alerts[0].model.as_deref(), Some("churn"));
        let e = MonitoringConfig::parse("[monitoring]\nwindoww = 3", "x.toml").unwrap_err();
        assert!(e.to_string().starts_with("x.toml:"), "{e}");
        let e = MonitoringConfig::parse(
            "[webhooks]\nurls = [\"http://evil.example/\"]\nallowed_hosts = [\"ok.example\"]",
            "x.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("not in webhooks.allowed_hosts"), "{e}");
    }
}
