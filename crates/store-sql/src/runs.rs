//! Runs and everything logged into them.

use std::collections::HashMap;

use lathe_core::{
    new_id, now_millis, Dataset, DatasetInput, LifecycleStage, Metric, ModelOutput, Param, Run,
    RunInfo, RunStatus, Tag,
};
use lathe_store::{
    limits, search::Entity, CreateRun, Page, PageToken, Result, SearchRuns, StoreError, UpdateRun,
};
use sqlx::{any::AnyRow, Any, Transaction};

use crate::{error::db, experiments, history, packed, rows, search, sql::Sql, Dialect, SqlStore};

const RUN_COLUMNS: &str = "r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, \
     r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage";

/// Rows per multi-row INSERT: a whole batch (MLflow allows 1,000 metrics) in
/// one statement, as each statement is a round trip to sqlx's worker thread;
/// 1,000 rows × 6 values stay under SQLite's 32,766 and PostgreSQL's 65,535
/// placeholder limits.
const INSERT_CHUNK: usize = 1000;

/// Points per query when a whole history is read at once (MLflow's page size).
const HISTORY_CHUNK: usize = limits::GET_METRIC_HISTORY_MAX_RESULTS;

fn run_info(row: &AnyRow) -> Result<RunInfo> {
    Ok(RunInfo {
        run_id: rows::text(row, "run_uuid")?,
        experiment_id: rows::int(row, "experiment_id")?.to_string(),
        run_name: rows::text(row, "name")?,
        user_id: rows::text(row, "user_id")?,
        status: rows::parsed::<RunStatus>(row, "status")?,
        start_time: rows::int(row, "start_time")?,
        end_time: rows::opt_int(row, "end_time")?,
        artifact_uri: rows::text(row, "artifact_uri")?,
        lifecycle_stage: rows::parsed::<LifecycleStage>(row, "lifecycle_stage")?,
    })
}

fn run_not_found(run_id: &str) -> StoreError {
    StoreError::NotFound(format!("Run '{run_id}' not found"))
}

/// A random readable run name, as MLflow gives runs without one.
fn generated_name() -> String {
    const ADJECTIVES: [&str; 16] = [
        "bold", "calm", "clever", "eager", "gentle", "brave", "bright", "quiet", "swift", "keen",
        "merry", "polite", "sunny", "witty", "lucid", "noble",
    ];
    const NOUNS: [&str; 16] = [
        "fox", "owl", "lark", "otter", "heron", "lynx", "finch", "hare", "seal", "wren", "bison",
        "crane", "moth", "newt", "panda", "robin",
    ];
    let id = new_id();
    let n = u64::from_str_radix(&id[..8], 16).unwrap_or(0);
    let adj = ADJECTIVES[(n % 16) as usize];
    let noun = NOUNS[((n / 16) % 16) as usize];
    format!("{adj}-{noun}-{}", (n / 256) % 1000)
}

impl SqlStore {
    pub(crate) async fn create_run(&self, req: CreateRun) -> Result<Run> {
        let exp = self.get_experiment(&req.experiment_id).await?;
        if exp.lifecycle_stage != LifecycleStage::Active {
            return Err(StoreError::invalid(format!(
                "The experiment {} must be in the 'active' state. Current state is deleted.",
                req.experiment_id
            )));
        }
        let run_name_tag =
            req.tags.iter().find(|t| t.key == "mlflow.runName").map(|t| t.value.clone());
        let name =
            req.run_name.filter(|n| !n.is_empty()).or(run_name_tag).unwrap_or_else(generated_name);
        if name.chars().count() > limits::MAX_RUN_NAME_LENGTH {
            return Err(StoreError::invalid(format!(
                "run_name had length {}, which exceeded length limit of {}",
                name.chars().count(),
                limits::MAX_RUN_NAME_LENGTH
            )));
        }
        let mut tags: Vec<Tag> =
            req.tags.into_iter().filter(|t| t.key != "mlflow.runName").collect();
        tags.push(Tag::new("mlflow.runName", name.clone()));
        limits::check_batch(&[], &[], &tags)?;
        let run_id = new_id();
        let info = RunInfo {
            artifact_uri: format!(
                "{}/{run_id}/artifacts",
                exp.artifact_location.trim_end_matches('/')
            ),
            run_id,
            experiment_id: exp.experiment_id.clone(),
            run_name: name,
            user_id: req.user_id,
            status: RunStatus::Running,
            start_time: req.start_time.unwrap_or_else(now_millis),
            end_time: None,
            lifecycle_stage: LifecycleStage::Active,
        };
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(
            "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, \
             end_time, artifact_uri, lifecycle_stage) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, 'active')",
        )
        .bind(info.run_id.as_str())
        .bind(experiments::parse_id(&info.experiment_id)?)
        .bind(info.run_name.as_str())
        .bind(info.user_id.as_str())
        .bind(info.status.as_str())
        .bind(info.start_time)
        .bind(info.artifact_uri.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        upsert_tags(self.dialect, &mut tx, &info.run_id, &tags).await?;
        tx.commit().await.map_err(db)?;
        tags.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Run { info, metrics: vec![], params: vec![], tags, inputs: vec![], outputs: vec![] })
    }

    pub(crate) async fn run_info(&self, run_id: &str) -> Result<RunInfo> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs r WHERE r.run_uuid = $1");
        let row = sqlx::query(&sql)
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .ok_or_else(|| run_not_found(run_id))?;
        run_info(&row)
    }

    async fn active_run(&self, run_id: &str) -> Result<RunInfo> {
        let info = self.run_info(run_id).await?;
        if info.lifecycle_stage != LifecycleStage::Active {
            return Err(StoreError::invalid(format!(
                "The run {run_id} must be in the 'active' state. Current state is deleted."
            )));
        }
        Ok(info)
    }

    pub(crate) async fn get_run(&self, run_id: &str) -> Result<Run> {
        let info = self.run_info(run_id).await?;
        let mut runs = self.load_runs(vec![info]).await?;
        runs.pop().ok_or_else(|| run_not_found(run_id))
    }

    /// Fills metrics, params, tags, inputs and outputs for a page of runs,
    /// with one query per table rather than one per run.
    async fn load_runs(&self, infos: Vec<RunInfo>) -> Result<Vec<Run>> {
        if infos.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = infos.iter().map(|i| i.run_id.clone()).collect();
        let mut metrics: HashMap<String, Vec<Metric>> = HashMap::new();
        let mut params: HashMap<String, Vec<Param>> = HashMap::new();
        let mut tags: HashMap<String, Vec<Tag>> = HashMap::new();
        let mut inputs: HashMap<String, Vec<DatasetInput>> = HashMap::new();
        let mut outputs: HashMap<String, Vec<ModelOutput>> = HashMap::new();

        // Three packed rows instead of thousands: see `packed`.
        let d = self.dialect;
        let mut sql = Sql::new(
            self.dialect,
            &format!(
                "SELECT {} AS packed FROM latest_metrics WHERE run_uuid IN ",
                packed::json_rows(
                    d,
                    &[
                        "run_uuid",
                        "key",
                        packed::exact_real(d, "value"),
                        "timestamp",
                        "step",
                        "is_nan"
                    ],
                    "key"
                )
            ),
        );
        sql.list(&ids);
        let rows: Vec<(String, String, String, i64, i64, i64)> = self.fetch_packed(&sql).await?;
        for (run, key, value, timestamp, step, is_nan) in rows {
            let value = if is_nan != 0 { f64::NAN } else { packed::parse_real(&value)? };
            metrics.entry(run).or_default().push(Metric { key, value, timestamp, step });
        }
        for (table, into_params) in [("params", true), ("tags", false)] {
            let mut sql = Sql::new(
                self.dialect,
                &format!(
                    "SELECT {} AS packed FROM {table} WHERE run_uuid IN ",
                    packed::json_rows(d, &["run_uuid", "key", "value"], "key")
                ),
            );
            sql.list(&ids);
            let rows: Vec<(String, String, String)> = self.fetch_packed(&sql).await?;
            for (run, key, value) in rows {
                if into_params {
                    params.entry(run).or_default().push(Param { key, value });
                } else {
                    tags.entry(run).or_default().push(Tag { key, value });
                }
            }
        }
        let mut sql = Sql::new(self.dialect,
            "SELECT ri.run_uuid, d.dataset_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile \
             FROM run_inputs ri JOIN datasets d ON d.dataset_uuid = ri.dataset_uuid WHERE ri.run_uuid IN ",
        );
        sql.list(&ids).push(" ORDER BY d.name, d.digest");
        let input_rows = sql.query().fetch_all(&self.pool).await.map_err(db)?;
        if !input_rows.is_empty() {
            let mut sql = Sql::new(
                self.dialect,
                "SELECT run_uuid, dataset_uuid, key, value FROM run_input_tags WHERE run_uuid IN ",
            );
            sql.list(&ids).push(" ORDER BY key");
            let mut input_tags: HashMap<(String, String), Vec<Tag>> = HashMap::new();
            for row in sql.query().fetch_all(&self.pool).await.map_err(db)? {
                input_tags
                    .entry((rows::text(&row, "run_uuid")?, rows::text(&row, "dataset_uuid")?))
                    .or_default()
                    .push(rows::tag(&row)?);
            }
            for row in input_rows {
                let run = rows::text(&row, "run_uuid")?;
                let ds = rows::text(&row, "dataset_uuid")?;
                let dataset = Dataset {
                    name: rows::text(&row, "name")?,
                    digest: rows::text(&row, "digest")?,
                    source_type: rows::text(&row, "source_type")?,
                    source: rows::text(&row, "source")?,
                    schema: rows::opt_text(&row, "schema")?,
                    profile: rows::opt_text(&row, "profile")?,
                };
                let tags = input_tags.remove(&(run.clone(), ds)).unwrap_or_default();
                inputs.entry(run).or_default().push(DatasetInput { dataset, tags });
            }
        }
        let mut sql = Sql::new(
            self.dialect,
            "SELECT run_uuid, model_id, step FROM run_outputs WHERE run_uuid IN ",
        );
        sql.list(&ids).push(" ORDER BY model_id");
        for row in sql.query().fetch_all(&self.pool).await.map_err(db)? {
            outputs.entry(rows::text(&row, "run_uuid")?).or_default().push(ModelOutput {
                model_id: rows::text(&row, "model_id")?,
                step: rows::int(&row, "step")?,
            });
        }
        Ok(infos
            .into_iter()
            .map(|info| {
                let id = &info.run_id;
                Run {
                    metrics: metrics.remove(id).unwrap_or_default(),
                    params: params.remove(id).unwrap_or_default(),
                    tags: tags.remove(id).unwrap_or_default(),
                    inputs: inputs.remove(id).unwrap_or_default(),
                    outputs: outputs.remove(id).unwrap_or_default(),
                    info,
                }
            })
            .collect())
    }

    /// Runs a query whose one row has a `packed` JSON array (NULL when no rows matched).
    async fn fetch_packed<T: serde::de::DeserializeOwned>(&self, sql: &Sql) -> Result<Vec<T>> {
        let row = sql.query().fetch_one(&self.pool).await.map_err(db)?;
        match rows::opt_text(&row, "packed")? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| StoreError::Backend(format!("unreadable packed rows: {e}"))),
            None => Ok(Vec::new()),
        }
    }

    pub(crate) async fn update_run(&self, run_id: &str, u: UpdateRun) -> Result<RunInfo> {
        let mut info = self.active_run(run_id).await?;
        if let Some(name) = u.run_name.as_ref().filter(|n| !n.is_empty()) {
            info.run_name = name.clone();
        }
        if let Some(status) = u.status {
            info.status = status;
        }
        if u.end_time.is_some() {
            info.end_time = u.end_time;
        }
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("UPDATE runs SET name = $1, status = $2, end_time = $3 WHERE run_uuid = $4")
            .bind(info.run_name.as_str())
            .bind(info.status.as_str())
            .bind(info.end_time)
            .bind(run_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if u.run_name.as_ref().is_some_and(|n| !n.is_empty()) {
            upsert_tags(
                self.dialect,
                &mut tx,
                run_id,
                &[Tag::new("mlflow.runName", info.run_name.clone())],
            )
            .await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(info)
    }

    pub(crate) async fn set_run_stage(&self, run_id: &str, stage: LifecycleStage) -> Result<()> {
        self.run_info(run_id).await?;
        let deleted_time = (stage == LifecycleStage::Deleted).then(now_millis);
        let _w = self.write_guard().await;
        sqlx::query("UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE run_uuid = $3")
            .bind(stage.as_str())
            .bind(deleted_time)
            .bind(run_id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    pub(crate) async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        limits::check_batch(metrics, params, tags)?;
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Checked inside the transaction, so a run deleted meanwhile is never written.
        let stage: Option<(String,)> =
            sqlx::query_as("SELECT lifecycle_stage FROM runs WHERE run_uuid = $1")
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        match stage {
            None => return Err(run_not_found(run_id)),
            Some((stage,)) if stage != LifecycleStage::Active.as_str() => {
                return Err(StoreError::invalid(format!(
                    "The run {run_id} must be in the 'active' state. Current state is {stage}."
                )))
            }
            Some(_) => {}
        }
        insert_params(self.dialect, &mut tx, run_id, params).await?;
        upsert_tags(self.dialect, &mut tx, run_id, tags).await?;
        insert_metrics(self.dialect, &mut tx, run_id, metrics).await?;
        tx.commit().await.map_err(db)
    }

    pub(crate) async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        self.active_run(run_id).await?;
        let _w = self.write_guard().await;
        let done = sqlx::query("DELETE FROM tags WHERE run_uuid = $1 AND key = $2")
            .bind(run_id)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "No tag with name: {key} in run with id {run_id}"
            )));
        }
        Ok(())
    }

    pub(crate) async fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<()> {
        let info = self.active_run(run_id).await?;
        let exp_id = experiments::parse_id(&info.experiment_id)?;
        for input in inputs {
            if input.dataset.name.is_empty() || input.dataset.digest.is_empty() {
                return Err(StoreError::invalid(
                    "Invalid dataset: 'name' and 'digest' are required",
                ));
            }
            input.tags.iter().try_for_each(limits::check_tag)?;
        }
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        for input in inputs {
            let d = &input.dataset;
            sqlx::query(
                "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, source, schema, profile) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (experiment_id, name, digest) DO NOTHING",
            )
            .bind(new_id())
            .bind(exp_id)
            .bind(d.name.as_str())
            .bind(d.digest.as_str())
            .bind(d.source_type.as_str())
            .bind(d.source.as_str())
            .bind(d.schema.clone())
            .bind(d.profile.clone())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            let (ds,): (String,) = sqlx::query_as(
                "SELECT dataset_uuid FROM datasets WHERE experiment_id = $1 AND name = $2 AND digest = $3",
            )
            .bind(exp_id)
            .bind(d.name.as_str())
            .bind(d.digest.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            sqlx::query("INSERT INTO run_inputs (run_uuid, dataset_uuid) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(run_id)
                .bind(ds.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            for t in &input.tags {
                sqlx::query(
                    "INSERT INTO run_input_tags (run_uuid, dataset_uuid, key, value) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (run_uuid, dataset_uuid, key) DO UPDATE SET value = excluded.value",
                )
                .bind(run_id)
                .bind(ds.as_str())
                .bind(t.key.as_str())
                .bind(t.value.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
        }
        tx.commit().await.map_err(db)
    }

    pub(crate) async fn log_outputs(&self, run_id: &str, outputs: &[ModelOutput]) -> Result<()> {
        self.active_run(run_id).await?;
        for o in outputs {
            self.get_logged_model(&o.model_id).await?;
        }
        let _w = self.write_guard().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        for o in outputs {
            sqlx::query(
                "INSERT INTO run_outputs (run_uuid, model_id, step) VALUES ($1, $2, $3) \
                 ON CONFLICT (run_uuid, model_id) DO UPDATE SET step = excluded.step",
            )
            .bind(run_id)
            .bind(o.model_id.as_str())
            .bind(o.step)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    pub(crate) async fn get_metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: Option<i64>,
        page_token: Option<&str>,
    ) -> Result<Page<Metric>> {
        self.run_info(run_id).await?;
        let token = PageToken::decode(page_token)?;
        let limit = match max_results {
            None => None,
            // One below the largest so that `limit + 1` still fits a BIGINT.
            Some(n) if n >= 1 => Some(n.min(i64::MAX - 1) as usize),
            Some(n) => {
                return Err(StoreError::invalid(format!(
                    "Invalid value {n} for parameter 'max_results': it must be a positive integer"
                )))
            }
        };
        if let Some(limit) = limit {
            let (mut items, rows) =
                self.history_chunk(run_id, key, token.offset, limit + 1).await?;
            items.truncate(limit);
            let has_more = rows > limit;
            return Ok(Page { items, next_page_token: token.next(has_more, limit) });
        }
        // Unpaged: read in chunks, so no more than one chunk's packed text
        // is ever held beside the points already read.
        let mut items = Vec::new();
        let mut offset = token.offset;
        loop {
            let (chunk, rows) = self.history_chunk(run_id, key, offset, HISTORY_CHUNK).await?;
            items.extend(chunk);
            if rows < HISTORY_CHUNK {
                return Ok(Page { items, next_page_token: None });
            }
            offset += HISTORY_CHUNK as u64;
        }
    }

    /// Up to `limit` points of a history from `offset`, with how many rows matched.
    async fn history_chunk(
        &self,
        run_id: &str,
        key: &str,
        offset: u64,
        limit: usize,
    ) -> Result<(Vec<Metric>, usize)> {
        let mut sql = Sql::new(
            self.dialect,
            &format!(
                "SELECT COUNT(*) AS n, {} AS packed FROM (SELECT step, timestamp, value, is_nan \
                 FROM metrics WHERE run_uuid = ",
                history::packed_points(self.dialect)
            ),
        );
        sql.arg(run_id).push(" AND key = ").arg(key).push(" ORDER BY step, timestamp, value");
        sql.push(" LIMIT ").arg(limit as i64).push(" OFFSET ").arg(offset as i64).push(") page");
        let row = sql.query().fetch_one(&self.pool).await.map_err(db)?;
        let rows = rows::int(&row, "n")? as usize;
        let packed = rows::opt_text(&row, "packed")?.unwrap_or_default();
        Ok((history::unpack(key, &packed, rows)?, rows))
    }

    pub(crate) async fn search_runs(&self, s: &SearchRuns) -> Result<Page<Run>> {
        let search::Parsed { filter, order, limit, token } = search::parse(
            Entity::Runs,
            &s.query,
            limits::SEARCH_MAX_RESULTS_DEFAULT,
            limits::SEARCH_MAX_RESULTS_THRESHOLD,
        )?;
        let ids = s
            .experiment_ids
            .iter()
            .map(|e| experiments::parse_id(e))
            .collect::<Result<Vec<i64>>>()?;
        if ids.is_empty() {
            return Ok(Page { items: vec![], next_page_token: None });
        }
        let mut sql = Sql::new(
            self.dialect,
            &format!("SELECT {RUN_COLUMNS} FROM runs r WHERE r.experiment_id IN "),
        );
        sql.list(&ids).push(" AND ");
        search::lifecycle(&mut sql, "r", s.query.view);
        search::conditions(&mut sql, &search::RUNS, &filter);
        search::order(&mut sql, &search::RUNS, &order);
        search::limit(&mut sql, limit, token);
        let rows = sql.query().fetch_all(&self.pool).await.map_err(db)?;
        let has_more = rows.len() > limit;
        let infos = rows.iter().take(limit).map(run_info).collect::<Result<Vec<_>>>()?;
        let items = self.load_runs(infos).await?;
        Ok(Page { items, next_page_token: token.next(has_more, limit) })
    }
}

pub(crate) async fn upsert_tags(
    dialect: Dialect,
    tx: &mut Transaction<'_, Any>,
    run_id: &str,
    tags: &[Tag],
) -> Result<()> {
    // Last value wins for a key repeated in one batch, as MLflow.
    let mut last: Vec<&Tag> = Vec::new();
    for t in tags {
        last.retain(|x| x.key != t.key);
        last.push(t);
    }
    for chunk in last.chunks(INSERT_CHUNK) {
        let mut sql = Sql::new(dialect, "INSERT INTO tags (run_uuid, key, value) VALUES ");
        for (i, t) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.arg(run_id)
                .push(", ")
                .arg(t.key.as_str())
                .push(", ")
                .arg(t.value.as_str())
                .push(")");
        }
        sql.push(" ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value");
        sql.query().execute(&mut **tx).await.map_err(db)?;
    }
    Ok(())
}

async fn insert_params(
    dialect: Dialect,
    tx: &mut Transaction<'_, Any>,
    run_id: &str,
    params: &[Param],
) -> Result<()> {
    if params.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = params.iter().map(|p| p.key.clone()).collect();
    let mut sql = Sql::new(dialect, "SELECT key, value FROM params WHERE run_uuid = ");
    sql.arg(run_id).push(" AND key IN ").list(&keys);
    let existing: HashMap<String, String> = sql
        .query()
        .fetch_all(&mut **tx)
        .await
        .map_err(db)?
        .iter()
        .map(|r| Ok((rows::text(r, "key")?, rows::text(r, "value")?)))
        .collect::<Result<_>>()?;
    let mut new = Vec::new();
    for p in params {
        match existing.get(&p.key) {
            Some(old) if *old != p.value => {
                return Err(StoreError::invalid(format!(
                    "Changing param values is not allowed. Param with key='{}' was already logged \
                     with value='{old}' for run ID='{run_id}'. Attempted logging new value '{}'.",
                    p.key, p.value
                )))
            }
            Some(_) => {}
            None => new.push(p),
        }
    }
    for chunk in new.chunks(INSERT_CHUNK) {
        let mut sql = Sql::new(dialect, "INSERT INTO params (run_uuid, key, value) VALUES ");
        for (i, p) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.arg(run_id)
                .push(", ")
                .arg(p.key.as_str())
                .push(", ")
                .arg(p.value.as_str())
                .push(")");
        }
        sql.query().execute(&mut **tx).await.map_err(db)?;
    }
    Ok(())
}

/// Stored form of a value: NaN becomes 0 with a flag (SQLite has no NaN).
fn stored(value: f64) -> (f64, i64) {
    if value.is_nan() {
        (0.0, 1)
    } else {
        (value, 0)
    }
}

async fn insert_metrics(
    dialect: Dialect,
    tx: &mut Transaction<'_, Any>,
    run_id: &str,
    metrics: &[Metric],
) -> Result<()> {
    if metrics.is_empty() {
        return Ok(());
    }
    for chunk in metrics.chunks(INSERT_CHUNK) {
        // The run id is bound once, not once per point. (`WHERE true` keeps
        // SQLite's parser from reading ON CONFLICT as part of the SELECT.)
        let mut sql = Sql::new(
            dialect,
            "INSERT INTO metrics (run_uuid, key, value, timestamp, step, is_nan) SELECT ",
        );
        sql.arg(run_id).push(", column1, column2, column3, column4, column5 FROM (VALUES ");
        for (i, m) in chunk.iter().enumerate() {
            let (value, is_nan) = stored(m.value);
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.arg(m.key.as_str()).push(", ").arg(value).push(", ");
            sql.arg(m.timestamp).push(", ").arg(m.step).push(", ").arg(is_nan).push(")");
        }
        sql.push(") points WHERE true ON CONFLICT DO NOTHING");
        sql.query().execute(&mut **tx).await.map_err(db)?;
    }
    // The latest point per key: highest (step, timestamp, value), as MLflow.
    let mut latest: HashMap<&str, &Metric> = HashMap::new();
    for m in metrics {
        let newer = |old: &Metric| {
            (m.step, m.timestamp)
                .cmp(&(old.step, old.timestamp))
                .then(m.value.partial_cmp(&old.value).unwrap_or(std::cmp::Ordering::Equal))
                == std::cmp::Ordering::Greater
        };
        match latest.get(m.key.as_str()) {
            Some(old) if !newer(old) => {}
            _ => {
                latest.insert(m.key.as_str(), m);
            }
        }
    }
    let mut latest: Vec<&Metric> = latest.into_values().collect();
    latest.sort_by(|a, b| a.key.cmp(&b.key));
    for chunk in latest.chunks(INSERT_CHUNK) {
        let mut sql = Sql::new(
            dialect,
            "INSERT INTO latest_metrics (run_uuid, key, value, timestamp, step, is_nan) VALUES ",
        );
        for (i, m) in chunk.iter().enumerate() {
            let (value, is_nan) = stored(m.value);
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.arg(run_id).push(", ").arg(m.key.as_str()).push(", ").arg(value).push(", ");
            sql.arg(m.timestamp).push(", ").arg(m.step).push(", ").arg(is_nan).push(")");
        }
        sql.push(
            " ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, \
             timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan \
             WHERE excluded.step > latest_metrics.step \
             OR (excluded.step = latest_metrics.step AND excluded.timestamp > latest_metrics.timestamp) \
             OR (excluded.step = latest_metrics.step AND excluded.timestamp = latest_metrics.timestamp \
                 AND excluded.value > latest_metrics.value)",
        );
        sql.query().execute(&mut **tx).await.map_err(db)?;
    }
    Ok(())
}
