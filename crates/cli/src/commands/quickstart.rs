//! `lathe quickstart`: the lifecycle on data the binary embeds, recorded in
//! a fresh (or reused) tracking store, then served for a look around.
//!
//! DIR holds `lathe.db` (SQLite, artifact root `mlflow-artifacts:/`) and
//! `artifacts/` laid out as `lathe server --artifacts-destination` expects,
//! so the same directory can be served again later. Running it twice adds
//! new runs and model versions; nothing is overwritten.
//!
//! Two examples: `adult-income` (default; `example.rs`, `lifecycle.rs`) is
//! the closed loop on a `lathe.toml` project: pipeline, serving, drifted
//! traffic, alert, retrain, gate. `breast-cancer` (`pipeline.rs`) is the
//! tracked training lifecycle alone, on a small table: train, evaluate,
//! register and gate in a few seconds.

mod example;
mod lifecycle;
mod pipeline;
pub(crate) mod progress;
mod replay;
pub(crate) mod tracker;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::Context;
use lathe_server::AppState;
use lathe_store::{LocalArtifactStore, Store};

use crate::{output, tracking_uri::ARTIFACT_ROOT};
use pipeline::{Outcome, CHAMPION, EXPERIMENT, MODEL_NAME};

/// The embedded examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Example {
    /// Census income (UCI Adult): the closed loop with drift, retrain and the gate.
    AdultIncome,
    /// Breast cancer diagnosis (UCI): train, evaluate, register, gate.
    BreastCancer,
}

/// Where to keep the quickstart's store and how to serve it.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Directory for the project (lathe.toml, data/), the tracking database (lathe.db)
    /// and artifacts (artifacts/); created if missing.
    #[arg(long, default_value = "./lathe-quickstart")]
    dir: PathBuf,
    /// Which embedded example to run.
    #[arg(long, value_enum, default_value = "adult-income")]
    example: Example,
    /// Port for the tracking server and web UI started at the end.
    #[arg(long, default_value_t = 5000)]
    port: u16,
    /// Port for `lathe serve` (the champion's predictions); 0 picks a free one.
    #[arg(long, default_value_t = 8080)]
    serve_port: u16,
    /// Address for the server; 127.0.0.1 so nothing is exposed unless asked.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Stop after the pipeline instead of serving the results.
    #[arg(long)]
    no_serve: bool,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create quickstart directory {}", args.dir.display()))?;
    let dir = args
        .dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", args.dir.display()))?;
    let db = dir.join("lathe.db");
    let store: Arc<dyn Store> = Arc::new(
        lathe_store_sqlite::open(&db, ARTIFACT_ROOT)
            .await
            .with_context(|| format!("cannot open tracking store {}", db.display()))?,
    );
    let artifacts =
        Arc::new(LocalArtifactStore::open(dir.join("artifacts")).with_context(|| {
            format!("cannot use artifact directory {}", dir.join("artifacts").display())
        })?);
    // Bind before the work, so a busy port is reported before anything is written.
    let listener = if args.no_serve {
        None
    } else {
        let addr: SocketAddr = format!("{}:{}", args.host, args.port)
            .parse()
            .with_context(|| format!("invalid --host/--port: {}:{}", args.host, args.port))?;
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen on {addr} (choose another --port, or pass --no-serve)")
        })?;
        Some(listener)
    };

    if args.example == Example::AdultIncome {
        return closed_loop(&args, &dir, store, artifacts, listener).await;
    }
    let tracker =
        tracker::Tracker::new(store.clone(), artifacts.clone(), tokio::runtime::Handle::current())?;
    let outcome = tokio::task::spawn_blocking(move || pipeline::run(&tracker))
        .await
        .context("the quickstart pipeline stopped unexpectedly")??;

    let uri = format!("sqlite:///{}", db.display());
    summary(&outcome, &uri, &dir)?;
    let Some(listener) = listener else {
        output::line("")?;
        output::line("look at it:")?;
        next_steps(&outcome, &uri)?;
        output::line(&format!(
            "  lathe server --backend-store-uri {} --artifacts-destination {}",
            shell_word(&uri),
            shell_word(&dir.join("artifacts").display().to_string())
        ))?;
        return Ok(());
    };
    let local = listener.local_addr()?;
    let shown = if local.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), local.port())
    } else {
        local
    };
    output::line("")?;
    output::line(&format!("lathe server on http://{shown} (Ctrl-C to stop); try:"))?;
    output::line(&format!("  the web UI: http://{shown}/"))?;
    output::line(&format!(
        "  MLFLOW_TRACKING_URI=http://{shown} python -c \"import mlflow; print(mlflow.search_runs(experiment_names=['{EXPERIMENT}']))\""
    ))?;
    next_steps(&outcome, &uri)?;
    let state = AppState { store: store.clone(), artifacts: artifacts.clone() };
    let app = lathe_server::app(state).merge(lathe_ui::router(store, artifacts));
    lathe_server::serve_router(listener, app, super::server::shutdown_signal()).await?;
    Ok(())
}

/// The adult-income example: the loop, its summary, then the server, the
/// champion's endpoint and the monitoring job until Ctrl-C.
async fn closed_loop(
    args: &Args,
    dir: &Path,
    store: Arc<dyn Store>,
    artifacts: Arc<LocalArtifactStore>,
    listener: Option<tokio::net::TcpListener>,
) -> anyhow::Result<()> {
    let serve_addr: SocketAddr =
        format!("{}:{}", args.host, if listener.is_some() { args.serve_port } else { 0 })
            .parse()
            .with_context(|| {
            format!("invalid --host/--serve-port: {}:{}", args.host, args.serve_port)
        })?;
    let serve_listener = tokio::net::TcpListener::bind(serve_addr).await.with_context(|| {
        format!("cannot listen on {serve_addr} (choose another --serve-port, or pass --no-serve)")
    })?;
    let started = std::time::Instant::now();
    let artifacts: Arc<dyn lathe_store::ArtifactStore> = artifacts;
    let (outcome, serving, config, file) =
        lifecycle::run(dir, store.clone(), artifacts.clone(), serve_listener).await?;
    let uri = format!("sqlite:///{}", dir.join("lathe.db").display());
    loop_summary(&outcome, &uri, dir, started.elapsed())?;
    let Some(listener) = listener else {
        serving.stop().await;
        return Ok(());
    };
    let shown = listener.local_addr()?;
    output::line("")?;
    output::line(&format!("lathe server on http://{shown} (Ctrl-C to stop); try:"))?;
    output::line(&format!("  the web UI: http://{shown}/"))?;
    output::line(&format!(
        "  curl -s http://{}/v1/models/{}/predict -H 'content-type: application/json' -d '[{{\"age\": 52, \"workclass\": \"Private\", \"education\": \"Masters\", \"education_num\": 14, \"marital_status\": \"Married-civ-spouse\", \"occupation\": \"Exec-managerial\", \"relationship\": \"Husband\", \"race\": \"White\", \"sex\": \"Male\", \"capital_gain\": 0, \"capital_loss\": 0, \"hours_per_week\": 50, \"native_country\": \"United-States\", \"fnlwgt\": 200000}}]'",
        serving.addr,
        example::MODEL
    ))?;
    output::line(&format!(
        "  cd {} && lathe run --dry-run --tracking-uri {}",
        shell_word(&dir.display().to_string()),
        shell_word(&uri)
    ))?;
    let job =
        super::monitor::config::spawn_job(store.clone(), artifacts.clone(), config, Some(file));
    let state = AppState { store: store.clone(), artifacts: artifacts.clone() };
    let app = lathe_server::app(state).merge(lathe_ui::router(store, artifacts));
    let served = lathe_server::serve_router(listener, app, super::server::shutdown_signal()).await;
    job.abort();
    serving.stop().await;
    served?;
    Ok(())
}

fn loop_summary(
    o: &lifecycle::Outcome,
    uri: &str,
    dir: &Path,
    took: std::time::Duration,
) -> anyhow::Result<()> {
    output::line("")?;
    output::line("summary")?;
    let gate = |r: &crate::commands::run::Report| {
        r.of_kind("promote").map_or_else(|| "no gate".to_string(), |s| s.headline.clone())
    };
    output::line(&format!("  first pipeline run {}: {}", o.first.run_id, gate(&o.first)))?;
    let drifted = o.windows.iter().filter(|w| w.drift.contains("\"dataset_drift\":true")).count();
    output::line(&format!(
        "  monitoring: {} windows, {drifted} with dataset drift",
        o.windows.len()
    ))?;
    if o.alerts.is_empty() {
        output::line("  no alert fired")?;
    }
    for rule in &o.alerts {
        output::line(&format!("  alert: {rule} fired on {}", example::MODEL))?;
    }
    match &o.retrain {
        Some((rows, report)) => {
            output::line(&format!(
                "  retrain pipeline run {} (+{rows} labelled production rows): {}",
                report.run_id,
                gate(report)
            ))?;
        }
        None => output::line("  no retrain")?,
    }
    output::line(&format!(
        "  champion: {} v{}{}",
        example::MODEL,
        o.champion,
        o.served.map_or(String::new(), |v| format!(", served by lathe serve as v{v}"))
    ))?;
    output::line(&format!(
        "  recorded in {uri} (experiment 'quickstart', id {}), artifacts in {}",
        o.first.experiment_id,
        dir.join("artifacts").display()
    ))?;
    output::line(&format!("  the whole loop took {:.1} s", took.as_secs_f64()))
}

fn summary(o: &Outcome, uri: &str, dir: &Path) -> anyhow::Result<()> {
    output::line(&format!(
        "{}: {} rows, {} features, {:.1}% malignant; {} train / {} test rows (stratified, seed {})",
        pipeline::DATASET_NAME,
        o.rows,
        o.features,
        100.0 * o.positive_share,
        o.train_rows,
        o.test_rows,
        o.seed
    ))?;
    output::line("")?;
    let rows: Vec<Vec<String>> = o
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let m = &c.metrics;
            vec![
                c.run_name.to_string(),
                format!(
                    "v{}{}",
                    c.version,
                    if o.champion == Some(i) { format!(" @{CHAMPION}") } else { String::new() }
                ),
                format!("{:.4}", m.accuracy),
                format!("{:.4}", m.f1),
                format!("{:.4}", m.roc_auc),
                format!("{:.4}", m.log_loss),
                c.run_id.clone(),
            ]
        })
        .collect();
    output::table(&["MODEL", "VERSION", "ACCURACY", "F1", "ROC AUC", "LOG LOSS", "RUN ID"], &rows)?;
    let ch = &o.candidates[o.gate.challenger];
    let d = &o.gate.decision;
    output::line("")?;
    output::line(&format!(
        "gate: {} v{} (test ROC AUC {:.4}) vs {}: difference {:+.4}, {:.0}% CI [{:+.4}, {:+.4}], \
         B={} paired bootstrap resamples of the {} held-out rows -> {} ({})",
        ch.run_name,
        ch.version,
        ch.metrics.roc_auc,
        o.gate.incumbent,
        d.diff.observed,
        100.0 * d.diff.level,
        d.diff.ci_low,
        d.diff.ci_high,
        d.diff.resamples,
        o.test_rows,
        pipeline::gate_word(d),
        d.reason
    ))?;
    output::line(&format!(
        "champion: {MODEL_NAME} v{} ({}){}",
        o.champion_version,
        o.champion_name,
        if o.champion.is_some() { ", from this run" } else { ", unchanged" }
    ))?;
    output::line(&format!(
        "recorded in {uri} (experiment '{EXPERIMENT}', id {}), artifacts in {}",
        o.experiment_id,
        dir.join("artifacts").display()
    ))
}

fn next_steps(o: &Outcome, uri: &str) -> anyhow::Result<()> {
    let uri = shell_word(uri);
    output::line(&format!(
        "  lathe runs list --tracking-uri {uri} --experiment-id {}",
        o.experiment_id
    ))?;
    output::line(&format!("  lathe models show {MODEL_NAME} --tracking-uri {uri}"))
}

/// `s` as one shell word: unchanged when safe, else single-quoted.
fn shell_word(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-:+=@%".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        use super::shell_word;
        assert_eq!(shell_word("sqlite:////tmp/q/lathe.db"), "sqlite:////tmp/q/lathe.db");
        assert_eq!(shell_word("/tmp/my dir"), "'/tmp/my dir'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}
