//! `lathe experiments list|create`.

use lathe_core::ViewType;
use lathe_store::SearchQuery;

use super::TrackingArgs;
use crate::{output, tracking_uri};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// List experiments.
    List {
        #[command(flatten)]
        tracking: TrackingArgs,
        /// MLflow filter, e.g. "name LIKE 'churn%'".
        #[arg(long, default_value = "")]
        filter: String,
        /// Include deleted experiments.
        #[arg(long)]
        all: bool,
    },
    /// Create an experiment and print its id.
    Create {
        #[command(flatten)]
        tracking: TrackingArgs,
        /// Experiment name.
        name: String,
    },
}

pub(crate) async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::List { tracking, filter, all } => {
            let store = tracking_uri::open(&tracking.tracking_uri).await?;
            let view = if all { ViewType::All } else { ViewType::ActiveOnly };
            let mut rows = Vec::new();
            let mut token = None;
            loop {
                let q = SearchQuery {
                    filter: filter.clone(),
                    view,
                    page_token: token,
                    ..SearchQuery::default()
                };
                let page = store.search_experiments(&q).await?;
                for e in &page.items {
                    rows.push(vec![
                        e.experiment_id.clone(),
                        e.name.clone(),
                        e.lifecycle_stage.as_str().to_string(),
                        output::time(e.creation_time),
                        e.artifact_location.clone(),
                    ]);
                }
                token = page.next_page_token;
                if token.is_none() {
                    break;
                }
            }
            output::table(&["ID", "NAME", "STAGE", "CREATED (UTC)", "ARTIFACT LOCATION"], &rows)
        }
        Command::Create { tracking, name } => {
            let store = tracking_uri::open(&tracking.tracking_uri).await?;
            let id = store.create_experiment(&name, None, &[]).await?;
            output::line(&id)
        }
    }
}
