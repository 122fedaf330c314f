//! `lathe runs list|show`.

use lathe_core::ViewType;
use lathe_store::{SearchQuery, SearchRuns};

use super::TrackingArgs;
use crate::{output, tracking_uri};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// List the runs of an experiment, newest first.
    List {
        #[command(flatten)]
        tracking: TrackingArgs,
        /// Experiment id (see `lathe experiments list`).
        #[arg(long, default_value = "0")]
        experiment_id: String,
        /// MLflow filter, e.g. "metrics.auc > 0.9 and params.model = 'gbm'".
        #[arg(long, default_value = "")]
        filter: String,
        /// Ordering, e.g. "metrics.auc DESC" (repeatable).
        #[arg(long)]
        order_by: Vec<String>,
        /// At most this many runs.
        #[arg(long, default_value_t = 100)]
        max_results: i64,
        /// Include deleted runs.
        #[arg(long)]
        all: bool,
    },
    /// Show one run: info, params, latest metrics, tags, inputs.
    Show {
        #[command(flatten)]
        tracking: TrackingArgs,
        /// Run id.
        run_id: String,
    },
}

pub(crate) async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::List { tracking, experiment_id, filter, order_by, max_results, all } => {
            let store = tracking_uri::open(&tracking.tracking_uri).await?;
            let view = if all { ViewType::All } else { ViewType::ActiveOnly };
            let search = SearchRuns {
                experiment_ids: vec![experiment_id],
                query: SearchQuery {
                    filter,
                    view,
                    max_results: Some(max_results),
                    order_by,
                    page_token: None,
                },
            };
            let page = store.search_runs(&search).await?;
            let rows: Vec<Vec<String>> = page
                .items
                .iter()
                .map(|r| {
                    let metrics: Vec<String> = r
                        .metrics
                        .iter()
                        .take(4)
                        .map(|m| format!("{}={}", m.key, m.value))
                        .collect();
                    vec![
                        r.info.run_id.clone(),
                        r.info.run_name.clone(),
                        r.info.status.to_string(),
                        output::time(r.info.start_time),
                        metrics.join(" "),
                    ]
                })
                .collect();
            output::table(&["RUN ID", "NAME", "STATUS", "STARTED (UTC)", "METRICS"], &rows)
        }
        Command::Show { tracking, run_id } => {
            let store = tracking_uri::open(&tracking.tracking_uri).await?;
            let run = store.get_run(&run_id).await?;
            let i = &run.info;
            let mut pairs = vec![
                ("run_id", i.run_id.clone()),
                ("name", i.run_name.clone()),
                ("experiment_id", i.experiment_id.clone()),
                ("status", i.status.to_string()),
                ("stage", i.lifecycle_stage.as_str().to_string()),
                ("started", output::time(i.start_time)),
                ("ended", i.end_time.map(output::time).unwrap_or_default()),
                ("artifact_uri", i.artifact_uri.clone()),
            ];
            let params: Vec<String> =
                run.params.iter().map(|p| format!("{}={}", p.key, p.value)).collect();
            let metrics: Vec<String> = run
                .metrics
                .iter()
                .map(|m| format!("{}={} (step {})", m.key, m.value, m.step))
                .collect();
            let tags: Vec<String> =
                run.tags.iter().map(|t| format!("{}={}", t.key, t.value)).collect();
            let inputs: Vec<String> = run
                .inputs
                .iter()
                .map(|d| format!("{} ({})", d.dataset.name, d.dataset.digest))
                .collect();
            pairs.push(("params", params.join(", ")));
            pairs.push(("metrics", metrics.join(", ")));
            pairs.push(("tags", tags.join(", ")));
            pairs.push(("inputs", inputs.join(", ")));
            output::fields(&pairs)
        }
    }
}
