//! Monitoring windows and alert episodes with their deliveries.
//!
//! Both are written by the server's monitoring job. A window's key is its
//! primary key, so a window computed twice (two servers, a restart) is
//! stored once, and only its performance part is rewritten when late
//! labels rescore it; a partial unique index allows one firing episode per rule
//! and model, so an alert cannot fire twice in one episode.

use lathe_core::new_id;
use lathe_store::{AlertDelivery, AlertEpisode, MonitoringWindow, Result, StoreError};
use sqlx::any::AnyRow;

use crate::{error::db, rows, sql::Sql, SqlStore};

const WINDOW_COLUMNS: &str = "model_name, model_version, window_kind, window_index, start_time, \
     end_time, first_seq, last_seq, row_count, labeled_rows, status, drift, performance, computed_at, \
     labels_through";

const EPISODE_COLUMNS: &str = "episode_id, rule, model_name, state, fired_at, resolved_at, detail";

fn window(row: &AnyRow) -> Result<MonitoringWindow> {
    Ok(MonitoringWindow {
        model_name: rows::text(row, "model_name")?,
        model_version: rows::int(row, "model_version")?,
        kind: rows::text(row, "window_kind")?,
        index: rows::int(row, "window_index")?,
        start_time: rows::int(row, "start_time")?,
        end_time: rows::int(row, "end_time")?,
        first_seq: rows::int(row, "first_seq")?,
        last_seq: rows::int(row, "last_seq")?,
        rows: rows::int(row, "row_count")?,
        labeled_rows: rows::int(row, "labeled_rows")?,
        status: rows::text(row, "status")?,
        drift: rows::text(row, "drift")?,
        performance: rows::text(row, "performance")?,
        computed_at: rows::int(row, "computed_at")?,
        labels_through: rows::int(row, "labels_through")?,
    })
}

fn episode(row: &AnyRow) -> Result<AlertEpisode> {
    Ok(AlertEpisode {
        episode_id: rows::text(row, "episode_id")?,
        rule: rows::text(row, "rule")?,
        model_name: rows::text(row, "model_name")?,
        state: rows::text(row, "state")?,
        fired_at: rows::int(row, "fired_at")?,
        resolved_at: rows::opt_int(row, "resolved_at")?,
        detail: rows::text(row, "detail")?,
    })
}

impl SqlStore {
    pub(crate) async fn put_window(&self, w: &MonitoringWindow) -> Result<bool> {
        if w.status != "ok" && w.status != "insufficient_data" {
            return Err(StoreError::invalid(format!(
                "window status must be 'ok' or 'insufficient_data', got '{}'",
                w.status
            )));
        }
        let mut sql = Sql::new(
            self.dialect,
            &format!("INSERT INTO monitoring_windows ({WINDOW_COLUMNS}) VALUES ("),
        );
        sql.arg(w.model_name.as_str()).push(", ").arg(w.model_version).push(", ");
        sql.arg(w.kind.as_str()).push(", ").arg(w.index).push(", ");
        sql.arg(w.start_time).push(", ").arg(w.end_time).push(", ");
        sql.arg(w.first_seq).push(", ").arg(w.last_seq).push(", ");
        sql.arg(w.rows).push(", ").arg(w.labeled_rows).push(", ");
        sql.arg(w.status.as_str()).push(", ").arg(w.drift.as_str()).push(", ");
        sql.arg(w.performance.as_str()).push(", ").arg(w.computed_at).push(", ");
        sql.arg(w.labels_through);
        sql.push(") ON CONFLICT (model_name, model_version, window_kind, window_index) DO NOTHING");
        let _w = self.write_guard().await;
        let done = sql.query().execute(&self.pool).await.map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn rescore_window(&self, w: &MonitoringWindow) -> Result<bool> {
        let mut sql = Sql::new(self.dialect, "UPDATE monitoring_windows SET labeled_rows = ");
        sql.arg(w.labeled_rows).push(", performance = ").arg(w.performance.as_str());
        sql.push(", labels_through = ").arg(w.labels_through);
        sql.push(" WHERE model_name = ").arg(w.model_name.as_str());
        sql.push(" AND model_version = ").arg(w.model_version);
        sql.push(" AND window_kind = ").arg(w.kind.as_str());
        sql.push(" AND window_index = ").arg(w.index);
        let _w = self.write_guard().await;
        let done = sql.query().execute(&self.pool).await.map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn list_windows(
        &self,
        model_name: &str,
        model_version: Option<i64>,
    ) -> Result<Vec<MonitoringWindow>> {
        let mut sql = Sql::new(
            self.dialect,
            &format!("SELECT {WINDOW_COLUMNS} FROM monitoring_windows WHERE model_name = "),
        );
        sql.arg(model_name);
        if let Some(v) = model_version {
            sql.push(" AND model_version = ").arg(v);
        }
        sql.push(" ORDER BY model_version, window_kind, window_index");
        let found = sql.query().fetch_all(&self.pool).await.map_err(db)?;
        found.iter().map(window).collect()
    }

    pub(crate) async fn fire_alert(
        &self,
        rule: &str,
        model_name: &str,
        detail: &str,
        at: i64,
    ) -> Result<Option<AlertEpisode>> {
        let fresh = AlertEpisode {
            episode_id: new_id(),
            rule: rule.to_string(),
            model_name: model_name.to_string(),
            state: "firing".into(),
            fired_at: at,
            resolved_at: None,
            detail: detail.to_string(),
        };
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let firing: Option<(String,)> = sqlx::query_as(
            "SELECT episode_id FROM alert_episodes \
             WHERE rule = $1 AND model_name = $2 AND state = 'firing'",
        )
        .bind(rule)
        .bind(model_name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if firing.is_some() {
            return Ok(None);
        }
        let inserted = sqlx::query(&format!(
            "INSERT INTO alert_episodes ({EPISODE_COLUMNS}) VALUES ($1, $2, $3, 'firing', $4, NULL, $5)"
        ))
        .bind(fresh.episode_id.as_str())
        .bind(rule)
        .bind(model_name)
        .bind(at)
        .bind(detail)
        .execute(&mut *tx)
        .await
        .map_err(db);
        match inserted {
            Ok(_) => {
                tx.commit().await.map_err(db)?;
                Ok(Some(fresh))
            }
            // Another server opened the episode between the check and the insert.
            Err(StoreError::AlreadyExists(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn resolve_alert(
        &self,
        rule: &str,
        model_name: &str,
        at: i64,
    ) -> Result<Option<AlertEpisode>> {
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let firing = sqlx::query(&format!(
            "SELECT {EPISODE_COLUMNS} FROM alert_episodes \
             WHERE rule = $1 AND model_name = $2 AND state = 'firing'"
        ))
        .bind(rule)
        .bind(model_name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = firing else { return Ok(None) };
        let mut resolved = episode(&row)?;
        sqlx::query(
            "UPDATE alert_episodes SET state = 'resolved', resolved_at = $1 WHERE episode_id = $2",
        )
        .bind(at)
        .bind(resolved.episode_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        resolved.state = "resolved".into();
        resolved.resolved_at = Some(at);
        Ok(Some(resolved))
    }

    pub(crate) async fn list_alerts(&self, model_name: Option<&str>) -> Result<Vec<AlertEpisode>> {
        let mut sql =
            Sql::new(self.dialect, &format!("SELECT {EPISODE_COLUMNS} FROM alert_episodes"));
        if let Some(name) = model_name {
            sql.push(" WHERE model_name = ").arg(name);
        }
        sql.push(" ORDER BY fired_at DESC, episode_id");
        let found = sql.query().fetch_all(&self.pool).await.map_err(db)?;
        found.iter().map(episode).collect()
    }

    pub(crate) async fn record_alert_delivery(&self, d: &AlertDelivery) -> Result<()> {
        let _w = self.write_guard().await;
        sqlx::query(
            "INSERT INTO alert_deliveries (episode_id, event, target, attempts, status, error, \
             delivered_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(d.episode_id.as_str())
        .bind(d.event.as_str())
        .bind(d.target.as_str())
        .bind(d.attempts)
        .bind(d.status.as_str())
        .bind(d.error.as_str())
        .bind(d.at)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub(crate) async fn list_alert_deliveries(
        &self,
        episode_id: &str,
    ) -> Result<Vec<AlertDelivery>> {
        let found = sqlx::query(
            "SELECT episode_id, event, target, attempts, status, error, delivered_at \
             FROM alert_deliveries WHERE episode_id = $1 ORDER BY delivery_seq",
        )
        .bind(episode_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        found
            .iter()
            .map(|row| {
                Ok(AlertDelivery {
                    episode_id: rows::text(row, "episode_id")?,
                    event: rows::text(row, "event")?,
                    target: rows::text(row, "target")?,
                    attempts: rows::int(row, "attempts")?,
                    status: rows::text(row, "status")?,
                    error: rows::text(row, "error")?,
                    at: rows::int(row, "delivered_at")?,
                })
            })
            .collect()
    }
}
