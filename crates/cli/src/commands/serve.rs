//! `lathe serve`: load registered model versions and answer predictions over
//! HTTP (MLflow's scoring protocol, lathe's `/v1` API, Prometheus metrics);
//! served aliases are polled and hot-swapped when they move. Every model is
//! loaded before the port is bound, so the server never answers without one
//! (`/ready` is 200 from its first request); until then a client's
//! connection is refused. Prediction routes are bounded by
//! `--max-concurrency`, `--max-queue` and `--request-timeout-ms`; concurrent
//! requests for one ONNX model version are scored in micro-batches
//! (`--max-batch-size`, `--max-batch-wait-us`; a size given on the command
//! line applies to every model, 1 turns batching off). Every
//! prediction is logged to the store in the background for monitoring, and
//! `POST /feedback` takes ground-truth labels (`--no-prediction-log` turns both off).
//! `--canary` and `--shadow` put a challenger version beside a served model.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use lathe_serve::Policy;

use super::{ArtifactsArgs, TrackingArgs};
use crate::tracking_uri;

/// Flags of `lathe serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Models to serve: models:/NAME@ALIAS or models:/NAME/VERSION; /invocations answers for the first.
    #[arg(required_unless_present_any = ["llm", "embeddings"], value_name = "MODEL_URI")]
    models: Vec<String>,
    #[command(flatten)]
    llm: super::llm::ServeArgs,
    #[command(flatten)]
    tracking: TrackingArgs,
    #[command(flatten)]
    artifacts: ArtifactsArgs,
    /// A challenger that answers a share of its model's requests, e.g.
    /// models:/churn@challenger=10% (repeat for other models).
    #[arg(long, value_name = "MODEL_URI=PERCENT")]
    canary: Vec<lathe_serve::CanarySpec>,
    /// A challenger that scores every request of its model beside it; its
    /// answers are counted and logged, never returned (repeat for other models).
    #[arg(long, value_name = "MODEL_URI")]
    shadow: Vec<String>,
    /// Address to listen on; 127.0.0.1 so nothing is exposed unless asked.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Seconds between checks of the registry for moved aliases (a moved
    /// alias's new version is loaded and swapped in); 0 turns checks off.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    poll_interval: u64,
    /// Prediction requests scored at once [default: 4 × available cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_concurrency: Option<u32>,
    /// Prediction requests that may wait for a slot; beyond it, 503 with Retry-After: 1.
    #[arg(long, default_value_t = 256, value_name = "N")]
    max_queue: usize,
    /// Milliseconds a prediction request may take, queueing included, before 504.
    #[arg(long, default_value_t = 10_000, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout_ms: u64,
    /// Most rows scored in one call of a model: concurrent requests for the
    /// same version are grouped up to it; 1 scores every request on its own.
    /// Default: 64 for ONNX models, whose graph runs a batch at once; 1 for
    /// tree and linear models, which score row by row and gain nothing.
    #[arg(long, value_name = "ROWS", value_parser = clap::value_parser!(u32).range(1..))]
    max_batch_size: Option<u32>,
    /// Microseconds a batch waits for requests already on their way to the
    /// same model version; a lone request is scored at once.
    #[arg(long, default_value_t = 200, value_name = "US")]
    max_batch_wait_us: u64,
    /// Predictions that may wait for the prediction log's writer; beyond it
    /// they are dropped and counted (lathe_serve_prediction_log_dropped_total).
    #[arg(long, default_value_t = 65_536, value_name = "N")]
    prediction_log_capacity: usize,
    /// Do not log predictions (and take no feedback); needed with a tracking
    /// server URL, which keeps no prediction log.
    #[arg(long)]
    no_prediction_log: bool,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    if args.llm.llm.is_some() || args.llm.embeddings.is_some() {
        let source =
            super::model_source::SourceArgs { tracking: args.tracking, artifacts: args.artifacts };
        return super::llm::serve(
            args.llm,
            !args.models.is_empty(),
            &args.host,
            args.port,
            &source,
        )
        .await;
    }
    let store = tracking_uri::open(&args.tracking.tracking_uri).await?;
    let artifacts = args.artifacts.open(&args.tracking)?;
    let mut models = Vec::with_capacity(args.models.len());
    for uri in &args.models {
        let model = lathe_serve::load(uri, &store, &artifacts).await?;
        if models.iter().any(|m: &lathe_serve::LoadedModel| m.name == model.name) {
            anyhow::bail!("model '{}' is named twice; serve one version per model", model.name);
        }
        tracing::info!(
            "loaded {uri}: {} version {} ({})",
            model.name,
            model.version,
            model.scorer.kind()
        );
        models.push(model);
    }
    let mut challengers = Vec::with_capacity(args.canary.len() + args.shadow.len());
    let policies = args.canary.iter().map(|c| (&c.uri, Policy::Canary { share: c.share }));
    for (uri, policy) in policies.chain(args.shadow.iter().map(|uri| (uri, Policy::Shadow))) {
        let model = lathe_serve::load(uri, &store, &artifacts).await?;
        tracing::info!("loaded {uri}: {} version {} as {policy}", model.name, model.version);
        challengers.push(lathe_serve::Challenger { model, policy });
    }
    let served =
        lathe_serve::Served::with_challengers(models, challengers).map_err(anyhow::Error::msg)?;
    let addr: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .with_context(|| format!("invalid --host/--port: {}:{}", args.host, args.port))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!("lathe serve listening on http://{}", listener.local_addr()?);
    let defaults = lathe_serve::Options::default();
    let options = lathe_serve::Options {
        max_concurrency: args
            .max_concurrency
            .map_or(defaults.max_concurrency, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        max_queue: args.max_queue,
        request_timeout: Duration::from_millis(args.request_timeout_ms),
        max_batch_size: args.max_batch_size.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        max_batch_wait: Duration::from_micros(args.max_batch_wait_us),
        ..defaults
    };
    let limits = lathe_serve::Limits::new(options);
    let (app, log_writer) = if args.no_prediction_log {
        (served.router_with_limits(limits), None)
    } else {
        let log_options = lathe_serve::LogOptions {
            capacity: args.prediction_log_capacity,
            ..lathe_serve::LogOptions::default()
        };
        // Fail at start, not row by row, when the store keeps no log.
        if let Err(lathe_store::StoreError::Unsupported(why)) =
            store.prediction_log_summary(Some("")).await
        {
            anyhow::bail!("{why}; or pass --no-prediction-log");
        }
        let (log, writer) = lathe_serve::PredictionLog::spawn(Arc::clone(&store), log_options);
        (served.router_with_log(limits, log), Some(writer))
    };
    let watcher = (args.poll_interval > 0).then(|| {
        let interval = Duration::from_secs(args.poll_interval);
        lathe_serve::watch::spawn(served, store, artifacts, interval)
    });
    let result = lathe_server::serve_router(listener, app, super::server::shutdown_signal()).await;
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    if let Some(writer) = log_writer {
        writer.shutdown().await;
    }
    result?;
    Ok(())
}
