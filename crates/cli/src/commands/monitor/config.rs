//! The monitoring config of `lathe server --config` and `lathe monitor`, and
//! the server's background job: windows, then alerts, every interval.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use lathe_server::monitoring::{self, MonitoringConfig};
use lathe_store::{ArtifactStore, Store};

use crate::commands::run::retrain;

/// The config at `path`, or the defaults when there is none.
pub(crate) fn load(path: Option<&Path>) -> anyhow::Result<MonitoringConfig> {
    let Some(path) = path else {
        return MonitoringConfig::parse("", "defaults").map_err(Into::into);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    Ok(MonitoringConfig::parse(&text, &path.display().to_string())?)
}

/// Whether `path` declares a pipeline whose alerts may trigger a retrain.
pub(crate) fn retrain_file(path: Option<&Path>, config: &MonitoringConfig) -> Option<PathBuf> {
    let triggers = config.alerts.iter().any(|r| r.trigger.is_some());
    path.filter(|_| triggers).map(Path::to_path_buf)
}

/// Starts the monitoring job of `lathe server`; alerts that fire under a
/// rule with `trigger = "retrain"` rerun the pipeline in `pipeline`.
pub(crate) fn spawn_job(
    store: Arc<dyn Store>,
    artifacts: Arc<dyn ArtifactStore>,
    config: MonitoringConfig,
    pipeline: Option<PathBuf>,
) -> tokio::task::JoinHandle<()> {
    let interval = Duration::from_secs(config.interval_seconds);
    let settings = config.windows.clone();
    let (alert_store, alert_artifacts) = (Arc::clone(&store), Arc::clone(&artifacts));
    monitoring::windows::spawn(store, artifacts, settings, interval, move |fresh| {
        let (store, artifacts, config) =
            (Arc::clone(&alert_store), Arc::clone(&alert_artifacts), config.clone());
        let pipeline = pipeline.clone();
        async move {
            if !fresh.is_empty() {
                tracing::info!("monitoring: {} new windows", fresh.len());
            }
            let now = lathe_core::now_millis();
            match monitoring::alerts::evaluate(store.as_ref(), &config, now).await {
                Ok(changes) => {
                    if let Some(file) = pipeline {
                        retrain::on_alerts(store, artifacts, &config, &file, &changes).await;
                    }
                }
                Err(e) => tracing::warn!("alert evaluation failed: {e}"),
            }
        }
    })
}
