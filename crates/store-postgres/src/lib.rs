//! The PostgreSQL backend: how a team scales lathe's metadata out.

use lathe_store::{Result, StoreError};
use lathe_store_sql::{Dialect, Migration, SqlStore};
use sqlx::any::AnyPoolOptions;

/// This backend's schema history.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "tracking and registry",
        sql: include_str!("../migrations/0001_tracking_and_registry.sql"),
    },
    Migration {
        version: 2,
        description: "production monitoring",
        sql: include_str!("../migrations/0002_monitoring.sql"),
    },
    Migration {
        version: 3,
        description: "late labels",
        sql: include_str!("../migrations/0003_late_labels.sql"),
    },
];

/// Connects to `url` (`postgresql://user@host:port/db`), migrates, and returns
/// a store whose new experiments put artifacts under `artifact_root`.
pub async fn open(url: &str, artifact_root: &str) -> Result<SqlStore> {
    sqlx::any::install_default_drivers();
    let url = url.replacen("postgresql://", "postgres://", 1);
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .connect(&url)
        .await
        .map_err(|e| StoreError::Backend(format!("cannot connect to PostgreSQL: {e}")))?;
    // Several servers may start at once against one database: serialize
    // migrations with a session lock held on one dedicated connection.
    let mut lock = pool.acquire().await.map_err(|e| StoreError::Backend(e.to_string()))?;
    sqlx::query("SELECT pg_advisory_lock(7361746865)")
        .execute(&mut *lock)
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let migrated = lathe_store_sql::migrate(&pool, MIGRATIONS).await;
    let _ = sqlx::query("SELECT pg_advisory_unlock(7361746865)").execute(&mut *lock).await;
    drop(lock);
    migrated?;
    SqlStore::new(pool, Dialect::Postgres, artifact_root).await
}
