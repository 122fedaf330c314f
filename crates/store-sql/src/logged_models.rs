//! MLflow 3 logged models.

use std::collections::HashMap;

use lathe_core::{new_id, now_millis, LoggedModel, LoggedModelStatus, Param, Tag};
use lathe_store::{
    limits, search::Entity, CreateLoggedModel, Page, Result, SearchLoggedModels, StoreError,
};
use sqlx::any::AnyRow;

use crate::{error::db, experiments, rows, search, sql::Sql, SqlStore};

const COLUMNS: &str =
    "lm.model_id, lm.experiment_id, lm.name, lm.artifact_location, lm.creation_time, \
     lm.last_update_time, lm.status, lm.status_message, lm.model_type, lm.source_run_id";

fn not_found(model_id: &str) -> StoreError {
    StoreError::NotFound(format!("Logged model with ID '{model_id}' not found."))
}

fn logged_model(row: &AnyRow) -> Result<LoggedModel> {
    Ok(LoggedModel {
        model_id: rows::text(row, "model_id")?,
        experiment_id: rows::int(row, "experiment_id")?.to_string(),
        name: rows::text(row, "name")?,
        artifact_location: rows::text(row, "artifact_location")?,
        creation_timestamp: rows::int(row, "creation_time")?,
        last_updated_timestamp: rows::int(row, "last_update_time")?,
        status: rows::parsed::<LoggedModelStatus>(row, "status")?,
        status_message: rows::text(row, "status_message")?,
        model_type: rows::text(row, "model_type")?,
        source_run_id: rows::text(row, "source_run_id")?,
        params: vec![],
        tags: vec![],
    })
}

impl SqlStore {
    pub(crate) async fn create_logged_model(&self, req: CreateLoggedModel) -> Result<LoggedModel> {
        let exp = self.get_experiment(&req.experiment_id).await?;
        req.tags.iter().try_for_each(limits::check_tag)?;
        req.params.iter().try_for_each(limits::check_param)?;
        if let Some(run) = req.source_run_id.as_deref().filter(|r| !r.is_empty()) {
            self.run_info(run).await?;
        }
        let model_id = format!("m-{}", new_id());
        let name = req.name.filter(|n| !n.is_empty()).unwrap_or_else(|| "model".to_string());
        let location =
            format!("{}/models/{model_id}/artifacts", exp.artifact_location.trim_end_matches('/'));
        let now = now_millis();
        {
            let _w = self.write_guard().await;
            let mut tx = self.pool.begin().await.map_err(db)?;
            sqlx::query(
                "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_time, \
                 last_update_time, status, status_message, model_type, source_run_id, lifecycle_stage) \
                 VALUES ($1, $2, $3, $4, $5, $5, $6, '', $7, $8, 'active')",
            )
            .bind(model_id.as_str())
            .bind(experiments::parse_id(&exp.experiment_id)?)
            .bind(name.as_str())
            .bind(location.as_str())
            .bind(now)
            .bind(LoggedModelStatus::Pending.as_str())
            .bind(req.model_type.unwrap_or_default())
            .bind(req.source_run_id.unwrap_or_default())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            for p in &req.params {
                sqlx::query(
                    "INSERT INTO logged_model_params (model_id, key, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
                )
                .bind(model_id.as_str())
                .bind(p.key.as_str())
                .bind(p.value.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            for t in &req.tags {
                upsert_tag(&mut tx, &model_id, t).await?;
            }
            tx.commit().await.map_err(db)?;
        }
        self.get_logged_model(&model_id).await
    }

    pub(crate) async fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        let sql = format!(
            "SELECT {COLUMNS} FROM logged_models lm WHERE lm.model_id = $1 AND lm.lifecycle_stage = 'active'"
        );
        let row = sqlx::query(&sql)
            .bind(model_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .ok_or_else(|| not_found(model_id))?;
        let mut models = self.fill(vec![logged_model(&row)?]).await?;
        models.pop().ok_or_else(|| not_found(model_id))
    }

    async fn fill(&self, mut models: Vec<LoggedModel>) -> Result<Vec<LoggedModel>> {
        if models.is_empty() {
            return Ok(models);
        }
        let ids: Vec<String> = models.iter().map(|m| m.model_id.clone()).collect();
        let mut params: HashMap<String, Vec<Param>> = HashMap::new();
        let mut sql = Sql::new(
            self.dialect,
            "SELECT model_id, key, value FROM logged_model_params WHERE model_id IN ",
        );
        sql.list(&ids).push(" ORDER BY key");
        for row in sql.query().fetch_all(&self.pool).await.map_err(db)? {
            params
                .entry(rows::text(&row, "model_id")?)
                .or_default()
                .push(Param { key: rows::text(&row, "key")?, value: rows::text(&row, "value")? });
        }
        let mut tags: HashMap<String, Vec<Tag>> = HashMap::new();
        let mut sql = Sql::new(
            self.dialect,
            "SELECT model_id, key, value FROM logged_model_tags WHERE model_id IN ",
        );
        sql.list(&ids).push(" ORDER BY key");
        for row in sql.query().fetch_all(&self.pool).await.map_err(db)? {
            tags.entry(rows::text(&row, "model_id")?).or_default().push(rows::tag(&row)?);
        }
        for m in &mut models {
            m.params = params.remove(&m.model_id).unwrap_or_default();
            m.tags = tags.remove(&m.model_id).unwrap_or_default();
        }
        Ok(models)
    }

    pub(crate) async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        self.get_logged_model(model_id).await?;
        {
            let _w = self.write_guard().await;
            sqlx::query(
                "UPDATE logged_models SET status = $1, last_update_time = $2 WHERE model_id = $3",
            )
            .bind(status.as_str())
            .bind(now_millis())
            .bind(model_id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        }
        self.get_logged_model(model_id).await
    }

    pub(crate) async fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()> {
        tags.iter().try_for_each(limits::check_tag)?;
        self.get_logged_model(model_id).await?;
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        for t in tags {
            upsert_tag(&mut tx, model_id, t).await?;
        }
        tx.commit().await.map_err(db)
    }

    pub(crate) async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        self.get_logged_model(model_id).await?;
        let _w = self.write_guard().await;
        sqlx::query("DELETE FROM logged_model_tags WHERE model_id = $1 AND key = $2")
            .bind(model_id)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub(crate) async fn delete_logged_model(&self, model_id: &str) -> Result<()> {
        self.get_logged_model(model_id).await?;
        let _w = self.write_guard().await;
        sqlx::query("UPDATE logged_models SET lifecycle_stage = 'deleted', last_update_time = $1 WHERE model_id = $2")
            .bind(now_millis())
            .bind(model_id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub(crate) async fn search_logged_models(
        &self,
        s: &SearchLoggedModels,
    ) -> Result<Page<LoggedModel>> {
        let search::Parsed { filter, order, limit, token } = search::parse(
            Entity::LoggedModels,
            &s.query,
            limits::SEARCH_MAX_RESULTS_DEFAULT,
            limits::SEARCH_MAX_RESULTS_THRESHOLD,
        )?;
        let ids = s
            .experiment_ids
            .iter()
            .map(|e| experiments::parse_id(e))
            .collect::<Result<Vec<i64>>>()?;
        let mut sql = Sql::new(
            self.dialect,
            &format!("SELECT {COLUMNS} FROM logged_models lm WHERE lm.lifecycle_stage = 'active'"),
        );
        if !ids.is_empty() {
            sql.push(" AND lm.experiment_id IN ").list(&ids);
        }
        search::conditions(&mut sql, &search::LOGGED_MODELS, &filter);
        search::order(&mut sql, &search::LOGGED_MODELS, &order);
        search::limit(&mut sql, limit, token);
        let rows = sql.query().fetch_all(&self.pool).await.map_err(db)?;
        let has_more = rows.len() > limit;
        let models = rows.iter().take(limit).map(logged_model).collect::<Result<Vec<_>>>()?;
        let items = self.fill(models).await?;
        Ok(Page { items, next_page_token: token.next(has_more, limit) })
    }
}

async fn upsert_tag(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    model_id: &str,
    t: &Tag,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO logged_model_tags (model_id, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(model_id)
    .bind(t.key.as_str())
    .bind(t.value.as_str())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}
