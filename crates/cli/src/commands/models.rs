//! `lathe models list|show|alias`.

use lathe_store::SearchQuery;

use super::TrackingArgs;
use crate::{output, tracking_uri};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// List registered models.
    List {
        #[command(flatten)]
        tracking: TrackingArgs,
        /// MLflow filter, e.g. "name LIKE 'churn%'".
        #[arg(long, default_value = "")]
        filter: String,
    },
    /// Show a registered model with its versions and aliases.
    Show {
        #[command(flatten)]
        tracking: TrackingArgs,
        /// Registered model name.
        name: String,
    },
    /// Point ALIAS of model NAME at VERSION (e.g. promote a champion).
    Alias {
        #[command(flatten)]
        tracking: TrackingArgs,
        /// Registered model name.
        name: String,
        /// Alias, e.g. champion.
        alias: String,
        /// Version number.
        #[arg(value_name = "VERSION")]
        model_version: i64,
    },
}

pub(crate) async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::List { tracking, filter } => {
            let store = tracking_uri::open(&tracking.tracking_uri).await?;
            let mut rows = Vec::new();
            let mut token = None;
            loop {
                let q = SearchQuery {
                    filter: filter.clone(),
                    page_token: token,
                    ..SearchQuery::default()
                };
                let page = store.search_registered_models(&q).await?;
                for m in &page.items {
                    let aliases: Vec<String> =
                        m.aliases.iter().map(|(a, v)| format!("{a}→v{v}")).collect();
                    let latest = m
                        .latest_versions
                        .first()
                        .map(|v| v.version.to_string())
                        .unwrap_or_default();
                    rows.push(vec![
                        m.name.clone(),
                        latest,
                        aliases.join(" "),
                        output::time(m.last_updated_timestamp),
                    ]);
                }
                token = page.next_page_token;
                if token.is_none() {
                    break;
                }
            }
            output::table(&["NAME", "LATEST", "ALIASES", "UPDATED (UTC)"], &rows)
        }
        Command::Show { tracking, name } => {
            let store = tracking_uri::open(&tracking.tracking_uri).await?;
            let model = store.get_registered_model(&name).await?;
            let escaped = name.replace('\'', "\\'");
            let q = SearchQuery { filter: format!("name = '{escaped}'"), ..SearchQuery::default() };
            let versions = store.search_model_versions(&q).await?;
            output::fields(&[
                ("name", model.name.clone()),
                ("description", model.description.clone()),
                (
                    "tags",
                    model
                        .tags
                        .iter()
                        .map(|t| format!("{}={}", t.key, t.value))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ])?;
            let rows: Vec<Vec<String>> = versions
                .items
                .iter()
                .map(|v| {
                    vec![
                        v.version.to_string(),
                        v.aliases.join(" "),
                        v.status.as_str().to_string(),
                        v.run_id.clone(),
                        v.source.clone(),
                    ]
                })
                .collect();
            output::table(&["VERSION", "ALIASES", "STATUS", "RUN ID", "SOURCE"], &rows)
        }
        Command::Alias { tracking, name, alias, model_version: version } => {
            let store = tracking_uri::open(&tracking.tracking_uri).await?;
            store.set_registered_model_alias(&name, &alias, version).await?;
            output::line(&format!("{name}@{alias} -> version {version}"))
        }
    }
}
