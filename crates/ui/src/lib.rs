//! lathe's web UI: experiments, runs, comparisons, the model registry,
//! deployments and production monitoring as HTML pages rendered on the
//! server, over any [`Store`].
//!
//! [`router`] gives the pages as an axum router that `lathe server` merges
//! beside its REST API; it claims only the paths listed there (never
//! `/api/`, `/ajax-api/`, `/health` or `/version`). Every page is a plain
//! GET whose whole state is in its URL (filters, sort order, chosen
//! columns, page tokens, compared runs), so any view can be shared as a link.
//!
//! - Charts are SVG drawn in Rust (`chart.rs`); long metric histories are cut
//!   to [`MAX_CHART_POINTS`] with [`lttb::lttb`] before they are drawn.
//! - The stylesheet, a small script (hover values, keyboard chart cursor,
//!   column chooser filter) and the icon are embedded with `include_str!`;
//!   no CDN, no build step. Pages work without the script.
//! - Every value from the store or the URL is HTML-escaped (`html.rs`),
//!   and a Content-Security-Policy forbids inline scripts besides.
//! - Bad input in the URL (unknown ids, malformed filters, page sizes out of
//!   range) gives an error page with a 4xx status that says what was wrong.
//! - The UI is read-only: it offers no action that writes.
//!
//! Adding a section: a module under `pages/`, its routes in [`router`], and
//! an entry in the main navigation (`layout::NAV`).
//!
//! ```no_run
//! # async fn demo(
//! #     store: std::sync::Arc<dyn lathe_store::Store>,
//! #     artifacts: std::sync::Arc<dyn lathe_store::ArtifactStore>,
//! # ) {
//! let app: axum::Router = lathe_ui::router(store, artifacts);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

mod assets;
mod bins;
mod chart;
mod error;
mod heatmap;
mod html;
mod layout;
pub mod lttb;
mod pages;
mod params;

use std::sync::Arc;

use axum::{extract::FromRef, routing::get, Router};
use lathe_store::{ArtifactStore, Store};

/// Most points a chart draws per series; longer histories are downsampled with LTTB.
pub const MAX_CHART_POINTS: usize = 2000;

/// The store every page reads.
pub(crate) type Db = Arc<dyn Store>;
/// Where the runs' artifacts are read (`mlflow-artifacts:` URIs resolve here).
pub(crate) type Arts = Arc<dyn ArtifactStore>;

/// What the pages read: the tracking store and the artifact store.
#[derive(Clone)]
pub(crate) struct Ui {
    store: Db,
    artifacts: Arts,
}

impl FromRef<Ui> for Db {
    fn from_ref(ui: &Ui) -> Db {
        ui.store.clone()
    }
}

impl FromRef<Ui> for Arts {
    fn from_ref(ui: &Ui) -> Arts {
        ui.artifacts.clone()
    }
}

/// The UI's pages and static files:
///
/// | path | page |
/// |---|---|
/// | `/`, `/experiments` | experiments: search by name or filter, sort, pages |
/// | `/experiments/{id}` | an experiment's runs: filter, sort, columns, pages |
/// | `/runs/{id}` | a run: params, metrics with charts, tags, datasets, lineage, artifact tree (`?path=` expands a directory) |
/// | `/runs/{id}/artifacts?path=P` | one artifact previewed (text, JSON, CSV, images, sandboxed HTML) |
/// | `/runs/{id}/artifact-raw?path=P` | its bytes, with `Content-Security-Policy: sandbox` |
/// | `/compare?runs=a,b` | runs side by side: diff table, overlaid charts |
/// | `/models` | registered models |
/// | `/models/{name}` | a model: aliases, versions with their runs and datasets |
/// | `/models/{name}/versions/{v}` | one version and its lineage |
/// | `/models/{name}/monitoring?version=&kind=` | a model's monitoring windows: drift heatmap, performance, latency, alerts |
/// | `/monitoring` | models with a prediction log and their firing alerts |
/// | `/deployments` | served versions: aliases, traffic split, request rate, latency |
/// | `/static/{file}` | the embedded stylesheet, script and icon |
///
/// `artifacts` is the store behind `mlflow-artifacts:` URIs (what `lathe
/// server --artifacts-destination` serves); runs stored elsewhere are listed
/// with their URI only.
pub fn router(store: Arc<dyn Store>, artifacts: Arc<dyn ArtifactStore>) -> Router {
    Router::new()
        .route("/", get(pages::experiments::list))
        .route("/experiments", get(pages::experiments::list))
        .route("/experiments/{id}", get(pages::experiment::show))
        .route("/runs/{id}", get(pages::run::show))
        .route("/runs/{id}/artifacts", get(pages::artifacts::show))
        .route("/runs/{id}/artifact-raw", get(pages::artifacts::raw))
        .route("/compare", get(pages::compare::show))
        .route("/models", get(pages::models::list))
        .route("/models/{name}", get(pages::models::show))
        .route("/models/{name}/versions/{version}", get(pages::models::version))
        .route("/models/{name}/monitoring", get(pages::monitoring::show))
        .route("/monitoring", get(pages::monitoring::list))
        .route("/deployments", get(pages::deployments::list))
        .route("/static/{file}", get(assets::serve))
        .with_state(Ui { store, artifacts })
}
