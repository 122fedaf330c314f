//! Hot swap: the served models, and the watcher that replaces a version when
//! its alias moves in the registry.
//!
//! **Why polling.** The registry is a [`Store`]: SQLite or PostgreSQL behind
//! lathe's own server, or a remote tracking server over MLflow's REST API.
//! None of them can push a change to a reader, so the server asks:
//! [`check_once`] resolves every served `NAME@ALIAS` and, where it names
//! another version, loads that one; [`spawn`] runs it every poll interval.
//! Each check is one cheap query per alias, and a replica needs no
//! connection back from the registry (several replicas share one store).
//!
//! **Why the swap is atomic.** Each served model is a slot holding an
//! `Arc` of its current version behind a [`RwLock`]. A request takes the
//! read lock only long enough to clone that `Arc`, then scores with its own
//! reference, so it finishes on the version it started with however long it
//! runs. The watcher loads the new version completely, off the request path,
//! and only then takes the write lock to replace the `Arc` (one pointer
//! store); the old version is freed when its last request drops it. Each
//! version has its own micro-batch queue ([`crate::batch`]), so requests
//! already queued with the old version are scored by it, and its queue
//! goes with it. A version that fails to load is logged and never replaces
//! anything, so the old one keeps serving. No request ever sees a half-loaded model and none
//! waits on a load.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, PoisonError, RwLock,
    },
    time::Duration,
};

use lathe_store::{ArtifactStore, Store};

use crate::{
    batch::Batcher,
    load,
    metrics::VersionMetrics,
    traffic::{self, Challenger, Policy, Routed},
    LoadedModel,
};

/// One model version as requests see it: the model and its counters.
#[derive(Debug)]
pub(crate) struct Current {
    pub(crate) model: LoadedModel,
    pub(crate) metrics: Arc<VersionMetrics>,
    /// Its own queue, so a request is batched with the version it was routed to.
    pub(crate) batch: Batcher,
}

#[derive(Debug)]
struct Inner {
    /// The served models first (`primaries` of them), then their challengers.
    slots: Vec<RwLock<Arc<Current>>>,
    primaries: usize,
    /// Per served model, the challenger slot and how it takes traffic.
    routes: Vec<Option<(usize, Policy)>>,
    /// The counters of every version served since start, swapped-out ones too.
    history: Mutex<Vec<Arc<VersionMetrics>>>,
    swaps: AtomicU64,
}

/// The models a server answers for, each replaceable while it serves.
/// Cloning is cheap and shares them (the router holds one, the watcher another).
#[derive(Debug, Clone)]
pub struct Served(Arc<Inner>);

impl Served {
    /// Serves `models`, one slot each (`/invocations` answers for the first).
    pub fn new(models: Vec<LoadedModel>) -> Served {
        let routes = vec![None; models.len()];
        Served::assemble(models, routes)
    }

    /// Serves `models` and, beside some of them, a challenger that takes a
    /// canary share of the model's requests or shadows all of them. Each
    /// challenger must be a version of a served model (by name), at most
    /// one per model; it is hot-swapped like the others.
    pub fn with_challengers(
        models: Vec<LoadedModel>,
        challengers: Vec<Challenger>,
    ) -> std::result::Result<Served, String> {
        let primaries = models.len();
        let mut routes: Vec<Option<(usize, Policy)>> = vec![None; primaries];
        let mut all = models;
        for challenger in challengers {
            let name = &challenger.model.name;
            let Some(i) = all[..primaries].iter().position(|m| &m.name == name) else {
                let uri = &challenger.model.uri;
                return Err(format!("challenger {uri}: model '{name}' is not served"));
            };
            if routes[i].is_some() {
                return Err(format!("model '{name}' has two challengers; give it one"));
            }
            routes[i] = Some((all.len(), challenger.policy));
            all.push(challenger.model);
        }
        Ok(Served::assemble(all, routes))
    }

    /// `all` holds the served models (one per route) followed by their challengers.
    fn assemble(all: Vec<LoadedModel>, routes: Vec<Option<(usize, Policy)>>) -> Served {
        let mut history = Vec::with_capacity(all.len());
        let slots = all
            .into_iter()
            .map(|model| {
                let metrics = Arc::new(VersionMetrics::new(&model.name, model.version));
                history.push(Arc::clone(&metrics));
                RwLock::new(Arc::new(Current { model, metrics, batch: Batcher::default() }))
            })
            .collect();
        Served(Arc::new(Inner {
            slots,
            primaries: routes.len(),
            routes,
            history: Mutex::new(history),
            swaps: AtomicU64::new(0),
        }))
    }

    /// How many models are served (challengers not counted).
    pub fn len(&self) -> usize {
        self.0.primaries
    }

    /// Whether no model is served.
    pub fn is_empty(&self) -> bool {
        self.0.primaries == 0
    }

    /// The version slot `i` serves now; the lock is held only to clone the `Arc`.
    pub(crate) fn current(&self, i: usize) -> Option<Arc<Current>> {
        let slot = self.0.slots.get(i)?;
        Some(Arc::clone(&slot.read().unwrap_or_else(PoisonError::into_inner)))
    }

    /// Who answers request `id` for served model `i` under its traffic
    /// policy, and who shadows it.
    pub(crate) fn route(&self, i: usize, id: &str) -> Option<Routed> {
        if i >= self.0.primaries {
            return None;
        }
        let primary = self.current(i)?;
        let Some((challenger, policy)) = self.0.routes.get(i).copied().flatten() else {
            return Some(Routed { answer: primary, shadow: None });
        };
        let challenger = self.current(challenger)?;
        Some(match policy {
            Policy::Canary { share } if traffic::takes(share, id) => {
                Routed { answer: challenger, shadow: None }
            }
            Policy::Canary { .. } => Routed { answer: primary, shadow: None },
            Policy::Shadow => Routed { answer: primary, shadow: Some(challenger) },
        })
    }

    /// Every slot's current version.
    pub(crate) fn all(&self) -> Vec<Arc<Current>> {
        (0..self.len()).filter_map(|i| self.current(i)).collect()
    }

    /// The (name, version) each slot serves now.
    pub fn versions(&self) -> Vec<(String, i64)> {
        self.all().iter().map(|c| (c.model.name.clone(), c.model.version)).collect()
    }

    /// The slot that serves `name`.
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.all().iter().position(|c| c.model.name == name)
    }

    /// Counters of every version served since start.
    pub(crate) fn history(&self) -> Vec<Arc<VersionMetrics>> {
        self.0.history.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Hot swaps so far.
    pub(crate) fn swaps(&self) -> u64 {
        self.0.swaps.load(Ordering::Relaxed)
    }

    /// Puts `model` in slot `i`; requests already running keep the old one.
    fn swap(&self, i: usize, model: LoadedModel) {
        let metrics = {
            let mut history = self.0.history.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(m) = history.iter().find(|m| m.is(&model.name, model.version)) {
                Arc::clone(m)
            } else {
                let m = Arc::new(VersionMetrics::new(&model.name, model.version));
                history.push(Arc::clone(&m));
                m
            }
        };
        let next = Arc::new(Current { model, metrics, batch: Batcher::default() });
        let old = {
            let mut slot = self.0.slots[i].write().unwrap_or_else(PoisonError::into_inner);
            std::mem::replace(&mut *slot, next)
        };
        self.0.swaps.fetch_add(1, Ordering::Relaxed);
        drop(old);
    }
}

/// What one check did to one served alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The alias still names the served version (or the model is served by version).
    Unchanged,
    /// The alias moved and the new version now serves.
    Swapped {
        /// Model name.
        name: String,
        /// The version replaced.
        from: i64,
        /// The version now served.
        to: i64,
    },
    /// The alias moved (or could not be resolved) but nothing was loaded;
    /// the old version keeps serving.
    Failed {
        /// Model name.
        name: String,
        /// Why, for the log.
        reason: String,
    },
}

/// Resolves every served alias once and swaps in the versions that moved;
/// one outcome per served model, in order, then one per challenger.
pub async fn check_once(
    served: &Served,
    store: &Arc<dyn Store>,
    artifacts: &Arc<dyn ArtifactStore>,
) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(served.0.slots.len());
    for i in 0..served.0.slots.len() {
        let Some(current) = served.current(i) else { continue };
        let served_now = &current.model;
        let Some(alias) = served_now.alias.as_deref() else {
            outcomes.push(Outcome::Unchanged);
            continue;
        };
        let failed = |reason: String| {
            tracing::warn!(
                "{}: keeps serving version {}: {reason}",
                served_now.uri,
                served_now.version
            );
            Outcome::Failed { name: served_now.name.clone(), reason }
        };
        let moved_to = match store.get_model_version_by_alias(&served_now.name, alias).await {
            Ok(v) => v.version,
            Err(e) => {
                outcomes.push(failed(format!("cannot resolve the alias: {e}")));
                continue;
            }
        };
        if moved_to == served_now.version {
            outcomes.push(Outcome::Unchanged);
            continue;
        }
        let uri = format!("models:/{}/{moved_to}", served_now.name);
        match load(&uri, store, artifacts).await {
            Ok(mut model) => {
                model.uri.clone_from(&served_now.uri);
                model.alias = Some(alias.to_string());
                let (name, from, to) = (model.name.clone(), served_now.version, model.version);
                served.swap(i, model);
                tracing::info!("{}: swapped version {from} for version {to}", served_now.uri);
                outcomes.push(Outcome::Swapped { name, from, to });
            }
            Err(e) => outcomes.push(failed(format!("version {moved_to} failed to load: {e}"))),
        }
    }
    outcomes
}

/// Runs [`check_once`] every `interval` in the background, until aborted.
pub fn spawn(
    served: Served,
    store: Arc<dyn Store>,
    artifacts: Arc<dyn ArtifactStore>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            check_once(&served, &store, &artifacts).await;
        }
    })
}
