//! `lathe models list|show|alias` and `lathe rollback`.

use anyhow::Context;
use lathe_core::Tag;
use lathe_store::{SearchQuery, Store, StoreError};

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
            move_alias(store.as_ref(), &name, &alias, version).await?;
            output::line(&format!("{name}@{alias} -> version {version}"))
        }
    }
}

/// The tag on a version that names the version `alias` pointed at before
/// lathe moved it there.
fn previous_key(alias: &str) -> String {
    format!("lathe.previous.{alias}")
}

/// Points `alias` of `name` at `version` and records on `version` the tag
/// `lathe.previous.<alias>` = the version the alias pointed at before (the
/// tag is removed when there was none). Re-pointing an alias at its current
/// target leaves the tags alone.
pub(crate) async fn move_alias(
    store: &dyn Store,
    name: &str,
    alias: &str,
    version: i64,
) -> anyhow::Result<()> {
    let model = store.get_registered_model(name).await?;
    let before = model.aliases.iter().find(|(a, _)| a == alias).map(|&(_, v)| v);
    if before == Some(version) {
        return Ok(());
    }
    // Fails plainly (before anything is written) when the version is missing.
    store.get_model_version(name, version).await?;
    let key = previous_key(alias);
    match before {
        Some(previous) => {
            let tag = Tag::new(key, previous.to_string());
            store.set_model_version_tag(name, version, &tag).await?;
        }
        None => match store.delete_model_version_tag(name, version, &key).await {
            Ok(()) | Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        },
    }
    store.set_registered_model_alias(name, alias, version).await?;
    Ok(())
}

/// `lathe rollback NAME`: move an alias back to the version it pointed at
/// before lathe last moved it.
#[derive(Debug, clap::Args)]
pub(crate) struct RollbackArgs {
    #[command(flatten)]
    tracking: TrackingArgs,
    /// Registered model name.
    name: String,
    /// The alias to move back.
    #[arg(long, default_value = "champion")]
    alias: String,
}

/// Moves the alias back to its recorded previous version and records
/// `lathe.rolled_back_from.<alias>` on the restored version (not
/// `lathe.previous.<alias>`, so a second rollback does not undo the first).
pub(crate) async fn rollback(args: RollbackArgs) -> anyhow::Result<()> {
    let RollbackArgs { tracking, name, alias } = args;
    let store = tracking_uri::open(&tracking.tracking_uri).await?;
    let model = store
        .get_registered_model(&name)
        .await
        .with_context(|| format!("cannot roll back {name}@{alias}"))?;
    let Some(&(_, current)) = model.aliases.iter().find(|(a, _)| *a == alias) else {
        anyhow::bail!("cannot roll back {name}@{alias}: model {name} has no alias {alias}");
    };
    let version = store.get_model_version(&name, current).await.with_context(|| {
        format!("cannot roll back {name}@{alias}: cannot read v{current}, its current target")
    })?;
    let key = previous_key(&alias);
    let Some(tag) = version.tags.iter().find(|t| t.key == key) else {
        anyhow::bail!(
            "cannot roll back {name}@{alias}: v{current} records no previous version \
             (no {key} tag; lathe records one when it moves an alias)"
        );
    };
    let previous: i64 = tag.value.trim().parse().with_context(|| {
        format!(
            "cannot roll back {name}@{alias}: v{current} has {key}={:?}, not a version",
            tag.value
        )
    })?;
    match store.get_model_version(&name, previous).await {
        Ok(_) => {}
        Err(StoreError::NotFound(_)) => anyhow::bail!(
            "cannot roll back {name}@{alias}: the previous version v{previous} no longer exists"
        ),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot roll back {name}@{alias}"));
        }
    }
    let tag = Tag::new(format!("lathe.rolled_back_from.{alias}"), current.to_string());
    store.set_model_version_tag(&name, previous, &tag).await?;
    store.set_registered_model_alias(&name, &alias, previous).await?;
    output::line(&format!("{name}@{alias}: v{current} -> v{previous} (rolled back)"))
}
