//! Production traffic for the quickstart: the champion served by the real
//! `lathe serve` app on 127.0.0.1 (prediction log into the store, registry
//! watch for hot swaps), single-row requests over HTTP as a client would
//! send them, then the ground-truth labels on `POST /feedback`.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{bail, Context};
use lathe_serve::{Limits, LogOptions, Options, PredictionLog, PredictionLogWriter, Served};
use lathe_store::{ArtifactStore, Store};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::example::Labelled;

/// A running `lathe serve` for one model alias.
pub(crate) struct Serving {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    served: Served,
    store: Arc<dyn Store>,
    artifacts: Arc<dyn ArtifactStore>,
    writer: PredictionLogWriter,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
    watcher: tokio::task::JoinHandle<()>,
}

impl Serving {
    /// Serves `uri` (`models:/NAME@ALIAS`) on `listener`.
    pub(crate) async fn start(
        uri: &str,
        listener: tokio::net::TcpListener,
        store: Arc<dyn Store>,
        artifacts: Arc<dyn ArtifactStore>,
    ) -> anyhow::Result<Serving> {
        let model = lathe_serve::load(uri, &store, &artifacts)
            .await
            .with_context(|| format!("cannot serve {uri}"))?;
        let served =
            Served::with_challengers(vec![model], Vec::new()).map_err(anyhow::Error::msg)?;
        let (log, writer) = PredictionLog::spawn(Arc::clone(&store), LogOptions::default());
        let app = served.router_with_log(Limits::new(Options::default()), log);
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = lathe_server::serve_router(listener, app, shutdown).await {
                tracing::warn!("lathe serve stopped: {e}");
            }
        });
        let watcher = lathe_serve::watch::spawn(
            served.clone(),
            Arc::clone(&store),
            Arc::clone(&artifacts),
            Duration::from_secs(5),
        );
        Ok(Serving { addr, served, store, artifacts, writer, stop, server, watcher })
    }

    /// Picks up an alias that moved now rather than at the next watch tick.
    pub(crate) async fn refresh(&self) {
        lathe_serve::watch::check_once(&self.served, &self.store, &self.artifacts).await;
    }

    /// Stops serving and flushes the prediction log.
    pub(crate) async fn stop(self) {
        self.watcher.abort();
        let _ = self.stop.send(());
        let _ = self.server.await;
        self.writer.shutdown().await;
    }
}

/// Sends each row as one prediction request to `model`, waits until the
/// prediction log holds them, then posts every label; returns the versions
/// that answered, with their counts.
pub(crate) async fn replay(
    serving: &Serving,
    model: &str,
    rows: &[Labelled],
    store: &dyn Store,
) -> anyhow::Result<Vec<(i64, usize)>> {
    let client = reqwest::Client::new();
    let base = format!("http://{}", serving.addr);
    let before = logged(store, model).await?;
    let mut labels = Vec::with_capacity(rows.len());
    let mut versions: Vec<(i64, usize)> = Vec::new();
    for row in rows {
        let body = json!([Value::Object(row.inputs.clone())]);
        let response = client
            .post(format!("{base}/v1/models/{model}/predict"))
            .json(&body)
            .send()
            .await
            .context("lathe serve did not answer")?;
        let status = response.status();
        let answer: Value = response.json().await.context("lathe serve sent no JSON")?;
        if !status.is_success() {
            bail!("lathe serve refused a production row ({status}): {answer}");
        }
        let id = answer["prediction_id"].as_str().context("no prediction_id")?.to_string();
        let version = answer["model"]["version"].as_i64().unwrap_or(0);
        match versions.iter_mut().find(|(v, _)| *v == version) {
            Some((_, n)) => *n += 1,
            None => versions.push((version, 1)),
        }
        labels.push(json!({ "prediction_id": id, "label": row.label }));
    }
    // Labels join logged predictions: wait for the log's writer first.
    let expected = before + rows.len() as i64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while logged(store, model).await? < expected {
        if tokio::time::Instant::now() > deadline {
            bail!("the prediction log did not reach {expected} rows within a minute");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for batch in labels.chunks(1_000) {
        let response = client
            .post(format!("{base}/feedback"))
            .json(&Value::from(batch.to_vec()))
            .send()
            .await
            .context("lathe serve did not take the labels")?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("lathe serve refused the labels ({status}): {answer}");
        }
    }
    Ok(versions)
}

/// Predictions of `model` in the log, all versions.
async fn logged(store: &dyn Store, model: &str) -> anyhow::Result<i64> {
    Ok(store.prediction_log_summary(Some(model)).await?.iter().map(|s| s.rows).sum())
}
