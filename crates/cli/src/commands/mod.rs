//! One module per top-level command.

pub(crate) mod data;
pub(crate) mod eval;
pub(crate) mod evaluate;
pub(crate) mod experiments;
pub(crate) mod llm;
pub(crate) mod llm_source;
pub(crate) mod llm_train;
pub(crate) mod model_source;
pub(crate) mod models;
pub(crate) mod monitor;
pub(crate) mod predict;
pub(crate) mod quickstart;
pub(crate) mod run;
pub(crate) mod runs;
pub(crate) mod serve;
pub(crate) mod server;
pub(crate) mod train;

/// `--tracking-uri`, shared by every command that reads or writes tracking data.
#[derive(Debug, clap::Args)]
pub(crate) struct TrackingArgs {
    /// Where tracking data lives: sqlite:///PATH, postgresql://…, or http(s)://HOST:PORT of a server.
    #[arg(long, env = "MLFLOW_TRACKING_URI", default_value = crate::tracking_uri::DEFAULT_TRACKING_URI)]
    pub(crate) tracking_uri: String,
}

/// `--artifacts-destination`, shared by every command that reads or writes
/// artifacts; which store it opens depends on the tracking URI.
#[derive(Debug, clap::Args)]
pub(crate) struct ArtifactsArgs {
    /// Directory of the proxied artifacts (`mlflow-artifacts:/`) when the tracking URI is a
    /// database (the same folder as `lathe server --artifacts-destination`). With an
    /// http(s):// tracking URI it is not used: artifacts go up and down through that server's
    /// artifact proxy.
    #[arg(long, default_value = "./mlartifacts")]
    pub(crate) artifacts_destination: std::path::PathBuf,
}

impl ArtifactsArgs {
    /// The artifact store that goes with `tracking`'s store.
    pub(crate) fn open(
        &self,
        tracking: &TrackingArgs,
    ) -> anyhow::Result<std::sync::Arc<dyn lathe_store::ArtifactStore>> {
        crate::tracking_uri::open_artifacts(&tracking.tracking_uri, &self.artifacts_destination)
    }
}
