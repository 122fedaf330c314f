//! The monitoring config of `lathe server --config` and `lathe monitor`, and
//! the server's background job: windows, then alerts, every interval.

use std::{path::Path, sync::Arc, time::Duration};

use anyhow::Context;
use lathe_server::monitoring::{self, MonitoringConfig};
use lathe_store::{ArtifactStore, Store};

/// The config at `path`, or the defaults when there is none.
pub(crate) fn load(path: Option<&Path>) -> anyhow::Result<MonitoringConfig> {
    let Some(path) = path else {
        return MonitoringConfig::parse("", "defaults").map_err(Into::into);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    Ok(MonitoringConfig::parse(&text, &path.display().to_string())?)
}

/// Starts the monitoring job of `lathe server`.
pub(crate) fn spawn_job(
    store: Arc<dyn Store>,
    artifacts: Arc<dyn ArtifactStore>,
    config: MonitoringConfig,
) -> tokio::task::JoinHandle<()> {
    let interval = Duration::from_secs(config.interval_seconds);
    let settings = config.windows.clone();
    let alert_store = Arc::clone(&store);
    monitoring::windows::spawn(store, artifacts, settings, interval, move |fresh| {
        let (store, config) = (Arc::clone(&alert_store), config.clone());
        async move {
            if !fresh.is_empty() {
                tracing::info!("monitoring: {} new windows", fresh.len());
            }
            if let Err(e) =
                monitoring::alerts::evaluate(store.as_ref(), &config, lathe_core::now_millis())
                    .await
            {
                tracing::warn!("alert evaluation failed: {e}");
            }
        }
    })
}
