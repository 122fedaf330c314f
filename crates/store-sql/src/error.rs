//! Driver errors turned into `StoreError` at the boundary.

use lathe_store::StoreError;

/// Converts a sqlx error; `what` names the entity for not-found and conflict messages.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound("not found".into()),
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::AlreadyExists(d.message().to_string())
        }
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
            StoreError::InvalidParameter(d.message().to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}
