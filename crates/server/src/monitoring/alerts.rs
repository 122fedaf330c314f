//! Alert rules over the latest monitoring windows, and their delivery to
//! webhooks.
//!
//! After each pass of the window job every rule is evaluated per model on
//! the model's latest window with a verdict. A true condition opens an
//! episode unless one is firing ([`Store::fire_alert`] is atomic, so an
//! alert fires once per episode and never storms); a false one resolves the
//! firing episode; a window without a verdict (insufficient data) changes
//! nothing. Each transition is POSTed as JSON to every webhook, retried with
//! exponential backoff, and every delivery is recorded with its attempts.
//!
//! **Webhook safety.** A target must be http(s) on a host listed in
//! `webhooks.allowed_hosts`; the host is resolved at delivery, and the
//! request is refused when any address is link-local (169.254.0.0/16, where
//! cloud metadata services answer, or fe80::/10) or the host is a metadata
//! name. The connection goes to the address that was checked (no second
//! lookup to rebind) and redirects are not followed.

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use lathe_store::{AlertDelivery, AlertEpisode, MonitoringWindow, Store};
use reqwest::Url;
use serde_json::{json, Value};

use super::{
    config::{AlertRule, Condition, MonitoringConfig},
    MonitorError, Result,
};

/// Hosts refused whatever the allow-list says.
const METADATA_HOSTS: [&str; 2] = ["metadata.google.internal", "metadata"];

/// Attempts per delivery.
const ATTEMPTS: i64 = 4;

/// Checks a webhook URL against the allow-list and the refused hosts.
pub fn check_target(url: &str, allowed_hosts: &[String]) -> Result<Url> {
    let bad = |why: String| MonitorError::Config(format!("webhook {url}: {why}"));
    let parsed = Url::parse(url).map_err(|e| bad(format!("not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("only http and https are allowed".into()));
    }
    let host = parsed.host_str().ok_or_else(|| bad("no host".into()))?.to_ascii_lowercase();
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.');
    if METADATA_HOSTS.contains(&host) {
        return Err(bad("metadata addresses are refused".into()));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        if refused(ip) {
            return Err(bad("link-local addresses are refused".into()));
        }
    }
    if !allowed_hosts.iter().any(|h| h.trim_end_matches('.') == host) {
        return Err(bad(format!("host '{host}' is not in webhooks.allowed_hosts")));
    }
    Ok(parsed)
}

/// Link-local addresses: 169.254.0.0/16 (cloud metadata), fe80::/10, and
/// IPv4-mapped IPv6 forms of the former.
fn refused(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_link_local())
        }
    }
}

/// Evaluates every rule and delivers what changed; returns the transitions
/// (`fired` or `resolved`, episode).
pub async fn evaluate(
    store: &dyn Store,
    config: &MonitoringConfig,
    now: i64,
) -> Result<Vec<(&'static str, AlertEpisode)>> {
    let mut changes = Vec::new();
    let mut all_models: Option<Vec<String>> = None;
    for rule in &config.alerts {
        let models = match (&rule.model, &rule.condition) {
            (Some(m), _) => vec![m.clone()],
            (None, Condition::DropsAbove(_)) => vec!["serve".to_string()],
            (None, _) => {
                if all_models.is_none() {
                    let mut names: Vec<String> = store
                        .prediction_log_summary(None)
                        .await?
                        .into_iter()
                        .map(|s| s.model_name)
                        .collect();
                    names.dedup();
                    all_models = Some(names);
                }
                all_models.clone().unwrap_or_default()
            }
        };
        for model in models {
            let Some((holds, detail)) = condition(store, config, rule, &model).await? else {
                continue;
            };
            let change = if holds {
                store
                    .fire_alert(&rule.text, &model, &detail.to_string(), now)
                    .await?
                    .map(|e| ("fired", e))
            } else {
                store.resolve_alert(&rule.text, &model, now).await?.map(|e| ("resolved", e))
            };
            if let Some((event, episode)) = change {
                tracing::warn!("alert {event}: {} on {model}", rule.text);
                deliver(store, config, event, &episode).await?;
                changes.push((event, episode));
            }
        }
    }
    Ok(changes)
}

/// Whether `rule` holds for `model` now, with the evidence; `None` when
/// nothing can be said (no window with a verdict yet).
async fn condition(
    store: &dyn Store,
    config: &MonitoringConfig,
    rule: &AlertRule,
    model: &str,
) -> Result<Option<(bool, Value)>> {
    if let Condition::DropsAbove(limit) = rule.condition {
        let mut dropped = 0;
        for url in &config.serve_metrics {
            match serve_drops(url).await {
                Ok(n) => dropped += n,
                Err(e) => tracing::warn!("cannot read {url}: {e}"),
            }
        }
        return Ok(Some((dropped > limit, json!({ "dropped": dropped, "limit": limit }))));
    }
    let kind = config.windows.spec.kind();
    let mut windows: Vec<MonitoringWindow> = store
        .list_windows(model, None)
        .await?
        .into_iter()
        .filter(|w| w.kind == kind && w.status == "ok")
        .collect();
    windows.sort_by_key(|w| (w.end_time, w.model_version, w.index));
    for w in windows.iter().rev() {
        let drift: Value = serde_json::from_str(&w.drift).unwrap_or(Value::Null);
        let perf: Value = serde_json::from_str(&w.performance).unwrap_or(Value::Null);
        let at = json!({ "version": w.model_version, "window": w.index, "kind": w.kind });
        let verdict = match &rule.condition {
            Condition::DatasetDrift => drift["dataset_drift"]
                .as_bool()
                .map(|d| (d, json!({ "window": at, "drift_share": drift["drift_share"] }))),
            Condition::PredictionDrift => drift["prediction"]["drift"].as_bool().map(|d| {
                (d, json!({ "window": at, "score": drift["prediction"]["adjusted_score"] }))
            }),
            Condition::FeatureDrift(name) => {
                drift["columns"][name.as_str()]["drift"].as_bool().map(|d| {
                    let c = &drift["columns"][name.as_str()];
                    (d, json!({ "window": at, "feature": name, "score": c["adjusted_score"] }))
                })
            }
            Condition::MetricBelow(metric, limit) => perf[metric.as_str()].as_f64().map(|v| {
                (v < *limit, json!({ "window": at, "metric": metric, "value": v, "limit": limit }))
            }),
            Condition::MetricAbove(metric, limit) => perf[metric.as_str()].as_f64().map(|v| {
                (v > *limit, json!({ "window": at, "metric": metric, "value": v, "limit": limit }))
            }),
            Condition::LatencyP99Above(limit) => perf["latency_ms"]["p99"].as_f64().map(|v| {
                (v > *limit, json!({ "window": at, "latency_p99_ms": v, "limit_ms": limit }))
            }),
            Condition::DropsAbove(_) => None,
        };
        if verdict.is_some() {
            return Ok(verdict);
        }
    }
    Ok(None)
}

/// The sum of `lathe_serve_prediction_log_dropped_total` on a `/metrics` page.
async fn serve_drops(url: &str) -> std::result::Result<u64, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let text = client
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    Ok(text
        .lines()
        .filter(|l| l.starts_with("lathe_serve_prediction_log_dropped_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64)
}

/// POSTs one transition to every webhook and records each delivery.
async fn deliver(
    store: &dyn Store,
    config: &MonitoringConfig,
    event: &str,
    episode: &AlertEpisode,
) -> Result<()> {
    let payload = json!({
        "event": event,
        "rule": episode.rule,
        "model": episode.model_name,
        "episode_id": episode.episode_id,
        "fired_at": episode.fired_at,
        "resolved_at": episode.resolved_at,
        "detail": serde_json::from_str::<Value>(&episode.detail).unwrap_or(Value::Null),
    });
    for target in &config.webhooks {
        let (attempts, error) = post(target, &config.allowed_hosts, &payload).await;
        store
            .record_alert_delivery(&AlertDelivery {
                episode_id: episode.episode_id.clone(),
                event: event.to_string(),
                target: target.clone(),
                attempts,
                status: if error.is_empty() { "delivered" } else { "failed" }.into(),
                error,
                at: lathe_core::now_millis(),
            })
            .await?;
    }
    Ok(())
}

/// Attempts made and the last error (empty when delivered).
async fn post(target: &str, allowed: &[String], payload: &Value) -> (i64, String) {
    let (url, addr) = match resolve(target, allowed).await {
        Ok(found) => found,
        Err(e) => return (0, e.to_string()),
    };
    let host = url.host_str().unwrap_or_default().to_string();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host, addr)
        .build()
    {
        Ok(c) => c,
        Err(e) => return (0, e.to_string()),
    };
    let mut delay = Duration::from_millis(200);
    let mut error = String::new();
    for attempt in 1..=ATTEMPTS {
        match client.post(url.clone()).json(payload).send().await {
            Ok(r) if r.status().is_success() => return (attempt, String::new()),
            Ok(r) => error = format!("HTTP {}", r.status()),
            Err(e) => error = e.to_string(),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
    (ATTEMPTS, error)
}

/// Checks the target and resolves its host to one address, all of whose
/// addresses must be allowed.
async fn resolve(target: &str, allowed: &[String]) -> Result<(Url, SocketAddr)> {
    let url = check_target(target, allowed)?;
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| MonitorError::Config(format!("webhook {target}: cannot resolve: {e}")))?
        .collect();
    if addrs.is_empty() || addrs.iter().any(|a| refused(a.ip())) {
        return Err(MonitorError::Config(format!(
            "webhook {target}: resolves to a link-local address or to none; refused"
        )));
    }
    Ok((url, addrs[0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_outside_the_allow_list_or_link_local_are_refused() {
        let allowed = vec![
            "127.0.0.1".to_string(),
            "hooks.example.com".to_string(),
            "169.254.169.254".to_string(),
            "[fe80::1]".to_string(),
        ];
        assert!(check_target("http://127.0.0.1:9000/hook", &allowed).is_ok());
        assert!(check_target("https://HOOKS.example.com./x", &allowed).is_ok());
        for (url, why) in [
            ("http://169.254.169.254/latest/meta-data", "link-local"),
            ("http://[fe80::1]/", "link-local"),
            ("http://[::ffff:169.254.1.1]/", "link-local"),
            ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
            ("http://evil.example/", "not in webhooks.allowed_hosts"),
            ("file:///etc/passwd", "only http"),
            ("nonsense", "not a URL"),
        ] {
            let e = check_target(url, &allowed).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
        }
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_link_local_is_refused_at_delivery() {
        // `localhost` resolves to loopback: allowed. A literal link-local is refused before any lookup.
        let allowed = vec!["localhost".to_string()];
        assert!(resolve("http://localhost:9/x", &allowed).await.is_ok());
        let (attempts, error) =
            post("http://169.254.169.254/", &["169.254.169.254".into()], &json!({})).await;
        assert_eq!(attempts, 0);
        assert!(error.contains("link-local"), "{error}");
    }
}
