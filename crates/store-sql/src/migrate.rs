//! A minimal migration runner.
//!
//! sqlx's own migrator needs its proc-macro crate to embed files, which
//! compiles both database drivers a second time for the host; this runner
//! takes migrations embedded with `include_str!` and records them in
//! `lathe_migrations`, each applied in its own transaction.

use lathe_store::Result;
use sqlx::AnyPool;

use crate::error::db;

/// One schema change, applied once, in order of `version`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Increasing number.
    pub version: i64,
    /// Short name.
    pub description: &'static str,
    /// SQL statements, separated by `;`.
    pub sql: &'static str,
}

pub(crate) async fn run(pool: &AnyPool, migrations: &[Migration]) -> Result<()> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS lathe_migrations \
         (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(pool)
    .await
    .map_err(db)?;
    for m in migrations {
        let mut tx = pool.begin().await.map_err(db)?;
        let done: Option<(i64,)> =
            sqlx::query_as("SELECT version FROM lathe_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        if done.is_some() {
            continue;
        }
        for statement in statements(m.sql) {
            sqlx::query(&statement).execute(&mut *tx).await.map_err(db)?;
        }
        sqlx::query(
            "INSERT INTO lathe_migrations (version, description, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.description)
        .bind(lathe_core::now_millis())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        tracing::info!(version = m.version, description = m.description, "applied migration");
    }
    Ok(())
}

/// Splits a migration into statements at `;`, ignoring `;` inside quoted
/// strings and `--` comments (which are dropped).
fn statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            '-' if !quoted && chars.peek() == Some(&'-') => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        current.push('\n');
                        break;
                    }
                }
            }
            ';' if !quoted => statements.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    statements.push(current);
    statements.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::statements;

    #[test]
    fn comments_and_quotes_do_not_split_statements() {
        let sql =
            "-- a; b\nCREATE TABLE t (x TEXT DEFAULT '--;');  -- c; d\n\nSELECT 1;\n-- end;\n";
        assert_eq!(statements(sql), vec!["CREATE TABLE t (x TEXT DEFAULT '--;')", "SELECT 1"]);
    }
}
