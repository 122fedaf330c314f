//! Decoding rows into core entities.

use lathe_core::{Experiment, LifecycleStage, Tag};
use lathe_store::{Result, StoreError};
use sqlx::{any::AnyRow, Row};

use crate::error::db;

pub(crate) fn text(row: &AnyRow, col: &str) -> Result<String> {
    row.try_get::<String, _>(col).map_err(db)
}

pub(crate) fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>> {
    row.try_get::<Option<String>, _>(col).map_err(db)
}

pub(crate) fn int(row: &AnyRow, col: &str) -> Result<i64> {
    row.try_get::<i64, _>(col).map_err(db)
}

pub(crate) fn opt_int(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    row.try_get::<Option<i64>, _>(col).map_err(db)
}

/// Parses a stored enum name; a bad one means the database was edited by hand.
pub(crate) fn parsed<T: std::str::FromStr>(row: &AnyRow, col: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    text(row, col)?.parse().map_err(|e: T::Err| StoreError::Backend(format!("column {col}: {e}")))
}

pub(crate) const EXPERIMENT_COLUMNS: &str = "e.experiment_id, e.name, e.artifact_location, \
     e.lifecycle_stage, e.creation_time, e.last_update_time";

pub(crate) fn experiment(row: &AnyRow) -> Result<Experiment> {
    Ok(Experiment {
        experiment_id: int(row, "experiment_id")?.to_string(),
        name: text(row, "name")?,
        artifact_location: text(row, "artifact_location")?,
        lifecycle_stage: parsed::<LifecycleStage>(row, "lifecycle_stage")?,
        creation_time: int(row, "creation_time")?,
        last_update_time: int(row, "last_update_time")?,
        tags: Vec::new(),
    })
}

pub(crate) fn tag(row: &AnyRow) -> Result<Tag> {
    Ok(Tag { key: text(row, "key")?, value: text(row, "value")? })
}
