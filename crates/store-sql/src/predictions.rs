//! The prediction log and the ground-truth labels joined to it.
//!
//! `lathe serve` writes the log in batches from a background task, so a
//! batch is one multi-row `INSERT` per chunk inside one transaction; an id
//! already logged is skipped, which makes a retried batch harmless.

use lathe_store::{
    Feedback, FeedbackOutcome, LabelArrival, LabelQuery, LoggedPrediction, PredictionLogSummary,
    PredictionQuery, PredictionRecord, Result, StoreError,
};
use sqlx::any::AnyRow;

use crate::{error::db, rows, sql::Sql, SqlStore};

/// Rows per `INSERT`: 7 values each stays far below SQLite's 32,766 parameters.
const CHUNK: usize = 500;

/// The most rows one read returns.
const MAX_READ: i64 = 100_000;

fn logged(row: &AnyRow) -> Result<LoggedPrediction> {
    Ok(LoggedPrediction {
        seq: rows::int(row, "seq")?,
        record: PredictionRecord {
            prediction_id: rows::text(row, "prediction_id")?,
            model_name: rows::text(row, "model_name")?,
            model_version: rows::int(row, "model_version")?,
            timestamp: rows::int(row, "timestamp")?,
            inputs: rows::text(row, "inputs")?,
            outputs: rows::text(row, "outputs")?,
            latency_us: rows::int(row, "latency_us")?,
        },
        label: rows::opt_text(row, "label")?,
        label_received_at: rows::opt_int(row, "received_at")?,
    })
}

impl SqlStore {
    pub(crate) async fn log_predictions(&self, records: &[PredictionRecord]) -> Result<()> {
        if let Some(bad) = records.iter().find(|r| r.prediction_id.is_empty()) {
            return Err(StoreError::invalid(format!(
                "prediction of model '{}' has an empty prediction_id",
                bad.model_name
            )));
        }
        if records.is_empty() {
            return Ok(());
        }
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        for chunk in records.chunks(CHUNK) {
            let mut sql = Sql::new(
                self.dialect,
                "INSERT INTO predictions (prediction_id, model_name, model_version, timestamp, \
                 inputs, outputs, latency_us) VALUES ",
            );
            for (i, r) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.arg(r.prediction_id.as_str()).push(", ");
                sql.arg(r.model_name.as_str()).push(", ");
                sql.arg(r.model_version).push(", ");
                sql.arg(r.timestamp).push(", ");
                sql.arg(r.inputs.as_str()).push(", ");
                sql.arg(r.outputs.as_str()).push(", ");
                sql.arg(r.latency_us).push(")");
            }
            sql.push(" ON CONFLICT (prediction_id) DO NOTHING");
            sql.query().execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    pub(crate) async fn read_predictions(
        &self,
        q: &PredictionQuery,
    ) -> Result<Vec<LoggedPrediction>> {
        if q.limit <= 0 || q.limit > MAX_READ {
            return Err(StoreError::invalid(format!(
                "limit must be between 1 and {MAX_READ}, got {}",
                q.limit
            )));
        }
        let mut sql = Sql::new(
            self.dialect,
            "SELECT p.seq, p.prediction_id, p.model_name, p.model_version, p.timestamp, \
             p.inputs, p.outputs, p.latency_us, f.label, f.received_at \
             FROM predictions p LEFT JOIN prediction_feedback f \
             ON f.prediction_id = p.prediction_id WHERE p.model_name = ",
        );
        sql.arg(q.model_name.as_str()).push(" AND p.model_version = ").arg(q.model_version);
        sql.push(" AND p.seq > ").arg(q.after_seq);
        if let Some(from) = q.from_time {
            sql.push(" AND p.timestamp >= ").arg(from);
        }
        if let Some(to) = q.to_time {
            sql.push(" AND p.timestamp < ").arg(to);
        }
        sql.push(" ORDER BY p.seq LIMIT ").arg(q.limit);
        let found = sql.query().fetch_all(&self.pool).await.map_err(db)?;
        found.iter().map(logged).collect()
    }

    pub(crate) async fn labels_since(&self, q: &LabelQuery) -> Result<Vec<LabelArrival>> {
        if q.limit <= 0 || q.limit > MAX_READ {
            return Err(StoreError::invalid(format!(
                "limit must be between 1 and {MAX_READ}, got {}",
                q.limit
            )));
        }
        // Driven by the index on (model, version, received_at): this
        // version's labels that arrived since the cursor, not its log. CROSS
        // JOIN makes SQLite keep that order (its planner would otherwise walk
        // the version's predictions and look each label up).
        let mut sql = Sql::new(
            self.dialect,
            "SELECT p.seq, p.timestamp, f.received_at FROM prediction_feedback f \
             CROSS JOIN predictions p WHERE p.prediction_id = f.prediction_id \
             AND f.model_name = ",
        );
        sql.arg(q.model_name.as_str()).push(" AND f.model_version = ").arg(q.model_version);
        sql.push(" AND f.received_at >= ").arg(q.received_after);
        sql.push(" AND (f.received_at > ").arg(q.received_after);
        sql.push(" OR p.seq > ").arg(q.after_seq).push(")");
        sql.push(" ORDER BY f.received_at, p.seq LIMIT ").arg(q.limit);
        let found = sql.query().fetch_all(&self.pool).await.map_err(db)?;
        found
            .iter()
            .map(|row| {
                Ok(LabelArrival {
                    seq: rows::int(row, "seq")?,
                    timestamp: rows::int(row, "timestamp")?,
                    received_at: rows::int(row, "received_at")?,
                })
            })
            .collect()
    }

    pub(crate) async fn prediction_log_summary(
        &self,
        model_name: Option<&str>,
    ) -> Result<Vec<PredictionLogSummary>> {
        let mut sql = Sql::new(
            self.dialect,
            "SELECT p.model_name, p.model_version, COUNT(*) AS row_count, \
             COUNT(f.prediction_id) AS labeled, MIN(p.timestamp) AS first_time, \
             MAX(p.timestamp) AS last_time, MAX(p.seq) AS last_seq \
             FROM predictions p LEFT JOIN prediction_feedback f \
             ON f.prediction_id = p.prediction_id",
        );
        if let Some(name) = model_name {
            sql.push(" WHERE p.model_name = ").arg(name);
        }
        sql.push(" GROUP BY p.model_name, p.model_version ORDER BY p.model_name, p.model_version");
        let found = sql.query().fetch_all(&self.pool).await.map_err(db)?;
        found
            .iter()
            .map(|row| {
                Ok(PredictionLogSummary {
                    model_name: rows::text(row, "model_name")?,
                    model_version: rows::int(row, "model_version")?,
                    rows: rows::int(row, "row_count")?,
                    labeled: rows::int(row, "labeled")?,
                    first_time: rows::int(row, "first_time")?,
                    last_time: rows::int(row, "last_time")?,
                    last_seq: rows::int(row, "last_seq")?,
                })
            })
            .collect()
    }

    pub(crate) async fn record_feedback(
        &self,
        feedback: &[Feedback],
        overwrite: bool,
    ) -> Result<FeedbackOutcome> {
        let mut outcome = FeedbackOutcome::default();
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        for f in feedback {
            let known: Option<(String, i64)> = sqlx::query_as(
                "SELECT model_name, model_version FROM predictions WHERE prediction_id = $1",
            )
            .bind(f.prediction_id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            let Some((model_name, model_version)) = known else {
                outcome.unknown.push(f.prediction_id.clone());
                continue;
            };
            let conflict = if overwrite {
                "DO UPDATE SET label = excluded.label, received_at = excluded.received_at"
            } else {
                "DO NOTHING"
            };
            let written = sqlx::query(&format!(
                "INSERT INTO prediction_feedback (prediction_id, label, received_at, model_name, \
                 model_version) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (prediction_id) {conflict}"
            ))
            .bind(f.prediction_id.as_str())
            .bind(f.label.as_str())
            .bind(f.received_at)
            .bind(model_name.as_str())
            .bind(model_version)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            if written.rows_affected() > 0 {
                outcome.stored.push(f.prediction_id.clone());
            } else {
                outcome.kept_first.push(f.prediction_id.clone());
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(outcome)
    }
}
