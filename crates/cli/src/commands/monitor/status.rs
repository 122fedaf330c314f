//! `lathe monitor status` and `lathe monitor alerts`: a model's monitoring
//! windows (brought up to date first: each new complete window is computed
//! and stored once, as the server's job would) and its alert history.

use std::{path::PathBuf, sync::Arc};

use anyhow::bail;
use lathe_server::monitoring::{self, MonitoringConfig};
use lathe_store::{MonitoringWindow, Store};

use lathe_server::monitoring::report::{metric_names, summary};

use crate::{
    commands::{ArtifactsArgs, TrackingArgs},
    output, tracking_uri,
};

/// Flags shared by `status`, `alerts` and `report`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The model: NAME (every version in the prediction log) or NAME@ALIAS.
    #[arg(long, value_name = "NAME[@ALIAS]")]
    pub(crate) model: String,
    #[command(flatten)]
    pub(crate) tracking: TrackingArgs,
    #[command(flatten)]
    pub(crate) artifacts: ArtifactsArgs,
    /// The server's monitoring config (window size, minimum rows, threshold).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Window size, overriding the config: predictions (500) or a duration (1h).
    #[arg(long, value_name = "SIZE")]
    pub(crate) window: Option<String>,
}

/// A model's windows after an update, with what the rest of the command needs.
pub(crate) struct Loaded {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) name: String,
    pub(crate) config: MonitoringConfig,
    pub(crate) windows: Vec<MonitoringWindow>,
}

/// Opens the store, brings the model's windows up to date and reads them.
pub(crate) async fn load(args: &Args) -> anyhow::Result<Loaded> {
    let mut config = super::config::load(args.config.as_deref())?;
    if let Some(w) = &args.window {
        config.windows.spec = w.parse()?;
    }
    let store = tracking_uri::open(&args.tracking.tracking_uri).await?;
    let artifacts = args.artifacts.open(&args.tracking)?;
    let (name, versions) = match args.model.split_once('@') {
        Some((name, alias)) => {
            let v = store.get_model_version_by_alias(name, alias).await?;
            (name.to_string(), vec![v.version])
        }
        None => {
            let log = store.prediction_log_summary(Some(&args.model)).await?;
            (args.model.clone(), log.iter().map(|s| s.model_version).collect())
        }
    };
    if versions.is_empty() {
        bail!("model '{name}' has no logged predictions (is `lathe serve` logging to this store?)");
    }
    let now = lathe_core::now_millis();
    for &v in &versions {
        monitoring::update_version(
            store.as_ref(),
            artifacts.as_ref(),
            &name,
            v,
            &config.windows,
            now,
        )
        .await?;
    }
    let kind = config.windows.spec.kind();
    let mut windows = Vec::new();
    for &v in &versions {
        windows.extend(
            store.list_windows(&name, Some(v)).await?.into_iter().filter(|w| w.kind == kind),
        );
    }
    Ok(Loaded { store, name, config, windows })
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.3}"))
}

pub(crate) async fn status(args: Args) -> anyhow::Result<()> {
    let loaded = load(&args).await?;
    if loaded.windows.is_empty() {
        output::line(&format!(
            "{}: no complete window of {} yet",
            loaded.name,
            loaded.config.windows.spec.kind()
        ))?;
    }
    // Columns of the latest scored window's task (accuracy, f1, roc_auc for classifiers).
    let task = loaded.windows.iter().rev().find_map(|w| summary(w).task);
    let names = metric_names(task.as_deref());
    let metric = |i: usize| names.get(i).copied().unwrap_or("-");
    let rows: Vec<Vec<String>> = loaded
        .windows
        .iter()
        .map(|w| {
            let s = summary(w);
            let drift = match s.dataset_drift {
                Some(true) => format!("DRIFT {}", opt(s.drift_share)),
                Some(false) => format!("ok {}", opt(s.drift_share)),
                None => "-".into(),
            };
            let mut cols = s.drifted.join(",");
            if !s.extra_columns.is_empty() {
                cols.push_str(&format!(" +schema:{}", s.extra_columns.join(",")));
            }
            let mut row = vec![
                w.model_version.to_string(),
                w.index.to_string(),
                output::time(w.start_time.max(0)),
                w.rows.to_string(),
                w.labeled_rows.to_string(),
                w.status.clone(),
                drift,
                match s.prediction_drift {
                    Some(true) => "DRIFT".into(),
                    Some(false) => "ok".into(),
                    None => "-".into(),
                },
                if cols.is_empty() { "-".into() } else { cols },
            ];
            row.extend(names.iter().take(3).map(|name| opt(s.metric(name))));
            row
        })
        .collect();
    output::table(
        &[
            "version",
            "window",
            "start",
            "rows",
            "labeled",
            "status",
            "dataset",
            "prediction",
            "drifted columns",
            metric(0),
            metric(1),
            metric(2),
        ],
        &rows,
    )?;
    let firing: Vec<_> = loaded
        .store
        .list_alerts(Some(&loaded.name))
        .await?
        .into_iter()
        .filter(|e| e.state == "firing")
        .collect();
    for e in &firing {
        output::line(&format!("FIRING since {}: {}", output::time(e.fired_at), e.rule))?;
    }
    Ok(())
}

pub(crate) async fn alerts(args: Args) -> anyhow::Result<()> {
    let store = tracking_uri::open(&args.tracking.tracking_uri).await?;
    let name = args.model.split_once('@').map_or(args.model.as_str(), |(n, _)| n);
    let mut rows = Vec::new();
    for e in store.list_alerts(Some(name)).await? {
        let deliveries = store.list_alert_deliveries(&e.episode_id).await?;
        let ok = deliveries.iter().filter(|d| d.status == "delivered").count();
        rows.push(vec![
            e.rule.clone(),
            e.state.clone(),
            output::time(e.fired_at),
            e.resolved_at.map_or_else(|| "-".into(), output::time),
            format!("{ok}/{}", deliveries.len()),
            e.detail.clone(),
        ]);
    }
    output::table(&["rule", "state", "fired", "resolved", "delivered", "detail"], &rows)
}
