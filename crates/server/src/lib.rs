//! lathe's control plane: MLflow's tracking and model-registry REST API
//! over any [`Store`](lathe_store::Store), and MLflow's artifact proxy over
//! any [`ArtifactStore`](lathe_store::ArtifactStore).
//!
//! [`app`] builds the router (tested in-process), [`serve`] binds it.
//! Routes are one file per resource under `routes/`; every error goes
//! through [`ApiError`], which writes MLflow's error JSON and status.

mod error;
mod extract;
pub mod monitoring;
mod routes;
mod sources;

use std::{net::SocketAddr, sync::Arc};

use axum::Router;
use lathe_store::{ArtifactStore, Store};

pub use error::{ApiError, ErrorCode};

/// Largest JSON request body; larger ones get 413.
pub const MAX_JSON_BODY_BYTES: usize = 16 * 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Tracking and registry metadata.
    pub store: Arc<dyn Store>,
    /// Files behind `mlflow-artifacts:/`.
    pub artifacts: Arc<dyn ArtifactStore>,
}

/// The whole HTTP API as a router.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// Serves `app(state)` on `addr` until `shutdown` resolves. Sets
/// `TCP_NODELAY` so keep-alive clients do not stall on Nagle's algorithm.
pub async fn serve(
    addr: SocketAddr,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(listener, state, shutdown).await
}

/// Like [`serve`], on a listener the caller already bound (e.g. port 0 in tests).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, app(state), shutdown).await
}

/// Serves any `router` (e.g. [`app`] merged with the web UI) on `listener`
/// until `shutdown` resolves, with `TCP_NODELAY` as [`serve`].
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY: {e}");
        }
    });
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
