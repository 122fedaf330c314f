//! lathe's `Store` over SQL, for SQLite and PostgreSQL alike.
//!
//! Both backends run the same queries through sqlx's `Any` driver: every
//! statement uses `$N` placeholders (both engines accept them) and only
//! types both engines share (64-bit integers, doubles, text). What differs
//! (schema DDL, connection pragmas, case-sensitive `LIKE`) lives in
//! `lathe-store-sqlite` and `lathe-store-postgres`, which build a
//! [`SqlStore`] from a pool and a [`Dialect`].

mod error;
mod experiments;
mod history;
mod logged_models;
mod migrate;
mod monitoring;
mod packed;
mod predictions;
mod registry;
mod rows;
mod runs;
mod search;
mod sql;
mod store_impl;

use sqlx::AnyPool;
use tokio::sync::{Mutex, MutexGuard};

pub use migrate::Migration;

/// The SQL engine behind a [`SqlStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: one writer at a time, serialized in-process.
    Sqlite,
    /// PostgreSQL: concurrent writers, the server arbitrates.
    Postgres,
}

/// The `Store` implementation over a sqlx pool.
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
    artifact_root: String,
    // SQLite allows one writer; taking this lock before a write transaction
    // avoids SQLITE_BUSY on lock upgrades, which busy_timeout cannot retry.
    write_lock: Option<Mutex<()>>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("dialect", &self.dialect).finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Wraps a pool whose schema is migrated; `artifact_root` is the default
    /// root for new experiments' artifacts (e.g. `mlflow-artifacts:/` or
    /// `file:///srv/artifacts`), under which each experiment gets `/<id>`.
    pub async fn new(
        pool: AnyPool,
        dialect: Dialect,
        artifact_root: &str,
    ) -> lathe_store::Result<Self> {
        let write_lock = (dialect == Dialect::Sqlite).then(|| Mutex::new(()));
        let store =
            SqlStore { pool, dialect, artifact_root: artifact_root.to_string(), write_lock };
        store.ensure_default_experiment().await?;
        Ok(store)
    }

    /// The pool, for backends' own maintenance queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The default artifact root.
    pub fn artifact_root(&self) -> &str {
        &self.artifact_root
    }

    async fn write_guard(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    fn location_for(&self, id: i64) -> String {
        format!("{}/{id}", self.artifact_root.trim_end_matches('/'))
    }
}

/// Runs the backend's migrations that the database has not seen yet.
pub async fn migrate(pool: &AnyPool, migrations: &[Migration]) -> lathe_store::Result<()> {
    migrate::run(pool, migrations).await
}
