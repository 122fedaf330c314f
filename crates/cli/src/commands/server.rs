//! `lathe server`: the tracking and registry server, with MLflow's flag names.

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use anyhow::Context;
use lathe_server::AppState;
use lathe_store::LocalArtifactStore;

use crate::tracking_uri;

/// Flags, named as `mlflow server` names them.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Metadata store: sqlite:///PATH (default) or postgresql://USER@HOST:PORT/DB.
    /// Also read from LATHE_BACKEND_STORE_URI, so a password need not appear on the command line.
    #[arg(long, env = "LATHE_BACKEND_STORE_URI", default_value = tracking_uri::DEFAULT_TRACKING_URI, hide_env_values = true)]
    backend_store_uri: String,
    /// Directory that holds proxied artifacts (`mlflow-artifacts:/`).
    #[arg(long, default_value = "./mlartifacts")]
    artifacts_destination: PathBuf,
    /// Address to listen on; 127.0.0.1 so nothing is exposed unless asked.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 5000)]
    port: u16,
    /// Monitoring config (TOML): windows over the prediction log, alert rules, webhooks.
    /// Without it the monitoring job still cuts windows of 500 predictions. A project's
    /// lathe.toml works too: its alerts with `trigger = "retrain"` rerun its pipeline.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let monitoring = super::monitor::config::load(args.config.as_deref())?;
    let store = tracking_uri::open(&args.backend_store_uri).await?;
    let artifacts = LocalArtifactStore::open(&args.artifacts_destination).with_context(|| {
        format!("cannot use artifacts destination {}", args.artifacts_destination.display())
    })?;
    let addr: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .with_context(|| format!("invalid --host/--port: {}:{}", args.host, args.port))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(
        "lathe server listening on http://{} (store {}, artifacts {})",
        listener.local_addr()?,
        tracking_uri::redact(&args.backend_store_uri),
        artifacts.root().display()
    );
    let artifacts: Arc<dyn lathe_store::ArtifactStore> = Arc::new(artifacts);
    let state = AppState { store: store.clone(), artifacts: artifacts.clone() };
    let report = lathe_server::monitoring::report::router(
        store.clone(),
        monitoring.windows.spec.kind(),
        monitoring.windows.drift_share,
    );
    let app = lathe_server::app(state)
        .merge(lathe_ui::router(store.clone(), artifacts.clone()))
        .merge(report);
    let pipeline = super::monitor::config::retrain_file(args.config.as_deref(), &monitoring);
    let job = super::monitor::config::spawn_job(store, artifacts, monitoring, pipeline);
    let served = lathe_server::serve_router(listener, app, shutdown_signal()).await;
    job.abort();
    served?;
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
