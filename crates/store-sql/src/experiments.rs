//! Experiments and their tags.

use lathe_core::{now_millis, Experiment, Tag};
use lathe_store::{limits, search::Entity, Page, Result, SearchQuery, StoreError};

use crate::{
    error::db,
    rows::{self, EXPERIMENT_COLUMNS},
    search,
    sql::Sql,
    SqlStore,
};

/// The id in the database; a non-numeric id names no experiment.
pub(crate) fn parse_id(experiment_id: &str) -> Result<i64> {
    experiment_id.parse().map_err(|_| not_found(experiment_id))
}

fn not_found(experiment_id: &str) -> StoreError {
    StoreError::NotFound(format!("No Experiment with id={experiment_id} exists"))
}

impl SqlStore {
    pub(crate) async fn ensure_default_experiment(&self) -> Result<()> {
        let _w = self.write_guard().await;
        let now = now_millis();
        sqlx::query(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, \
             creation_time, last_update_time) VALUES (0, 'Default', $1, 'active', $2, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(self.location_for(0))
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub(crate) async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String> {
        if name.trim().is_empty() {
            return Err(StoreError::invalid(
                "Invalid experiment name: ''. Expected a non-empty string",
            ));
        }
        for t in tags {
            limits::check_tag(t)?;
        }
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let now = now_millis();
        let id: (i64,) = sqlx::query_as(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, \
             last_update_time) VALUES ($1, $2, 'active', $3, $3) RETURNING experiment_id",
        )
        .bind(name)
        .bind(artifact_location.unwrap_or(""))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match db(e) {
            StoreError::AlreadyExists(_) => StoreError::AlreadyExists(format!(
                "Experiment(name={name}) already exists. Error: UNIQUE constraint failed"
            )),
            other => other,
        })?;
        let id = id.0;
        if artifact_location.is_none_or(str::is_empty) {
            sqlx::query("UPDATE experiments SET artifact_location = $1 WHERE experiment_id = $2")
                .bind(self.location_for(id))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        for t in tags {
            upsert_tag(&mut tx, id, t).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(id.to_string())
    }

    pub(crate) async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let id = parse_id(experiment_id)?;
        let sql =
            format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments e WHERE e.experiment_id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .ok_or_else(|| not_found(experiment_id))?;
        let mut exp = rows::experiment(&row)?;
        exp.tags = self.experiment_tags(id).await?;
        Ok(exp)
    }

    pub(crate) async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments e WHERE e.name = $1");
        let row =
            sqlx::query(&sql).bind(name).fetch_optional(&self.pool).await.map_err(db)?.ok_or_else(
                || StoreError::NotFound(format!("Could not find experiment with name '{name}'")),
            )?;
        let mut exp = rows::experiment(&row)?;
        exp.tags = self.experiment_tags(parse_id(&exp.experiment_id)?).await?;
        Ok(exp)
    }

    async fn experiment_tags(&self, id: i64) -> Result<Vec<Tag>> {
        let rows = sqlx::query(
            "SELECT key, value FROM experiment_tags WHERE experiment_id = $1 ORDER BY key",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(rows::tag).collect()
    }

    pub(crate) async fn search_experiments(&self, q: &SearchQuery) -> Result<Page<Experiment>> {
        let search::Parsed { filter, order, limit, token } = search::parse(
            Entity::Experiments,
            q,
            limits::SEARCH_MAX_RESULTS_DEFAULT,
            limits::SEARCH_MAX_RESULTS_THRESHOLD,
        )?;
        let mut sql = Sql::new(
            self.dialect,
            &format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments e WHERE "),
        );
        search::lifecycle(&mut sql, "e", q.view);
        search::conditions(&mut sql, &search::EXPERIMENTS, &filter);
        search::order(&mut sql, &search::EXPERIMENTS, &order);
        search::limit(&mut sql, limit, token);
        let rows = sql.query().fetch_all(&self.pool).await.map_err(db)?;
        let has_more = rows.len() > limit;
        let mut items = Vec::with_capacity(limit.min(rows.len()));
        for row in rows.iter().take(limit) {
            let mut exp = rows::experiment(row)?;
            exp.tags = self.experiment_tags(parse_id(&exp.experiment_id)?).await?;
            items.push(exp);
        }
        Ok(Page { items, next_page_token: token.next(has_more, limit) })
    }

    pub(crate) async fn rename_experiment(
        &self,
        experiment_id: &str,
        new_name: &str,
    ) -> Result<()> {
        if new_name.trim().is_empty() {
            return Err(StoreError::invalid(
                "Invalid experiment name: ''. Expected a non-empty string",
            ));
        }
        let id = parse_id(experiment_id)?;
        let exp = self.get_experiment(experiment_id).await?;
        if exp.lifecycle_stage != lathe_core::LifecycleStage::Active {
            return Err(StoreError::invalid(format!(
                "Cannot rename a non-active experiment. Experiment id={experiment_id} is deleted"
            )));
        }
        let _w = self.write_guard().await;
        sqlx::query(
            "UPDATE experiments SET name = $1, last_update_time = $2 WHERE experiment_id = $3",
        )
        .bind(new_name)
        .bind(now_millis())
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(|e| match db(e) {
            StoreError::AlreadyExists(_) => {
                StoreError::AlreadyExists(format!("Experiment(name={new_name}) already exists"))
            }
            other => other,
        })?;
        Ok(())
    }

    pub(crate) async fn set_experiment_stage(
        &self,
        experiment_id: &str,
        stage: &str,
    ) -> Result<()> {
        let id = parse_id(experiment_id)?;
        if id == 0 && stage == "deleted" {
            return Err(StoreError::invalid("Cannot delete the default experiment '0'"));
        }
        self.get_experiment(experiment_id).await?;
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let now = now_millis();
        sqlx::query("UPDATE experiments SET lifecycle_stage = $1, last_update_time = $2 WHERE experiment_id = $3")
            .bind(stage)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let deleted_time = (stage == "deleted").then_some(now);
        sqlx::query(
            "UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE experiment_id = $3",
        )
        .bind(stage)
        .bind(deleted_time)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    pub(crate) async fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag) -> Result<()> {
        limits::check_key("Tag", &tag.key)?;
        if tag.value.chars().count() > limits::MAX_EXPERIMENT_TAG_VALUE_LENGTH {
            return Err(StoreError::invalid(format!(
                "Tag value '{}' had length {}, which exceeded length limit of {}",
                tag.key,
                tag.value.chars().count(),
                limits::MAX_EXPERIMENT_TAG_VALUE_LENGTH
            )));
        }
        let id = parse_id(experiment_id)?;
        let exp = self.get_experiment(experiment_id).await?;
        if exp.lifecycle_stage != lathe_core::LifecycleStage::Active {
            return Err(StoreError::invalid(format!(
                "The experiment {experiment_id} must be in the 'active' state. Current state is deleted."
            )));
        }
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        upsert_tag(&mut tx, id, tag).await?;
        tx.commit().await.map_err(db)
    }

    pub(crate) async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        let id = parse_id(experiment_id)?;
        self.get_experiment(experiment_id).await?;
        let _w = self.write_guard().await;
        let done = sqlx::query("DELETE FROM experiment_tags WHERE experiment_id = $1 AND key = $2")
            .bind(id)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "No tag with name: {key} in experiment with id {experiment_id}"
            )));
        }
        Ok(())
    }
}

async fn upsert_tag(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: i64, t: &Tag) -> Result<()> {
    sqlx::query(
        "INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(id)
    .bind(t.key.as_str())
    .bind(t.value.as_str())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}
