//! Registered models, model versions, their tags and aliases.

use std::collections::HashMap;

use lathe_core::{now_millis, ModelVersion, ModelVersionStatus, RegisteredModel, Tag};
use lathe_store::{
    limits, search::Entity, CreateModelVersion, Page, Result, SearchQuery, StoreError,
};
use sqlx::any::AnyRow;

use crate::{error::db, rows, search, sql::Sql, SqlStore};

const MODEL_COLUMNS: &str = "rm.name, rm.creation_time, rm.last_update_time, rm.description";
const VERSION_COLUMNS: &str = "mv.name, mv.version, mv.creation_time, mv.last_update_time, \
     mv.description, mv.user_id, mv.current_stage, mv.source, mv.run_id, mv.status, mv.run_link, mv.model_id";

const STAGES: [&str; 4] = ["None", "Staging", "Production", "Archived"];

/// The stage of a deleted version. As MLflow, a deleted version's row stays
/// (hidden from every read) so its number is never given out again.
const DELETED_STAGE: &str = "Deleted_Internal";

fn model_not_found(name: &str) -> StoreError {
    StoreError::NotFound(format!("Registered Model with name={name} not found"))
}

fn version_not_found(name: &str, version: i64) -> StoreError {
    StoreError::NotFound(format!("Model Version (name={name}, version={version}) not found"))
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(StoreError::invalid("Registered model name cannot be empty."));
    }
    if name.chars().count() > limits::MAX_ENTITY_KEY_LENGTH {
        return Err(StoreError::invalid(format!(
            "Registered model name had length {}, which exceeded length limit of {}",
            name.chars().count(),
            limits::MAX_ENTITY_KEY_LENGTH
        )));
    }
    Ok(())
}

fn check_alias(alias: &str) -> Result<()> {
    // MLflow reserves `latest` and `vN`, which would be ambiguous in models:/ URIs.
    let reserved = alias.eq_ignore_ascii_case("latest")
        || (alias.len() > 1
            && alias.starts_with(['v', 'V'])
            && alias[1..].chars().all(|c| c.is_ascii_digit()));
    let valid = !alias.is_empty()
        && alias.chars().count() <= 255
        && alias.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if reserved || !valid {
        return Err(StoreError::invalid(format!(
            "Invalid alias name: '{alias}'. Aliases may only contain alphanumerics, underscores \
             and dashes, and may not be 'latest' or of the form 'v<number>'."
        )));
    }
    Ok(())
}

fn registered_model(row: &AnyRow) -> Result<RegisteredModel> {
    Ok(RegisteredModel {
        name: rows::text(row, "name")?,
        creation_timestamp: rows::int(row, "creation_time")?,
        last_updated_timestamp: rows::int(row, "last_update_time")?,
        description: rows::text(row, "description")?,
        tags: vec![],
        aliases: vec![],
        latest_versions: vec![],
    })
}

fn model_version(row: &AnyRow) -> Result<ModelVersion> {
    Ok(ModelVersion {
        name: rows::text(row, "name")?,
        version: rows::int(row, "version")?,
        creation_timestamp: rows::int(row, "creation_time")?,
        last_updated_timestamp: rows::int(row, "last_update_time")?,
        description: rows::text(row, "description")?,
        user_id: rows::text(row, "user_id")?,
        current_stage: rows::text(row, "current_stage")?,
        source: rows::text(row, "source")?,
        run_id: rows::text(row, "run_id")?,
        status: rows::parsed::<ModelVersionStatus>(row, "status")?,
        run_link: rows::text(row, "run_link")?,
        model_id: rows::opt_text(row, "model_id")?,
        tags: vec![],
        aliases: vec![],
    })
}

impl SqlStore {
    pub(crate) async fn create_registered_model(
        &self,
        name: &str,
        tags: &[Tag],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        check_name(name)?;
        tags.iter().try_for_each(limits::check_tag)?;
        let now = now_millis();
        {
            let _w = self.write_guard().await;
            let mut tx = self.pool.begin().await.map_err(db)?;
            sqlx::query(
                "INSERT INTO registered_models (name, creation_time, last_update_time, description) \
                 VALUES ($1, $2, $2, $3)",
            )
            .bind(name)
            .bind(now)
            .bind(description.unwrap_or(""))
            .execute(&mut *tx)
            .await
            .map_err(|e| match db(e) {
                StoreError::AlreadyExists(_) => StoreError::AlreadyExists(format!(
                    "Registered Model (name={name}) already exists."
                )),
                other => other,
            })?;
            for t in tags {
                sqlx::query(
                    "INSERT INTO registered_model_tags (name, key, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
                )
                .bind(name)
                .bind(t.key.as_str())
                .bind(t.value.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
        }
        self.get_registered_model(name).await
    }

    pub(crate) async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let sql = format!("SELECT {MODEL_COLUMNS} FROM registered_models rm WHERE rm.name = $1");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .ok_or_else(|| model_not_found(name))?;
        let mut models = self.fill_models(vec![registered_model(&row)?]).await?;
        models.pop().ok_or_else(|| model_not_found(name))
    }

    /// Adds tags, aliases and the latest version to a page of models.
    async fn fill_models(&self, mut models: Vec<RegisteredModel>) -> Result<Vec<RegisteredModel>> {
        if models.is_empty() {
            return Ok(models);
        }
        let names: Vec<String> = models.iter().map(|m| m.name.clone()).collect();
        let mut tags: HashMap<String, Vec<Tag>> = HashMap::new();
        let mut sql = Sql::new(
            self.dialect,
            "SELECT name, key, value FROM registered_model_tags WHERE name IN ",
        );
        sql.list(&names).push(" ORDER BY key");
        for row in sql.query().fetch_all(&self.pool).await.map_err(db)? {
            tags.entry(rows::text(&row, "name")?).or_default().push(rows::tag(&row)?);
        }
        let mut aliases: HashMap<String, Vec<(String, i64)>> = HashMap::new();
        let mut sql = Sql::new(
            self.dialect,
            "SELECT name, alias, version FROM registered_model_aliases WHERE name IN ",
        );
        sql.list(&names).push(" ORDER BY alias");
        for row in sql.query().fetch_all(&self.pool).await.map_err(db)? {
            aliases
                .entry(rows::text(&row, "name")?)
                .or_default()
                .push((rows::text(&row, "alias")?, rows::int(&row, "version")?));
        }
        let mut latest: HashMap<String, ModelVersion> = HashMap::new();
        let mut sql = Sql::new(
            self.dialect,
            &format!("SELECT {VERSION_COLUMNS} FROM model_versions mv WHERE mv.name IN "),
        );
        sql.list(&names).push(&format!(
            " AND mv.version = (SELECT MAX(v2.version) FROM model_versions v2 WHERE v2.name = mv.name \
             AND v2.current_stage != '{DELETED_STAGE}')"
        ));
        for row in sql.query().fetch_all(&self.pool).await.map_err(db)? {
            let v = model_version(&row)?;
            latest.insert(v.name.clone(), v);
        }
        for m in &mut models {
            m.tags = tags.remove(&m.name).unwrap_or_default();
            m.aliases = aliases.remove(&m.name).unwrap_or_default();
            m.latest_versions = latest.remove(&m.name).into_iter().collect();
        }
        Ok(models)
    }

    pub(crate) async fn rename_registered_model(
        &self,
        name: &str,
        new_name: &str,
    ) -> Result<RegisteredModel> {
        check_name(new_name)?;
        self.get_registered_model(name).await?;
        {
            let _w = self.write_guard().await;
            let mut tx = self.pool.begin().await.map_err(db)?;
            sqlx::query(
                "UPDATE registered_models SET name = $1, last_update_time = $2 WHERE name = $3",
            )
            .bind(new_name)
            .bind(now_millis())
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| match db(e) {
                StoreError::AlreadyExists(_) => StoreError::AlreadyExists(format!(
                    "Registered Model (name={new_name}) already exists."
                )),
                other => other,
            })?;
            // Tags, versions, their tags and aliases follow through ON UPDATE CASCADE.
            tx.commit().await.map_err(db)?;
        }
        self.get_registered_model(new_name).await
    }

    pub(crate) async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel> {
        self.get_registered_model(name).await?;
        {
            let _w = self.write_guard().await;
            sqlx::query("UPDATE registered_models SET description = $1, last_update_time = $2 WHERE name = $3")
                .bind(description)
                .bind(now_millis())
                .bind(name)
                .execute(&self.pool)
                .await
                .map_err(db)?;
        }
        self.get_registered_model(name).await
    }

    pub(crate) async fn delete_registered_model(&self, name: &str) -> Result<()> {
        self.get_registered_model(name).await?;
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        for table in [
            "registered_model_aliases",
            "model_version_tags",
            "model_versions",
            "registered_model_tags",
            "registered_models",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE name = $1"))
                .bind(name)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    pub(crate) async fn search_registered_models(
        &self,
        q: &SearchQuery,
    ) -> Result<Page<RegisteredModel>> {
        let search::Parsed { filter, order, limit, token } = search::parse(
            Entity::RegisteredModels,
            q,
            limits::SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
            limits::SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
        )?;
        let mut sql = Sql::new(
            self.dialect,
            &format!("SELECT {MODEL_COLUMNS} FROM registered_models rm WHERE 1 = 1"),
        );
        search::conditions(&mut sql, &search::REGISTERED_MODELS, &filter);
        search::order(&mut sql, &search::REGISTERED_MODELS, &order);
        search::limit(&mut sql, limit, token);
        let rows = sql.query().fetch_all(&self.pool).await.map_err(db)?;
        let has_more = rows.len() > limit;
        let models = rows.iter().take(limit).map(registered_model).collect::<Result<Vec<_>>>()?;
        let items = self.fill_models(models).await?;
        Ok(Page { items, next_page_token: token.next(has_more, limit) })
    }

    pub(crate) async fn set_registered_model_tag(&self, name: &str, tag: &Tag) -> Result<()> {
        limits::check_tag(tag)?;
        self.get_registered_model(name).await?;
        let _w = self.write_guard().await;
        sqlx::query(
            "INSERT INTO registered_model_tags (name, key, value) VALUES ($1, $2, $3) \
             ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(tag.key.as_str())
        .bind(tag.value.as_str())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub(crate) async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        self.get_registered_model(name).await?;
        let _w = self.write_guard().await;
        sqlx::query("DELETE FROM registered_model_tags WHERE name = $1 AND key = $2")
            .bind(name)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub(crate) async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: i64,
    ) -> Result<()> {
        check_alias(alias)?;
        self.get_model_version(name, version).await?;
        let _w = self.write_guard().await;
        sqlx::query(
            "INSERT INTO registered_model_aliases (name, alias, version) VALUES ($1, $2, $3) \
             ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
        )
        .bind(name)
        .bind(alias)
        .bind(version)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub(crate) async fn delete_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<()> {
        self.get_registered_model(name).await?;
        let _w = self.write_guard().await;
        sqlx::query("DELETE FROM registered_model_aliases WHERE name = $1 AND alias = $2")
            .bind(name)
            .bind(alias)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub(crate) async fn get_model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion> {
        self.get_registered_model(name).await?;
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT version FROM registered_model_aliases WHERE name = $1 AND alias = $2",
        )
        .bind(name)
        .bind(alias)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        // MLflow answers INVALID_PARAMETER_VALUE (HTTP 400) here, not 404; clients rely on it.
        let (version,) = row.ok_or_else(|| {
            StoreError::invalid(format!("Registered model alias {alias} not found."))
        })?;
        self.get_model_version(name, version).await
    }

    pub(crate) async fn create_model_version(
        &self,
        req: CreateModelVersion,
    ) -> Result<ModelVersion> {
        check_name(&req.name)?;
        if req.source.is_empty() {
            return Err(StoreError::invalid("Missing value for required parameter 'source'."));
        }
        req.tags.iter().try_for_each(limits::check_tag)?;
        self.get_registered_model(&req.name).await?;
        let now = now_millis();
        let version = {
            let _w = self.write_guard().await;
            let mut tx = self.pool.begin().await.map_err(db)?;
            let (version,): (i64,) = sqlx::query_as(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = $1",
            )
            .bind(req.name.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            sqlx::query(
                "INSERT INTO model_versions (name, version, creation_time, last_update_time, description, \
                 user_id, current_stage, source, run_id, status, run_link, model_id) \
                 VALUES ($1, $2, $3, $3, $4, '', 'None', $5, $6, 'READY', $7, $8)",
            )
            .bind(req.name.as_str())
            .bind(version)
            .bind(now)
            .bind(req.description.clone().unwrap_or_default())
            .bind(req.source.as_str())
            .bind(req.run_id.clone().unwrap_or_default())
            .bind(req.run_link.clone().unwrap_or_default())
            .bind(req.model_id.clone())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            for t in &req.tags {
                sqlx::query(
                    "INSERT INTO model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value",
                )
                .bind(req.name.as_str())
                .bind(version)
                .bind(t.key.as_str())
                .bind(t.value.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            sqlx::query("UPDATE registered_models SET last_update_time = $1 WHERE name = $2")
                .bind(now)
                .bind(req.name.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            tx.commit().await.map_err(db)?;
            version
        };
        self.get_model_version(&req.name, version).await
    }

    pub(crate) async fn get_model_version(&self, name: &str, version: i64) -> Result<ModelVersion> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions mv WHERE mv.name = $1 AND mv.version = $2 \
             AND mv.current_stage != '{DELETED_STAGE}'"
        );
        let row = sqlx::query(&sql)
            .bind(name)
            .bind(version)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .ok_or_else(|| version_not_found(name, version))?;
        let mut v = self.fill_versions(vec![model_version(&row)?]).await?;
        v.pop().ok_or_else(|| version_not_found(name, version))
    }

    async fn fill_versions(&self, mut versions: Vec<ModelVersion>) -> Result<Vec<ModelVersion>> {
        if versions.is_empty() {
            return Ok(versions);
        }
        let names: Vec<String> = versions.iter().map(|v| v.name.clone()).collect();
        let mut tags: HashMap<(String, i64), Vec<Tag>> = HashMap::new();
        let mut sql = Sql::new(
            self.dialect,
            "SELECT name, version, key, value FROM model_version_tags WHERE name IN ",
        );
        sql.list(&names).push(" ORDER BY key");
        for row in sql.query().fetch_all(&self.pool).await.map_err(db)? {
            tags.entry((rows::text(&row, "name")?, rows::int(&row, "version")?))
                .or_default()
                .push(rows::tag(&row)?);
        }
        let mut aliases: HashMap<(String, i64), Vec<String>> = HashMap::new();
        let mut sql = Sql::new(
            self.dialect,
            "SELECT name, version, alias FROM registered_model_aliases WHERE name IN ",
        );
        sql.list(&names).push(" ORDER BY alias");
        for row in sql.query().fetch_all(&self.pool).await.map_err(db)? {
            aliases
                .entry((rows::text(&row, "name")?, rows::int(&row, "version")?))
                .or_default()
                .push(rows::text(&row, "alias")?);
        }
        for v in &mut versions {
            let key = (v.name.clone(), v.version);
            v.tags = tags.remove(&key).unwrap_or_default();
            v.aliases = aliases.remove(&key).unwrap_or_default();
        }
        Ok(versions)
    }

    pub(crate) async fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: &str,
    ) -> Result<ModelVersion> {
        self.get_model_version(name, version).await?;
        {
            let _w = self.write_guard().await;
            sqlx::query(
                "UPDATE model_versions SET description = $1, last_update_time = $2 WHERE name = $3 AND version = $4",
            )
            .bind(description)
            .bind(now_millis())
            .bind(name)
            .bind(version)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        }
        self.get_model_version(name, version).await
    }

    pub(crate) async fn transition_model_version_stage(
        &self,
        name: &str,
        version: i64,
        stage: &str,
        archive_existing: bool,
    ) -> Result<ModelVersion> {
        let stage = STAGES
            .iter()
            .find(|s| s.eq_ignore_ascii_case(stage))
            .ok_or_else(|| {
                StoreError::invalid(format!(
                    "Invalid Model Version stage: {stage}. Value must be one of None, Staging, Production, Archived."
                ))
            })?;
        self.get_model_version(name, version).await?;
        {
            let _w = self.write_guard().await;
            let mut tx = self.pool.begin().await.map_err(db)?;
            let now = now_millis();
            if archive_existing && matches!(*stage, "Staging" | "Production") {
                sqlx::query(
                    "UPDATE model_versions SET current_stage = 'Archived', last_update_time = $1 \
                     WHERE name = $2 AND current_stage = $3 AND version != $4",
                )
                .bind(now)
                .bind(name)
                .bind(*stage)
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            sqlx::query(
                "UPDATE model_versions SET current_stage = $1, last_update_time = $2 WHERE name = $3 AND version = $4",
            )
            .bind(*stage)
            .bind(now)
            .bind(name)
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)?;
        }
        self.get_model_version(name, version).await
    }

    pub(crate) async fn delete_model_version(&self, name: &str, version: i64) -> Result<()> {
        self.get_model_version(name, version).await?;
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        for table in ["registered_model_aliases", "model_version_tags"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE name = $1 AND version = $2"))
                .bind(name)
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        sqlx::query(
            "UPDATE model_versions SET current_stage = $1, last_update_time = $2 WHERE name = $3 AND version = $4",
        )
        .bind(DELETED_STAGE)
        .bind(now_millis())
        .bind(name)
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    pub(crate) async fn search_model_versions(
        &self,
        q: &SearchQuery,
    ) -> Result<Page<ModelVersion>> {
        let search::Parsed { filter, order, limit, token } = search::parse(
            Entity::ModelVersions,
            q,
            limits::SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
            limits::SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
        )?;
        let mut sql = Sql::new(self.dialect, &format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions mv WHERE mv.current_stage != '{DELETED_STAGE}'"
        ));
        search::conditions(&mut sql, &search::MODEL_VERSIONS, &filter);
        search::order(&mut sql, &search::MODEL_VERSIONS, &order);
        search::limit(&mut sql, limit, token);
        let rows = sql.query().fetch_all(&self.pool).await.map_err(db)?;
        let has_more = rows.len() > limit;
        let versions = rows.iter().take(limit).map(model_version).collect::<Result<Vec<_>>>()?;
        let items = self.fill_versions(versions).await?;
        Ok(Page { items, next_page_token: token.next(has_more, limit) })
    }

    pub(crate) async fn set_model_version_tag(
        &self,
        name: &str,
        version: i64,
        tag: &Tag,
    ) -> Result<()> {
        limits::check_tag(tag)?;
        self.get_model_version(name, version).await?;
        let _w = self.write_guard().await;
        sqlx::query(
            "INSERT INTO model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(version)
        .bind(tag.key.as_str())
        .bind(tag.value.as_str())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    pub(crate) async fn delete_model_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
    ) -> Result<()> {
        self.get_model_version(name, version).await?;
        let _w = self.write_guard().await;
        sqlx::query("DELETE FROM model_version_tags WHERE name = $1 AND version = $2 AND key = $3")
            .bind(name)
            .bind(version)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}
