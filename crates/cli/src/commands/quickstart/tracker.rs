//! The tracking store seen from synchronous compute code, and the
//! [`RunRecorder`] adapter through which `lathe-train` logs into a run.
//!
//! # Why this cannot deadlock
//!
//! The store is async (`Arc<dyn Store>`); learners are plain synchronous
//! loops that call `RunRecorder` methods. The quickstart pipeline therefore
//! runs as a whole on tokio's blocking pool (`spawn_blocking`), and every
//! store or artifact call it makes goes through [`Tracker::block`], which
//! is `Handle::block_on` on the runtime the store was opened on.
//!
//! - A blocking-pool thread is not an async worker, so `block_on` there is
//!   allowed (tokio panics if it is called from inside an async task, which
//!   cannot happen: nothing here is `async`) and parks no worker.
//! - The runtime is checked to be multi-threaded ([`Tracker::new`]): its
//!   worker threads keep driving IO and timers (sqlx's pool, file writes)
//!   while the blocking thread waits, so the awaited future always progresses.
//! - Nothing awaited here waits on the pipeline thread in return; the async
//!   side only awaits the pipeline's `JoinHandle`.

use std::{
    collections::BTreeSet,
    future::Future,
    sync::{Arc, Mutex},
};

use anyhow::{bail, Context};
use indicatif::ProgressBar;
use lathe_core::{now_millis, DatasetInput, Metric, Param, RunRecorder, RunStatus, Tag};
use lathe_store::{ArtifactStore, CreateRun, Store, StoreError, UpdateRun};
use tokio::runtime::{Handle, RuntimeFlavor};

/// The store and the artifact directory, usable from a blocking thread.
pub(crate) struct Tracker {
    store: Arc<dyn Store>,
    artifacts: Arc<dyn ArtifactStore>,
    handle: Handle,
    user: String,
    /// `mlflow.source.name` of the runs it starts.
    source: &'static str,
    /// Runs started and not yet ended, for whoever must end them on Ctrl-C.
    live: Arc<Mutex<LiveRuns>>,
}

/// The runs a tracker has open; once closed, it starts no more.
#[derive(Debug, Default)]
pub(crate) struct LiveRuns {
    ids: BTreeSet<String>,
    closed: bool,
}

impl LiveRuns {
    /// Refuses new runs from now on and returns the open ones.
    pub(crate) fn close(&mut self) -> Vec<String> {
        self.closed = true;
        std::mem::take(&mut self.ids).into_iter().collect()
    }
}

impl Tracker {
    /// A tracker on `handle`, which must belong to a multi-thread runtime.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        artifacts: Arc<dyn ArtifactStore>,
        handle: Handle,
    ) -> anyhow::Result<Tracker> {
        if handle.runtime_flavor() != RuntimeFlavor::MultiThread {
            bail!("lathe needs a multi-thread tokio runtime to drive the store while it trains");
        }
        let user =
            std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "lathe".into());
        Ok(Tracker {
            store,
            artifacts,
            handle,
            user,
            source: "lathe quickstart",
            live: Arc::default(),
        })
    }

    /// The same tracker, naming `source` as the runs' `mlflow.source.name`.
    pub(crate) fn with_source(mut self, source: &'static str) -> Tracker {
        self.source = source;
        self
    }

    /// The runs started and not yet ended (shared, kept current).
    pub(crate) fn live_runs(&self) -> Arc<Mutex<LiveRuns>> {
        Arc::clone(&self.live)
    }

    fn ended(&self, run_id: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.ids.remove(run_id);
        }
    }

    /// Runs one store future to completion from the (blocking) pipeline thread.
    pub(crate) fn block<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// The metadata store.
    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The artifact store.
    pub(crate) fn artifacts(&self) -> &dyn ArtifactStore {
        self.artifacts.as_ref()
    }

    /// The bytes of the artifact at `path` (relative to the run's artifact
    /// root) of a run whose artifacts live under `mlflow-artifacts:/`.
    pub(crate) fn read_run_artifact(&self, run_id: &str, path: &str) -> anyhow::Result<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        let run = self.block(self.store.get_run(run_id))?;
        let uri = &run.info.artifact_uri;
        let prefix = proxied_path(uri)
            .with_context(|| format!("run {run_id} stores its artifacts at {uri}, not here"))?;
        let full = format!("{prefix}/{}", path.trim_start_matches('/'));
        let mut bytes = Vec::new();
        self.block(async {
            let (mut stream, _) = self.artifacts.get(&full).await?;
            stream.read_to_end(&mut bytes).await.map_err(anyhow::Error::from)
        })
        .with_context(|| format!("cannot read {path} of run {run_id}"))?;
        Ok(bytes)
    }

    /// Starts a run; `tags` come on top of the source, user and version tags.
    pub(crate) fn start_run(
        &self,
        experiment_id: &str,
        name: &str,
        mut tags: Vec<Tag>,
    ) -> anyhow::Result<StoreRecorder<'_>> {
        // A caller may name its own source in `tags` (`lathe llm finetune`).
        if !tags.iter().any(|t| t.key == "mlflow.source.name") {
            tags.push(Tag::new("mlflow.source.name", self.source));
        }
        tags.extend([
            Tag::new("mlflow.source.type", "LOCAL"),
            Tag::new("mlflow.user", self.user.clone()),
            Tag::new("lathe.version", env!("CARGO_PKG_VERSION")),
        ]);
        // Held while the run is created, so that a Ctrl-C handler that
        // closes the set sees every run this tracker ever started.
        let mut live = self.live.lock().map_err(|_| anyhow::anyhow!("run registry poisoned"))?;
        if live.closed {
            bail!("interrupted: run '{name}' not started");
        }
        let run = self
            .block(self.store.create_run(CreateRun {
                experiment_id: experiment_id.to_string(),
                user_id: self.user.clone(),
                start_time: None,
                run_name: Some(name.to_string()),
                tags,
            }))
            .with_context(|| format!("cannot start run '{name}'"))?;
        let uri = &run.info.artifact_uri;
        let Some(prefix) = proxied_path(uri) else {
            // Mark it failed rather than leave a run that claims to be running.
            let _ = self.block(self.store.update_run(&run.info.run_id, failed()));
            bail!(
                "run '{name}' would store artifacts at {uri}; {} writes only under \
                 mlflow-artifacts:/ (its artifacts directory)",
                self.source
            );
        };
        live.ids.insert(run.info.run_id.clone());
        drop(live);
        Ok(StoreRecorder {
            tracker: self,
            run_id: run.info.run_id,
            prefix,
            progress: None,
            finished: false,
        })
    }
}

/// The path under the artifact root of an `mlflow-artifacts:` URI, as the server maps it.
fn proxied_path(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("mlflow-artifacts:")?;
    let rest = match rest.strip_prefix("//") {
        Some(with_host) => with_host.split_once('/').map_or("", |(_, p)| p),
        None => rest,
    };
    Some(rest.trim_matches('/').to_string())
}

fn failed() -> UpdateRun {
    UpdateRun { status: Some(RunStatus::Failed), end_time: Some(now_millis()), run_name: None }
}

/// One open run. Everything logged goes straight to the store (each call is
/// one store transaction); artifacts go to `<artifact root>/<exp>/<run>/artifacts/`.
/// A run dropped without [`StoreRecorder::finish`] is marked `FAILED`.
pub(crate) struct StoreRecorder<'t> {
    tracker: &'t Tracker,
    run_id: String,
    prefix: String,
    progress: Option<ProgressBar>,
    finished: bool,
}

impl StoreRecorder<'_> {
    /// The run's id.
    pub(crate) fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Moves `bar` to step + 1 whenever a metric point with a step arrives.
    pub(crate) fn show_steps_on(&mut self, bar: ProgressBar) {
        self.progress = Some(bar);
    }

    /// Ends the run as `FINISHED`.
    pub(crate) fn finish(mut self) -> anyhow::Result<()> {
        self.finished = true;
        let update = UpdateRun {
            status: Some(RunStatus::Finished),
            end_time: Some(now_millis()),
            run_name: None,
        };
        self.tracker
            .block(self.tracker.store.update_run(&self.run_id, update))
            .with_context(|| format!("cannot finish run {}", self.run_id))?;
        self.tracker.ended(&self.run_id);
        Ok(())
    }

    /// Metric points logged now at step 0.
    pub(crate) fn log_values(&mut self, values: &[(&str, f64)]) -> Result<(), StoreError> {
        let timestamp = now_millis();
        let metrics: Vec<Metric> = values
            .iter()
            .map(|(key, value)| Metric { key: key.to_string(), value: *value, timestamp, step: 0 })
            .collect();
        self.log_metrics(&metrics)
    }
}

impl Drop for StoreRecorder<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // Best effort: the error that got us here is what the user needs to see.
            let _ = self.tracker.block(self.tracker.store.update_run(&self.run_id, failed()));
            self.tracker.ended(&self.run_id);
        }
    }
}

impl RunRecorder for StoreRecorder<'_> {
    type Error = StoreError;

    fn log_params(&mut self, params: &[Param]) -> Result<(), StoreError> {
        self.tracker.block(self.tracker.store.log_batch(&self.run_id, &[], params, &[]))
    }

    fn log_metrics(&mut self, metrics: &[Metric]) -> Result<(), StoreError> {
        self.tracker.block(self.tracker.store.log_batch(&self.run_id, metrics, &[], &[]))?;
        if let (Some(bar), Some(step)) = (&self.progress, metrics.iter().map(|m| m.step).max()) {
            bar.set_position(u64::try_from(step).unwrap_or(0) + 1);
        }
        Ok(())
    }

    fn set_tags(&mut self, tags: &[Tag]) -> Result<(), StoreError> {
        self.tracker.block(self.tracker.store.log_batch(&self.run_id, &[], &[], tags))
    }

    fn log_inputs(&mut self, inputs: &[DatasetInput]) -> Result<(), StoreError> {
        self.tracker.block(self.tracker.store.log_inputs(&self.run_id, inputs))
    }

    fn log_artifact(&mut self, path: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let full = format!("{}/{}", self.prefix, path.trim_start_matches('/'));
        let body: lathe_store::artifacts::ByteStream =
            Box::pin(std::io::Cursor::new(bytes.to_vec()));
        self.tracker.block(self.tracker.artifacts.put(&full, body)).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn artifact_uris_map_to_paths_under_the_root_as_the_server_does() {
        use super::proxied_path;
        assert_eq!(
            proxied_path("mlflow-artifacts:/1/abc/artifacts").as_deref(),
            Some("1/abc/artifacts")
        );
        assert_eq!(proxied_path("mlflow-artifacts://h:5000/1/x/").as_deref(), Some("1/x"));
        assert_eq!(proxied_path("file:///tmp/1/abc"), None);
    }
}
