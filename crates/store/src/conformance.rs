//! The conformance story every [`Store`] backend must pass.
//!
//! Each backend's integration tests open a store and call [`run_all`]; the
//! same story then runs against SQLite, PostgreSQL and anything else that
//! implements [`Store`], so they cannot drift apart. Every story names its
//! entities with fresh random ids ([`lathe_core::new_id`]), so the suite
//! can run again and again against one database, next to data already there.
//!
//! The stories check MLflow's semantics as clients see them: which calls
//! fail and with which [`StoreError`] variant, that a failed write changes
//! nothing, how searches filter, order and page, and how the registry keeps
//! versions, tags and aliases together. They panic on the first mismatch,
//! naming what was expected and what came back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use lathe_core::{
    new_id, Dataset, DatasetInput, LifecycleStage, LoggedModelStatus, Metric, ModelOutput,
    ModelVersionStatus, Param, Run, RunStatus, Tag, ViewType,
};

use crate::{
    CreateLoggedModel, CreateModelVersion, CreateRun, SearchLoggedModels, SearchQuery, SearchRuns,
    Store, StoreError, UpdateRun,
};

/// Asserts that `$result` is `Err(StoreError::$variant(_))` and yields the message.
macro_rules! expect_err {
    ($variant:ident, $result:expr, $($context:tt)+) => {
        match $result {
            Err(StoreError::$variant(message)) => message,
            other => panic!(
                "{}: expected StoreError::{}, got {:?}",
                format!($($context)+),
                stringify!($variant),
                other
            ),
        }
    };
}

/// Runs every story, in order, against `store`.
pub async fn run_all(store: &dyn Store) {
    experiments(store).await;
    runs(store).await;
    runs_and_batches(store).await;
    batch_atomicity(store).await;
    metric_history_and_nan(store).await;
    dataset_inputs(store).await;
    search_runs(store).await;
    search_grammar_errors(store).await;
    registry(store).await;
    aliases(store).await;
    logged_models(store).await;
    limits(store).await;
}

// --- helpers ---

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", new_id())
}

fn metric(key: &str, value: f64, timestamp: i64, step: i64) -> Metric {
    Metric { key: key.to_owned(), value, timestamp, step }
}

fn param(key: &str, value: &str) -> Param {
    Param { key: key.to_owned(), value: value.to_owned() }
}

fn tag_value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

fn latest<'a>(run: &'a Run, key: &str) -> Option<&'a Metric> {
    run.metrics.iter().find(|m| m.key == key)
}

fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort();
    items
}

fn sorted_params(params: &[Param]) -> Vec<(String, String)> {
    sorted(&params.iter().map(|p| (p.key.clone(), p.value.clone())).collect::<Vec<_>>())
}

fn sorted_tags(tags: &[Tag]) -> Vec<(String, String)> {
    sorted(&tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect::<Vec<_>>())
}

fn query(filter: &str) -> SearchQuery {
    SearchQuery { filter: filter.to_owned(), ..SearchQuery::default() }
}

fn run_search(experiment_id: &str, filter: &str, order_by: &[&str]) -> SearchRuns {
    SearchRuns {
        experiment_ids: vec![experiment_id.to_owned()],
        query: SearchQuery {
            filter: filter.to_owned(),
            order_by: order_by.iter().map(|o| (*o).to_owned()).collect(),
            ..SearchQuery::default()
        },
    }
}

async fn new_experiment(store: &dyn Store, what: &str) -> String {
    let name = unique(&format!("conformance-{what}"));
    store.create_experiment(&name, None, &[]).await.expect("create an experiment for a story")
}

async fn new_run(store: &dyn Store, experiment_id: &str, name: &str) -> Run {
    store
        .create_run(CreateRun {
            experiment_id: experiment_id.to_owned(),
            user_id: "conformance".into(),
            run_name: Some(name.to_owned()),
            ..CreateRun::default()
        })
        .await
        .expect("create a run for a story")
}

/// The ids of one page of a run search, checking it is the only page.
async fn run_ids(
    store: &dyn Store,
    experiment_id: &str,
    filter: &str,
    order_by: &[&str],
) -> Vec<String> {
    let page = store
        .search_runs(&run_search(experiment_id, filter, order_by))
        .await
        .unwrap_or_else(|e| panic!("search_runs {filter:?} {order_by:?}: {e}"));
    assert_eq!(page.next_page_token, None, "search_runs {filter:?}: one page expected");
    page.items.into_iter().map(|r| r.info.run_id).collect()
}

/// A batch that must be refused: what is wrong with it, and its contents.
type BadBatch = (&'static str, Vec<Metric>, Vec<Param>, Vec<Tag>);

fn id_set(ids: &[String]) -> HashSet<String> {
    ids.iter().cloned().collect()
}

// --- stories ---

/// Experiments: the default experiment, create / get / get-by-name, duplicate
/// names, rename, tags, delete and restore (runs follow), and search by
/// name, `LIKE` (case-sensitive) and `ILIKE`, tags, view type, ordering and
/// paging.
pub async fn experiments(store: &dyn Store) {
    let default = store.get_experiment("0").await.expect("the default experiment '0' exists");
    assert_eq!(default.experiment_id, "0");
    assert_eq!(default.name, "Default");
    assert_eq!(default.lifecycle_stage, LifecycleStage::Active);
    expect_err!(NotFound, store.get_experiment("987654321").await, "unknown experiment id");
    expect_err!(NotFound, store.get_experiment("not-a-number").await, "non-numeric experiment id");
    expect_err!(
        NotFound,
        store.get_experiment_by_name(&unique("missing")).await,
        "unknown experiment name"
    );
    expect_err!(InvalidParameter, store.create_experiment("", None, &[]).await, "empty name");

    // Lowercase hex, so only the suffixes below differ in case.
    let prefix = format!("cf{}", &new_id()[..12]);
    let alpha_name = format!("{prefix}-Alpha");
    let beta_name = format!("{prefix}-beta");
    let gamma_name = format!("{prefix}-gamma");
    let delta_name = format!("{prefix}-delta");
    let alpha = store
        .create_experiment(&alpha_name, None, &[Tag::new("owner", "alice")])
        .await
        .expect("create experiment alpha");
    let beta = store
        .create_experiment(&beta_name, Some("s3://lathe-conformance/beta"), &[])
        .await
        .expect("create experiment beta");
    let gamma = store.create_experiment(&gamma_name, None, &[]).await.expect("create gamma");
    assert_eq!(id_set(&[alpha.clone(), beta.clone(), gamma.clone()]).len(), 3, "distinct ids");

    let exp = store.get_experiment(&alpha).await.expect("get alpha");
    assert_eq!(exp.experiment_id, alpha);
    assert_eq!(exp.name, alpha_name);
    assert_eq!(exp.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(exp.tags, vec![Tag::new("owner", "alice")]);
    assert!(exp.creation_time > 0, "creation_time is set: {exp:?}");
    assert!(
        exp.artifact_location.ends_with(&format!("/{alpha}")),
        "default artifact location ends with the id: {}",
        exp.artifact_location
    );
    let beta_exp = store.get_experiment(&beta).await.expect("get beta");
    assert_eq!(beta_exp.artifact_location, "s3://lathe-conformance/beta");
    let by_name = store.get_experiment_by_name(&alpha_name).await.expect("get alpha by name");
    assert_eq!(by_name, exp, "get_experiment_by_name and get_experiment agree");
    expect_err!(
        AlreadyExists,
        store.create_experiment(&alpha_name, None, &[]).await,
        "duplicate experiment name"
    );

    // Rename.
    store.rename_experiment(&gamma, &delta_name).await.expect("rename gamma");
    assert_eq!(store.get_experiment(&gamma).await.expect("get renamed").name, delta_name);
    expect_err!(NotFound, store.get_experiment_by_name(&gamma_name).await, "old name after rename");
    let renamed = store.get_experiment_by_name(&delta_name).await.expect("get by new name");
    assert_eq!(renamed.experiment_id, gamma);
    expect_err!(
        AlreadyExists,
        store.rename_experiment(&gamma, &alpha_name).await,
        "rename onto an existing name"
    );
    expect_err!(
        NotFound,
        store.rename_experiment("987654321", &unique("x")).await,
        "rename an unknown experiment"
    );

    // Tags: set, overwrite, delete.
    store.set_experiment_tag(&alpha, &Tag::new("owner", "bob")).await.expect("overwrite tag");
    store.set_experiment_tag(&alpha, &Tag::new("team", "ml")).await.expect("set tag");
    let tags = store.get_experiment(&alpha).await.expect("get alpha").tags;
    assert_eq!(
        sorted_tags(&tags),
        sorted_tags(&[Tag::new("owner", "bob"), Tag::new("team", "ml")])
    );
    store.delete_experiment_tag(&alpha, "team").await.expect("delete tag");
    let tags = store.get_experiment(&alpha).await.expect("get alpha").tags;
    assert_eq!(tags, vec![Tag::new("owner", "bob")]);
    expect_err!(
        NotFound,
        store.delete_experiment_tag(&alpha, "team").await,
        "deleting a missing experiment tag"
    );
    expect_err!(
        NotFound,
        store.set_experiment_tag("987654321", &Tag::new("k", "v")).await,
        "tag on an unknown experiment"
    );

    // Search.
    let ours = format!("name LIKE '{prefix}-%'");
    let search = |filter: String, view: ViewType, order_by: Vec<String>| async move {
        let q = SearchQuery { filter: filter.clone(), view, order_by, ..SearchQuery::default() };
        let page = store
            .search_experiments(&q)
            .await
            .unwrap_or_else(|e| panic!("search_experiments {filter:?}: {e}"));
        assert_eq!(page.next_page_token, None, "{filter:?}: one page expected");
        page.items.into_iter().map(|e| e.experiment_id).collect::<Vec<_>>()
    };
    let active = ViewType::ActiveOnly;
    let all_three = id_set(&[alpha.clone(), beta.clone(), gamma.clone()]);
    assert_eq!(id_set(&search(ours.clone(), active, vec![]).await), all_three);
    assert_eq!(search(format!("name = '{alpha_name}'"), active, vec![]).await, vec![alpha.clone()]);
    assert_eq!(
        search(format!("name = '{gamma_name}'"), active, vec![]).await,
        Vec::<String>::new()
    );
    assert!(
        search(format!("name LIKE '{prefix}-a%'"), active, vec![]).await.is_empty(),
        "LIKE is case-sensitive"
    );
    assert_eq!(
        search(format!("name LIKE '{prefix}-A%'"), active, vec![]).await,
        vec![alpha.clone()]
    );
    assert_eq!(
        search(format!("name ILIKE '{prefix}-a%'"), active, vec![]).await,
        vec![alpha.clone()],
        "ILIKE is case-insensitive"
    );
    assert_eq!(
        search(format!("tags.owner = 'bob' AND {ours}"), active, vec![]).await,
        vec![alpha.clone()]
    );
    assert!(search(format!("tags.owner = 'alice' and {ours}"), active, vec![]).await.is_empty());
    assert_eq!(
        search(ours.clone(), active, vec!["name ASC".into()]).await,
        vec![alpha.clone(), beta.clone(), gamma.clone()],
        "order_by name ASC"
    );
    assert_eq!(
        search(ours.clone(), active, vec!["name DESC".into()]).await,
        vec![gamma.clone(), beta.clone(), alpha.clone()],
        "order_by name DESC"
    );

    // Lifecycle: runs follow their experiment.
    let run = new_run(store, &beta, "in-beta").await.info.run_id;
    store.delete_experiment(&beta).await.expect("delete beta");
    let deleted = store.get_experiment(&beta).await.expect("a deleted experiment is readable");
    assert_eq!(deleted.lifecycle_stage, LifecycleStage::Deleted);
    let deleted = store.get_experiment_by_name(&beta_name).await.expect("deleted, by name");
    assert_eq!(deleted.lifecycle_stage, LifecycleStage::Deleted);
    let run_stage = store.get_run(&run).await.expect("get run").info.lifecycle_stage;
    assert_eq!(run_stage, LifecycleStage::Deleted, "runs are deleted with their experiment");
    assert_eq!(
        id_set(&search(ours.clone(), active, vec![]).await),
        id_set(&[alpha.clone(), gamma.clone()])
    );
    assert_eq!(search(ours.clone(), ViewType::DeletedOnly, vec![]).await, vec![beta.clone()]);
    assert_eq!(id_set(&search(ours.clone(), ViewType::All, vec![]).await), all_three);
    expect_err!(
        InvalidParameter,
        store.create_run(CreateRun { experiment_id: beta.clone(), ..CreateRun::default() }).await,
        "create a run in a deleted experiment"
    );
    expect_err!(
        InvalidParameter,
        store.rename_experiment(&beta, &unique("renamed")).await,
        "rename a deleted experiment"
    );
    expect_err!(
        InvalidParameter,
        store.set_experiment_tag(&beta, &Tag::new("k", "v")).await,
        "tag a deleted experiment"
    );
    store.restore_experiment(&beta).await.expect("restore beta");
    let restored = store.get_experiment(&beta).await.expect("get restored");
    assert_eq!(restored.lifecycle_stage, LifecycleStage::Active);
    let run_stage = store.get_run(&run).await.expect("get run").info.lifecycle_stage;
    assert_eq!(run_stage, LifecycleStage::Active, "runs are restored with their experiment");
    assert_eq!(id_set(&search(ours.clone(), active, vec![]).await), all_three);
    expect_err!(NotFound, store.delete_experiment("987654321").await, "delete unknown experiment");
    expect_err!(NotFound, store.restore_experiment("987654321").await, "restore unknown");

    // Paging one experiment at a time.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for page_number in 1.. {
        assert!(page_number <= 3, "paging over 3 experiments takes 3 pages");
        let q = SearchQuery {
            filter: ours.clone(),
            max_results: Some(1),
            page_token: token.clone(),
            ..SearchQuery::default()
        };
        let page = store.search_experiments(&q).await.expect("search a page of experiments");
        assert_eq!(page.items.len(), 1, "page {page_number} holds one experiment");
        seen.push(page.items[0].experiment_id.clone());
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => {
                assert_eq!(page_number, 3, "the last page is the third");
                break;
            }
        }
    }
    assert_eq!(id_set(&seen), all_three, "pages hold every experiment once: {seen:?}");
    assert_eq!(seen.len(), 3);
}

/// Runs: create (name from `run_name`, from the `mlflow.runName` tag, or
/// generated; always the same in both places), get, update, delete and
/// restore, and the refusal to write into a deleted run.
pub async fn runs(store: &dyn Store) {
    let exp = new_experiment(store, "runs").await;
    let created = store
        .create_run(CreateRun {
            experiment_id: exp.clone(),
            user_id: "alice".into(),
            start_time: Some(1_000),
            run_name: Some("first".into()),
            tags: vec![Tag::new("source", "conformance")],
        })
        .await
        .expect("create run");
    let id = created.info.run_id.clone();
    assert_eq!(id.len(), 32, "run ids are 32 hex digits: {id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "run ids are hex: {id}");
    assert_eq!(created.info.experiment_id, exp);
    assert_eq!(created.info.run_name, "first");
    assert_eq!(created.info.user_id, "alice");
    assert_eq!(created.info.status, RunStatus::Running);
    assert_eq!(created.info.start_time, 1_000);
    assert_eq!(created.info.end_time, None);
    assert_eq!(created.info.lifecycle_stage, LifecycleStage::Active);
    assert!(created.info.artifact_uri.contains(&id), "artifact_uri: {}", created.info.artifact_uri);
    assert_eq!(tag_value(&created.tags, "mlflow.runName"), Some("first"));
    assert_eq!(tag_value(&created.tags, "source"), Some("conformance"));

    let fetched = store.get_run(&id).await.expect("get run");
    assert_eq!(fetched.info, created.info);
    assert_eq!(sorted_tags(&fetched.tags), sorted_tags(&created.tags));
    assert!(fetched.metrics.is_empty() && fetched.params.is_empty());
    assert!(fetched.inputs.is_empty() && fetched.outputs.is_empty());

    let from_tag = store
        .create_run(CreateRun {
            experiment_id: exp.clone(),
            tags: vec![Tag::new("mlflow.runName", "from-tag")],
            ..CreateRun::default()
        })
        .await
        .expect("create run named by tag");
    assert_eq!(from_tag.info.run_name, "from-tag");
    let from_tag = store.get_run(&from_tag.info.run_id).await.expect("get run named by tag");
    assert_eq!(from_tag.info.run_name, "from-tag");
    assert_eq!(tag_value(&from_tag.tags, "mlflow.runName"), Some("from-tag"));

    let generated = store
        .create_run(CreateRun { experiment_id: exp.clone(), ..CreateRun::default() })
        .await
        .expect("create unnamed run");
    assert!(!generated.info.run_name.is_empty(), "an unnamed run gets a name");
    let generated = store.get_run(&generated.info.run_id).await.expect("get unnamed run");
    assert_eq!(
        tag_value(&generated.tags, "mlflow.runName"),
        Some(generated.info.run_name.as_str())
    );
    assert!(generated.info.start_time > 0, "start_time defaults to now");

    expect_err!(NotFound, store.get_run(&new_id()).await, "unknown run");
    expect_err!(
        NotFound,
        store
            .create_run(CreateRun { experiment_id: "987654321".into(), ..CreateRun::default() })
            .await,
        "create a run in an unknown experiment"
    );

    // Update.
    let finish = UpdateRun {
        status: Some(RunStatus::Finished),
        end_time: Some(2_000),
        ..UpdateRun::default()
    };
    let updated = store.update_run(&id, finish).await.expect("finish run");
    assert_eq!(updated.status, RunStatus::Finished);
    assert_eq!(updated.end_time, Some(2_000));
    assert_eq!(updated.run_name, "first");
    assert_eq!(store.get_run(&id).await.expect("get run").info, updated);
    let rename = UpdateRun { run_name: Some("renamed".into()), ..UpdateRun::default() };
    let renamed = store.update_run(&id, rename).await.expect("rename run");
    assert_eq!(renamed.run_name, "renamed");
    assert_eq!(renamed.status, RunStatus::Finished, "an update keeps what it does not name");
    assert_eq!(renamed.end_time, Some(2_000));
    let fetched = store.get_run(&id).await.expect("get renamed run");
    assert_eq!(fetched.info.run_name, "renamed");
    assert_eq!(tag_value(&fetched.tags, "mlflow.runName"), Some("renamed"), "the tag follows");
    expect_err!(
        NotFound,
        store.update_run(&new_id(), UpdateRun::default()).await,
        "update unknown"
    );

    // Delete and restore.
    store.delete_run(&id).await.expect("delete run");
    let deleted = store.get_run(&id).await.expect("a deleted run is readable");
    assert_eq!(deleted.info.lifecycle_stage, LifecycleStage::Deleted);
    expect_err!(
        InvalidParameter,
        store.log_batch(&id, &[metric("m", 1.0, 1, 0)], &[], &[]).await,
        "log into a deleted run"
    );
    expect_err!(
        InvalidParameter,
        store.update_run(&id, UpdateRun::default()).await,
        "update a deleted run"
    );
    expect_err!(InvalidParameter, store.delete_tag(&id, "source").await, "untag a deleted run");
    let after = store.get_run(&id).await.expect("get deleted run");
    assert!(after.metrics.is_empty(), "nothing was logged into the deleted run");
    assert_eq!(tag_value(&after.tags, "source"), Some("conformance"));
    store.restore_run(&id).await.expect("restore run");
    let restored = store.get_run(&id).await.expect("get restored run");
    assert_eq!(restored.info.lifecycle_stage, LifecycleStage::Active);
    store.log_batch(&id, &[metric("m", 1.0, 1, 0)], &[], &[]).await.expect("log after restore");
    expect_err!(NotFound, store.delete_run(&new_id()).await, "delete an unknown run");
    expect_err!(NotFound, store.restore_run(&new_id()).await, "restore an unknown run");
}

/// `log_batch`: metrics, params and tags land together; the latest metric
/// is the point with the highest (step, timestamp, value); params may be
/// re-logged with the same value; tags overwrite; `delete_tag`.
pub async fn runs_and_batches(store: &dyn Store) {
    let exp = new_experiment(store, "batches").await;
    let id = new_run(store, &exp, "batches").await.info.run_id;
    store
        .log_batch(
            &id,
            &[
                metric("loss", 1.0, 10, 0),
                metric("loss", 0.3, 5, 2),
                metric("loss", 0.4, 20, 1),
                metric("loss", 0.2, 5, 2),
                metric("acc", 0.5, 7, 0),
            ],
            &[param("lr", "0.1"), param("depth", "3")],
            &[Tag::new("team", "ml")],
        )
        .await
        .expect("log a batch");
    let run = store.get_run(&id).await.expect("get run");
    assert_eq!(latest(&run, "loss"), Some(&metric("loss", 0.3, 5, 2)), "highest step wins");
    assert_eq!(latest(&run, "acc"), Some(&metric("acc", 0.5, 7, 0)));
    assert_eq!(run.metrics.len(), 2, "one latest value per key: {:?}", run.metrics);
    assert_eq!(
        sorted_params(&run.params),
        sorted_params(&[param("depth", "3"), param("lr", "0.1")])
    );
    assert_eq!(tag_value(&run.tags, "team"), Some("ml"));

    for (point, expected, why) in [
        (metric("loss", 9.9, 100, 1), metric("loss", 0.3, 5, 2), "an older step does not win"),
        (metric("loss", 0.1, 6, 2), metric("loss", 0.1, 6, 2), "a later timestamp wins"),
        (metric("loss", 0.05, 6, 2), metric("loss", 0.1, 6, 2), "a smaller value does not win"),
        (metric("loss", 0.7, 6, 2), metric("loss", 0.7, 6, 2), "a larger value wins a tie"),
    ] {
        store.log_batch(&id, std::slice::from_ref(&point), &[], &[]).await.expect("log a point");
        let run = store.get_run(&id).await.expect("get run");
        assert_eq!(latest(&run, "loss"), Some(&expected), "{why}");
    }
    let history = store.get_metric_history(&id, "loss", None, None).await.expect("history");
    assert_eq!(history.items.len(), 8, "every point is kept: {:?}", history.items);
    assert_eq!(history.next_page_token, None);

    // The same param value again is fine; the same point again is not duplicated.
    store.log_batch(&id, &[], &[param("lr", "0.1")], &[]).await.expect("re-log same param value");
    store.log_batch(&id, &[metric("acc", 0.5, 7, 0)], &[], &[]).await.expect("re-log a point");
    let history = store.get_metric_history(&id, "acc", None, None).await.expect("history");
    assert_eq!(history.items, vec![metric("acc", 0.5, 7, 0)], "an identical point is kept once");

    // Tags overwrite; delete_tag removes.
    store.log_batch(&id, &[], &[], &[Tag::new("team", "platform")]).await.expect("overwrite tag");
    let run = store.get_run(&id).await.expect("get run");
    assert_eq!(tag_value(&run.tags, "team"), Some("platform"));
    assert_eq!(run.tags.iter().filter(|t| t.key == "team").count(), 1);
    store.delete_tag(&id, "team").await.expect("delete tag");
    let run = store.get_run(&id).await.expect("get run");
    assert_eq!(tag_value(&run.tags, "team"), None);
    expect_err!(NotFound, store.delete_tag(&id, "team").await, "delete a missing tag");
    expect_err!(NotFound, store.delete_tag(&new_id(), "team").await, "untag an unknown run");

    store.log_batch(&id, &[], &[], &[]).await.expect("an empty batch is fine");
    expect_err!(
        NotFound,
        store.log_batch(&new_id(), &[metric("m", 1.0, 1, 0)], &[], &[]).await,
        "log into an unknown run"
    );
}

/// A failing `log_batch` writes nothing: a changed param value, duplicate
/// param keys, or any limit broken (counts, value lengths, key length, bad
/// keys) refuses the whole batch, metrics and tags included.
pub async fn batch_atomicity(store: &dyn Store) {
    let exp = new_experiment(store, "atomicity").await;
    let id = new_run(store, &exp, "atomicity").await.info.run_id;
    store
        .log_batch(&id, &[metric("kept", 1.0, 1, 0)], &[param("lr", "0.1")], &[])
        .await
        .expect("log the first batch");
    let before = store.get_run(&id).await.expect("get run");

    let message = expect_err!(
        InvalidParameter,
        store
            .log_batch(
                &id,
                &[metric("acc", 0.9, 1, 0)],
                &[param("fresh", "1"), param("lr", "0.2")],
                &[Tag::new("failed-batch", "yes")],
            )
            .await,
        "changing a param value"
    );
    assert!(message.contains("lr"), "the message names the param: {message}");
    let after = store.get_run(&id).await.expect("get run");
    assert_eq!(sorted_params(&after.params), sorted_params(&[param("lr", "0.1")]));
    assert_eq!(latest(&after, "acc"), None, "no metric from the failed batch");
    assert_eq!(tag_value(&after.tags, "failed-batch"), None, "no tag from the failed batch");
    let acc = store.get_metric_history(&id, "acc", None, None).await.expect("history");
    assert!(acc.items.is_empty(), "no history from the failed batch: {:?}", acc.items);

    let long_key = "k".repeat(251);
    let cases: Vec<BadBatch> = vec![
        (
            "duplicate param keys with different values",
            vec![metric("side_m", 1.0, 1, 0)],
            vec![param("dup", "a"), param("dup", "b")],
            vec![],
        ),
        ("1001 metrics", (0..1001).map(|i| metric("over_m", 1.0, 1, i)).collect(), vec![], vec![]),
        (
            "101 params",
            vec![],
            (0..101).map(|i| param(&format!("over_p{i}"), "v")).collect(),
            vec![],
        ),
        (
            "101 tags",
            vec![],
            vec![],
            (0..101).map(|i| Tag::new(format!("over_t{i}"), "v")).collect(),
        ),
        (
            "1001 entities in total",
            (0..900).map(|i| metric("over_total", 1.0, 1, i)).collect(),
            (0..100).map(|i| param(&format!("total_p{i}"), "v")).collect(),
            vec![Tag::new("total_t", "v")],
        ),
        (
            "a param value of 6001 characters",
            vec![metric("side_m", 1.0, 1, 0)],
            vec![param("long_p", &"v".repeat(6001))],
            vec![Tag::new("side_t", "v")],
        ),
        (
            "a tag value of 5001 characters",
            vec![metric("side_m", 1.0, 1, 0)],
            vec![param("side_p", "v")],
            vec![Tag::new("long_t", "v".repeat(5001))],
        ),
        ("a metric key of 251 characters", vec![metric(&long_key, 1.0, 1, 0)], vec![], vec![]),
        (
            "a param key of 251 characters",
            vec![metric("side_m", 1.0, 1, 0)],
            vec![param(&long_key, "v")],
            vec![],
        ),
        (
            "a tag key of 251 characters",
            vec![metric("side_m", 1.0, 1, 0)],
            vec![],
            vec![Tag::new(long_key.clone(), "v")],
        ),
        (
            "a key escaping its directory",
            vec![metric("side_m", 1.0, 1, 0)],
            vec![param("../escape", "v")],
            vec![],
        ),
        ("an empty metric key", vec![metric("", 1.0, 1, 0)], vec![param("side_p", "v")], vec![]),
    ];
    for (what, metrics, params, tags) in cases {
        expect_err!(
            InvalidParameter,
            store.log_batch(&id, &metrics, &params, &tags).await,
            "a batch with {what}"
        );
        let after = store.get_run(&id).await.expect("get run");
        assert_eq!(after.metrics, before.metrics, "{what}: metrics unchanged");
        assert_eq!(sorted_params(&after.params), sorted_params(&before.params), "{what}: params");
        assert_eq!(sorted_tags(&after.tags), sorted_tags(&before.tags), "{what}: tags unchanged");
        for key in ["over_m", "over_total", "side_m"] {
            let h = store.get_metric_history(&id, key, None, None).await.expect("history");
            assert!(h.items.is_empty(), "{what}: no {key} history written");
        }
    }
}

/// Metric history: every point, ordered by step then timestamp, paged with
/// `max_results` and page tokens so each point comes back exactly once;
/// NaN and ±infinity round-trip (NaN stays NaN, also as the latest value).
pub async fn metric_history_and_nan(store: &dyn Store) {
    let exp = new_experiment(store, "history").await;
    let id = new_run(store, &exp, "history").await.info.run_id;

    store
        .log_batch(
            &id,
            &[
                metric("x", 1.5, 40, 3),
                metric("x", f64::NEG_INFINITY, 30, 2),
                metric("x", f64::NAN, 10, 0),
                metric("x", f64::INFINITY, 20, 1),
                metric("only_nan", f64::NAN, 5, 0),
                metric("pos_inf", f64::INFINITY, 5, 0),
                metric("neg_inf", f64::NEG_INFINITY, 5, 0),
            ],
            &[],
            &[],
        )
        .await
        .expect("log NaN and infinities");
    let history = store.get_metric_history(&id, "x", None, None).await.expect("history of x");
    let steps: Vec<i64> = history.items.iter().map(|m| m.step).collect();
    assert_eq!(steps, vec![0, 1, 2, 3], "ordered by step");
    assert!(history.items[0].value.is_nan(), "NaN stays NaN: {:?}", history.items[0]);
    assert_eq!(history.items[1].value, f64::INFINITY);
    assert_eq!(history.items[2].value, f64::NEG_INFINITY);
    assert_eq!(history.items[3], metric("x", 1.5, 40, 3));
    let run = store.get_run(&id).await.expect("get run");
    assert_eq!(latest(&run, "x"), Some(&metric("x", 1.5, 40, 3)));
    let only_nan = latest(&run, "only_nan").expect("a NaN latest value is listed");
    assert!(only_nan.value.is_nan(), "latest NaN stays NaN: {only_nan:?}");
    assert_eq!(latest(&run, "pos_inf").map(|m| m.value), Some(f64::INFINITY));
    assert_eq!(latest(&run, "neg_inf").map(|m| m.value), Some(f64::NEG_INFINITY));

    // Same step: ordered by timestamp.
    store
        .log_batch(&id, &[metric("ts", 2.0, 200, 0), metric("ts", 1.0, 100, 0)], &[], &[])
        .await
        .expect("log same-step points");
    let history = store.get_metric_history(&id, "ts", None, None).await.expect("history of ts");
    let stamps: Vec<i64> = history.items.iter().map(|m| m.timestamp).collect();
    assert_eq!(stamps, vec![100, 200], "same step: ordered by timestamp");

    // 25 points logged out of order in three batches, read back in pages.
    let points: Vec<Metric> =
        (0..25).rev().map(|step| metric("h", step as f64 / 10.0, 1_000 + step, step)).collect();
    for chunk in [&points[..10], &points[10..17], &points[17..]] {
        store.log_batch(&id, chunk, &[], &[]).await.expect("log history points");
    }
    for page_size in [7_i64, 5, 25, 100] {
        let mut steps = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            pages += 1;
            assert!(pages <= 30, "paging terminates");
            let page = store
                .get_metric_history(&id, "h", Some(page_size), token.as_deref())
                .await
                .expect("a page of history");
            assert!(page.items.len() as i64 <= page_size, "a page holds at most max_results");
            steps.extend(page.items.iter().map(|m| m.step));
            match page.next_page_token {
                Some(next) => {
                    assert_eq!(page.items.len() as i64, page_size, "only the last page is short");
                    token = Some(next);
                }
                None => break,
            }
        }
        assert_eq!(steps, (0..25).collect::<Vec<_>>(), "max_results={page_size}: each point once");
        assert_eq!(pages, (25 + page_size - 1) / page_size, "max_results={page_size}: page count");
    }

    let none = store.get_metric_history(&id, "never-logged", None, None).await.expect("history");
    assert!(none.items.is_empty() && none.next_page_token.is_none());
    expect_err!(
        NotFound,
        store.get_metric_history(&new_id(), "x", None, None).await,
        "history of an unknown run"
    );
}

/// Dataset inputs: `log_inputs` records a dataset with its context tag,
/// visible on `get_run`; logging the same input again changes nothing.
pub async fn dataset_inputs(store: &dyn Store) {
    let exp = new_experiment(store, "inputs").await;
    let id = new_run(store, &exp, "inputs").await.info.run_id;
    let train = DatasetInput {
        dataset: Dataset {
            name: "train".into(),
            digest: "abc123".into(),
            source_type: "local".into(),
            source: r#"{"uri": "/data/train.csv"}"#.into(),
            schema: Some(r#"{"mlflow_colspec": []}"#.into()),
            profile: None,
        },
        tags: vec![Tag::new("mlflow.data.context", "training")],
    };
    store.log_inputs(&id, std::slice::from_ref(&train)).await.expect("log an input");
    let run = store.get_run(&id).await.expect("get run");
    assert_eq!(run.inputs, vec![train.clone()]);
    store.log_inputs(&id, std::slice::from_ref(&train)).await.expect("re-log the same input");
    let run = store.get_run(&id).await.expect("get run");
    assert_eq!(run.inputs, vec![train.clone()], "re-logging is idempotent");

    let eval = DatasetInput {
        dataset: Dataset { name: "eval".into(), digest: "def456".into(), ..train.dataset.clone() },
        tags: vec![Tag::new("mlflow.data.context", "evaluation")],
    };
    store.log_inputs(&id, std::slice::from_ref(&eval)).await.expect("log a second input");
    let run = store.get_run(&id).await.expect("get run");
    assert_eq!(run.inputs.len(), 2, "two inputs: {:?}", run.inputs);
    let eval_seen = run.inputs.iter().find(|i| i.dataset.name == "eval").expect("eval input");
    assert_eq!(eval_seen, &eval);

    let mut nameless = train.clone();
    nameless.dataset.digest.clear();
    expect_err!(
        InvalidParameter,
        store.log_inputs(&id, &[nameless]).await,
        "a dataset without digest"
    );
    expect_err!(NotFound, store.log_inputs(&new_id(), &[train]).await, "inputs of an unknown run");
}

/// `search_runs`: filters on metrics, params, tags (`LIKE`, `ILIKE`,
/// `IS NULL`), attributes (`status`, `run_name`, `run_id IN`) and datasets;
/// ordering with runs lacking the key last both ways; paging; view types;
/// several experiments; the `max_results` ceiling.
pub async fn search_runs(store: &dyn Store) {
    let exp = new_experiment(store, "search").await;
    let mut ids = Vec::new();
    for i in 0..5_i64 {
        let run = store
            .create_run(CreateRun {
                experiment_id: exp.clone(),
                user_id: "searcher".into(),
                start_time: Some(1_000 * (i + 1)),
                run_name: Some(format!("r{i}")),
                tags: vec![],
            })
            .await
            .expect("create a run to search");
        ids.push(run.info.run_id);
    }
    let metrics = [Some(0.1), Some(0.9), Some(0.6), Some(0.7), None];
    let params = [Some("v"), Some("v"), Some("v"), Some("w"), None];
    let tags = [Some("Alpha"), Some("alpha"), Some("beta"), None, None];
    for (i, id) in ids.iter().enumerate() {
        let m: Vec<Metric> = metrics[i].map(|v| metric("x", v, 1, 0)).into_iter().collect();
        let p: Vec<Param> = params[i].map(|v| param("p", v)).into_iter().collect();
        let t: Vec<Tag> = tags[i].map(|v| Tag::new("t", v)).into_iter().collect();
        store.log_batch(id, &m, &p, &t).await.expect("log searchable data");
    }
    for id in &ids[1..3] {
        let finish = UpdateRun { status: Some(RunStatus::Finished), ..UpdateRun::default() };
        store.update_run(id, finish).await.expect("finish run");
    }
    let dataset = DatasetInput {
        dataset: Dataset {
            name: "train".into(),
            digest: "d1".into(),
            source_type: "local".into(),
            source: "{}".into(),
            schema: None,
            profile: None,
        },
        tags: vec![Tag::new("mlflow.data.context", "training")],
    };
    store.log_inputs(&ids[0], &[dataset]).await.expect("log an input to search");
    let r = |indexes: &[usize]| indexes.iter().map(|&i| ids[i].clone()).collect::<Vec<_>>();
    let set = |indexes: &[usize]| id_set(&r(indexes));

    let got = run_ids(store, &exp, "metrics.x > 0.5", &["metrics.x DESC"]).await;
    assert_eq!(got, r(&[1, 3, 2]), "metrics.x > 0.5 ordered by metrics.x DESC");
    let got = run_ids(store, &exp, "metrics.x <= 0.6", &["metrics.x ASC"]).await;
    assert_eq!(got, r(&[0, 2]));
    for (filter, expected) in [
        ("", set(&[0, 1, 2, 3, 4])),
        ("params.p = 'v'", set(&[0, 1, 2])),
        ("params.p != 'v'", set(&[3])),
        ("params.p IS NULL", set(&[4])),
        ("metrics.x > 0.5 and params.p = 'v'", set(&[1, 2])),
        ("tags.t LIKE 'a%'", set(&[1])),
        ("tags.t LIKE '%lpha'", set(&[0, 1])),
        ("tags.t ILIKE 'a%'", set(&[0, 1])),
        ("tags.t = 'beta'", set(&[2])),
        ("tags.t IS NULL", set(&[3, 4])),
        ("tags.t IS NOT NULL", set(&[0, 1, 2])),
        ("tags.t IN ('alpha', 'beta')", set(&[1, 2])),
        ("attributes.status = 'FINISHED'", set(&[1, 2])),
        ("attributes.status != 'FINISHED'", set(&[0, 3, 4])),
        ("attributes.run_name = 'r3'", set(&[3])),
        ("attributes.`Run name` LIKE 'r%'", set(&[0, 1, 2, 3, 4])),
        ("tags.mlflow.runName = 'r4'", set(&[4])),
        ("attributes.user_id = 'searcher'", set(&[0, 1, 2, 3, 4])),
        ("attributes.start_time >= 3000", set(&[2, 3, 4])),
        ("datasets.name = 'train'", set(&[0])),
        ("datasets.context = 'training'", set(&[0])),
        ("datasets.digest = 'nope'", set(&[])),
    ] {
        let got = run_ids(store, &exp, filter, &[]).await;
        assert_eq!(id_set(&got), expected, "filter {filter:?}");
        assert_eq!(got.len(), expected.len(), "filter {filter:?}: no duplicates");
    }
    let filter = format!("attributes.run_id IN ('{}', '{}')", ids[0], ids[4]);
    assert_eq!(id_set(&run_ids(store, &exp, &filter, &[]).await), set(&[0, 4]), "{filter}");
    let filter = format!("attributes.run_id = '{}'", ids[2]);
    assert_eq!(run_ids(store, &exp, &filter, &[]).await, r(&[2]), "{filter}");

    // Ordering.
    let all: Vec<usize> = (0..5).collect();
    let reversed: Vec<usize> = (0..5).rev().collect();
    assert_eq!(run_ids(store, &exp, "", &[]).await, r(&reversed), "default: newest first");
    let got = run_ids(store, &exp, "", &["attributes.start_time ASC"]).await;
    assert_eq!(got, r(&all), "start_time ASC");
    let got = run_ids(store, &exp, "", &["attributes.start_time DESC"]).await;
    assert_eq!(got, r(&reversed), "start_time DESC");
    let got = run_ids(store, &exp, "", &["metrics.x ASC"]).await;
    assert_eq!(got, r(&[0, 2, 3, 1, 4]), "metrics.x ASC: a run without x comes last");
    let got = run_ids(store, &exp, "", &["metrics.x DESC"]).await;
    assert_eq!(got, r(&[1, 3, 2, 0, 4]), "metrics.x DESC: a run without x comes last");
    let got = run_ids(store, &exp, "", &["params.p DESC", "attributes.start_time ASC"]).await;
    assert_eq!(got, r(&[3, 0, 1, 2, 4]), "params.p DESC then start_time: no param last");
    let got = run_ids(store, &exp, "", &["attributes.run_name DESC"]).await;
    assert_eq!(got, r(&reversed), "run_name DESC");

    // Paging: 5 runs, 2 per page, 3 pages.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 3, "5 runs at 2 per page take 3 pages");
        let mut search = run_search(&exp, "", &["attributes.start_time ASC"]);
        search.query.max_results = Some(2);
        search.query.page_token = token.clone();
        let page = store.search_runs(&search).await.expect("a page of runs");
        seen.extend(page.items.into_iter().map(|run| run.info.run_id));
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, r(&all), "pages hold every run once, in order");

    // Runs come back whole.
    let mut search = run_search(&exp, "attributes.run_name = 'r1'", &[]);
    search.query.max_results = Some(10);
    let page = store.search_runs(&search).await.expect("search one run");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0], store.get_run(&ids[1]).await.expect("get run"), "search = get");

    // View types.
    store.delete_run(&ids[4]).await.expect("delete a run");
    assert_eq!(id_set(&run_ids(store, &exp, "", &[]).await), set(&[0, 1, 2, 3]));
    let mut search = run_search(&exp, "", &[]);
    search.query.view = ViewType::DeletedOnly;
    let page = store.search_runs(&search).await.expect("search deleted runs");
    let got: Vec<String> = page.items.into_iter().map(|run| run.info.run_id).collect();
    assert_eq!(got, r(&[4]), "DELETED_ONLY");
    search.query.view = ViewType::All;
    let page = store.search_runs(&search).await.expect("search all runs");
    assert_eq!(page.items.len(), 5, "ALL");

    // Several experiments at once.
    let other = new_experiment(store, "search-other").await;
    let other_run = new_run(store, &other, "elsewhere").await.info.run_id;
    let mut search = run_search(&exp, "", &[]);
    search.experiment_ids.push(other.clone());
    let page = store.search_runs(&search).await.expect("search two experiments");
    let got = id_set(&page.items.into_iter().map(|run| run.info.run_id).collect::<Vec<_>>());
    let mut expected = set(&[0, 1, 2, 3]);
    expected.insert(other_run);
    assert_eq!(got, expected, "runs of both experiments");

    // The max_results ceiling.
    let mut search = run_search(&exp, "", &[]);
    search.query.max_results = Some(50_001);
    expect_err!(InvalidParameter, store.search_runs(&search).await, "max_results 50001");
    search.query.max_results = Some(50_000);
    store.search_runs(&search).await.expect("max_results 50000 is allowed");
}

/// Bad filters and `order_by` clauses fail with `InvalidParameter`; syntax
/// errors name the position where the input went wrong.
pub async fn search_grammar_errors(store: &dyn Store) {
    let exp = new_experiment(store, "grammar").await;
    for filter in [
        "metrics.x >",
        "metrics.x > 1 OR metrics.y > 2",
        "params.p = 'unterminated",
        "tags.t IS 'x'",
        "metrics.x ~ 1",
        "params.p = unquoted",
        "metrics.x > 1 extra",
    ] {
        let message = expect_err!(
            InvalidParameter,
            store.search_runs(&run_search(&exp, filter, &[])).await,
            "search_runs filter {filter:?}"
        );
        assert!(
            message.contains("position"),
            "{filter:?}: the message names a position: {message}"
        );
    }
    for filter in ["foo.bar = 'x'", "status = 'FINISHED'", "metrics.x LIKE 'a'", "params.p > 'a'"] {
        expect_err!(
            InvalidParameter,
            store.search_runs(&run_search(&exp, filter, &[])).await,
            "search_runs filter {filter:?}"
        );
    }
    let message = expect_err!(
        InvalidParameter,
        store.search_runs(&run_search(&exp, "", &["metrics.x sideways"])).await,
        "bad order_by"
    );
    assert!(message.contains("position"), "order_by errors name a position: {message}");

    expect_err!(
        InvalidParameter,
        store.search_experiments(&query("metrics.m > 1")).await,
        "metrics in an experiment filter"
    );
    let message = expect_err!(
        InvalidParameter,
        store.search_experiments(&query("name = 'x' or name = 'y'")).await,
        "OR in an experiment filter"
    );
    assert!(message.contains("position"), "{message}");
    expect_err!(
        InvalidParameter,
        store.search_registered_models(&query("params.p = 'x'")).await,
        "params in a registered-model filter"
    );
    expect_err!(
        InvalidParameter,
        store.search_model_versions(&query("name = ")).await,
        "a model-version filter without value"
    );
    let search = SearchLoggedModels {
        experiment_ids: vec![exp.clone()],
        query: query("datasets.name = 'x'"),
    };
    expect_err!(InvalidParameter, store.search_logged_models(&search).await, "logged-model filter");
}

/// The registry: registered models (create, duplicate, get, update, tags,
/// rename with versions, tags and aliases following, search), versions
/// (numbered 1, 2, 3, never reused; get, update, tags, delete, search by
/// name, tag and run id) and legacy stages with `archive_existing`.
pub async fn registry(store: &dyn Store) {
    let exp = new_experiment(store, "registry").await;
    let run_id = new_run(store, &exp, "producer").await.info.run_id;
    let prefix = format!("cf{}", &new_id()[..12]);
    let name = format!("{prefix}-model");

    let created = store
        .create_registered_model(&name, &[Tag::new("team", "ml")], Some("first"))
        .await
        .expect("create registered model");
    assert_eq!(created.name, name);
    assert_eq!(created.description, "first");
    assert_eq!(created.tags, vec![Tag::new("team", "ml")]);
    assert!(created.aliases.is_empty() && created.latest_versions.is_empty());
    assert!(created.creation_timestamp > 0);
    expect_err!(
        AlreadyExists,
        store.create_registered_model(&name, &[], None).await,
        "duplicate registered model"
    );
    expect_err!(InvalidParameter, store.create_registered_model("", &[], None).await, "empty name");
    assert_eq!(store.get_registered_model(&name).await.expect("get model"), created);
    expect_err!(NotFound, store.get_registered_model(&unique("missing")).await, "unknown model");
    let updated = store.update_registered_model(&name, "second").await.expect("update model");
    assert_eq!(updated.description, "second");
    assert_eq!(store.get_registered_model(&name).await.expect("get").description, "second");
    expect_err!(
        NotFound,
        store.update_registered_model(&unique("missing"), "x").await,
        "update unknown model"
    );
    store.set_registered_model_tag(&name, &Tag::new("team", "platform")).await.expect("tag");
    store.set_registered_model_tag(&name, &Tag::new("tier", "gold")).await.expect("tag");
    store.delete_registered_model_tag(&name, "tier").await.expect("untag");
    let model = store.get_registered_model(&name).await.expect("get model");
    assert_eq!(model.tags, vec![Tag::new("team", "platform")]);

    // Versions 1, 2, 3.
    let mut versions = Vec::new();
    for i in 1..=3_i64 {
        let v = store
            .create_model_version(CreateModelVersion {
                name: name.clone(),
                source: format!("runs:/{run_id}/model-{i}"),
                run_id: Some(run_id.clone()),
                tags: vec![Tag::new("built", format!("b{i}"))],
                description: Some(format!("version {i}")),
                ..CreateModelVersion::default()
            })
            .await
            .expect("create model version");
        assert_eq!(v.version, i, "versions are numbered 1, 2, 3");
        assert_eq!(v.name, name);
        assert_eq!(v.status, ModelVersionStatus::Ready);
        assert_eq!(v.current_stage, "None");
        assert_eq!(v.source, format!("runs:/{run_id}/model-{i}"));
        assert_eq!(v.tags, vec![Tag::new("built", format!("b{i}"))]);
        assert_eq!(v.description, format!("version {i}"));
        versions.push(v);
    }
    assert_eq!(versions[0].run_id, run_id);
    expect_err!(
        NotFound,
        store
            .create_model_version(CreateModelVersion {
                name: unique("missing"),
                source: "s3://b/k".into(),
                ..CreateModelVersion::default()
            })
            .await,
        "a version of an unknown model"
    );
    let model = store.get_registered_model(&name).await.expect("get model");
    let latest: Vec<i64> = model.latest_versions.iter().map(|v| v.version).collect();
    assert_eq!(latest, vec![3], "latest_versions holds the newest");
    assert_eq!(store.get_model_version(&name, 2).await.expect("get version 2"), versions[1]);
    expect_err!(NotFound, store.get_model_version(&name, 99).await, "unknown version");
    expect_err!(
        NotFound,
        store.get_model_version(&unique("m"), 1).await,
        "unknown model's version"
    );
    let v2 = store.update_model_version(&name, 2, "better").await.expect("update version");
    assert_eq!(v2.description, "better");
    assert_eq!(store.get_model_version(&name, 2).await.expect("get").description, "better");
    expect_err!(
        NotFound,
        store.update_model_version(&name, 99, "x").await,
        "update unknown version"
    );

    // Version tags.
    let marker = new_id();
    store.set_model_version_tag(&name, 2, &Tag::new("k", "old")).await.expect("tag version");
    store.set_model_version_tag(&name, 2, &Tag::new("k", &*marker)).await.expect("overwrite");
    store.set_model_version_tag(&name, 2, &Tag::new("gone", "x")).await.expect("tag version");
    store.delete_model_version_tag(&name, 2, "gone").await.expect("untag version");
    let v2 = store.get_model_version(&name, 2).await.expect("get version 2");
    assert_eq!(
        sorted_tags(&v2.tags),
        sorted_tags(&[Tag::new("built", "b2"), Tag::new("k", &*marker)])
    );
    expect_err!(
        NotFound,
        store.set_model_version_tag(&name, 99, &Tag::new("k", "v")).await,
        "tag an unknown version"
    );

    // Searching versions.
    let version_numbers = |page: crate::Page<lathe_core::ModelVersion>| {
        assert_eq!(page.next_page_token, None);
        sorted(&page.items.iter().map(|v| (v.name.clone(), v.version)).collect::<Vec<_>>())
    };
    let mv = |filter: String| async move {
        store
            .search_model_versions(&query(&filter))
            .await
            .unwrap_or_else(|e| panic!("search_model_versions {filter:?}: {e}"))
    };
    let all3 = vec![(name.clone(), 1), (name.clone(), 2), (name.clone(), 3)];
    assert_eq!(version_numbers(mv(format!("name = '{name}'")).await), all3);
    assert_eq!(version_numbers(mv(format!("tags.k = '{marker}'")).await), vec![(name.clone(), 2)]);
    assert_eq!(version_numbers(mv(format!("tag.k = '{marker}'")).await), vec![(name.clone(), 2)]);
    assert_eq!(version_numbers(mv(format!("run_id = '{run_id}'")).await), all3);
    assert_eq!(
        version_numbers(mv(format!("name = '{name}' and version_number >= 2")).await),
        vec![(name.clone(), 2), (name.clone(), 3)]
    );
    assert_eq!(
        version_numbers(
            mv(format!("name = '{name}' and source_path = 'runs:/{run_id}/model-3'")).await
        ),
        vec![(name.clone(), 3)]
    );

    // Searching registered models.
    let other = format!("{prefix}-Other");
    store.create_registered_model(&other, &[], None).await.expect("create a second model");
    let rm = |filter: String| async move {
        let page = store
            .search_registered_models(&query(&filter))
            .await
            .unwrap_or_else(|e| panic!("search_registered_models {filter:?}: {e}"));
        assert_eq!(page.next_page_token, None);
        page.items.into_iter().map(|m| m.name).collect::<Vec<_>>()
    };
    assert_eq!(rm(format!("name = '{name}'")).await, vec![name.clone()]);
    // The order of mixed-case names depends on the database's collation: compare as sets.
    let both = sorted(&rm(format!("name LIKE '{prefix}-%'")).await);
    assert_eq!(both, sorted(&[other.clone(), name.clone()]));
    let none = rm(format!("name LIKE '{prefix}-o%'")).await;
    assert!(none.is_empty(), "LIKE is case-sensitive: {none:?}");
    assert_eq!(rm(format!("name ILIKE '{prefix}-o%'")).await, vec![other.clone()]);
    assert_eq!(
        rm(format!("tags.team = 'platform' and name LIKE '{prefix}%'")).await,
        vec![name.clone()]
    );
    let page = store
        .search_registered_models(&SearchQuery {
            filter: format!("name LIKE '{prefix}-%'"),
            max_results: Some(1),
            ..SearchQuery::default()
        })
        .await
        .expect("a page of registered models");
    assert_eq!(page.items.len(), 1);
    assert!(page.next_page_token.is_some(), "a second page exists");

    // Rename: versions, tags and aliases follow.
    store.set_registered_model_alias(&name, "champion", 2).await.expect("set alias");
    let new_name = format!("{prefix}-renamed");
    let renamed = store.rename_registered_model(&name, &new_name).await.expect("rename model");
    assert_eq!(renamed.name, new_name);
    expect_err!(NotFound, store.get_registered_model(&name).await, "old name after rename");
    expect_err!(NotFound, store.get_model_version(&name, 1).await, "old name's versions");
    let model = store.get_registered_model(&new_name).await.expect("get renamed model");
    assert_eq!(model.tags, vec![Tag::new("team", "platform")], "tags follow the rename");
    assert_eq!(model.aliases, vec![("champion".to_owned(), 2)], "aliases follow the rename");
    assert_eq!(model.latest_versions.len(), 1);
    assert_eq!(model.latest_versions[0].name, new_name);
    for i in 1..=3_i64 {
        let v = store.get_model_version(&new_name, i).await.expect("versions follow the rename");
        assert_eq!(v.name, new_name);
        assert_eq!(tag_value(&v.tags, "built"), Some(format!("b{i}").as_str()));
    }
    let by_alias = store.get_model_version_by_alias(&new_name, "champion").await.expect("alias");
    assert_eq!(by_alias.version, 2);
    assert_eq!(by_alias.aliases, vec!["champion".to_owned()]);
    assert_eq!(version_numbers(mv(format!("name = '{name}'")).await), vec![]);
    assert_eq!(version_numbers(mv(format!("name = '{new_name}'")).await).len(), 3);
    expect_err!(
        AlreadyExists,
        store.rename_registered_model(&new_name, &other).await,
        "rename onto an existing model"
    );
    expect_err!(
        NotFound,
        store.rename_registered_model(&name, &unique("x")).await,
        "rename an unknown model"
    );
    let name = new_name;

    // Stages.
    let v1 = store.transition_model_version_stage(&name, 1, "Production", false).await;
    assert_eq!(v1.expect("to Production").current_stage, "Production");
    let v2 = store.transition_model_version_stage(&name, 2, "production", true).await;
    assert_eq!(v2.expect("to Production, archiving").current_stage, "Production");
    let v1 = store.get_model_version(&name, 1).await.expect("get version 1");
    assert_eq!(v1.current_stage, "Archived", "archive_existing moved version 1");
    let v3 = store.transition_model_version_stage(&name, 3, "Staging", true).await;
    assert_eq!(v3.expect("to Staging").current_stage, "Staging");
    let v2 = store.get_model_version(&name, 2).await.expect("get version 2");
    assert_eq!(v2.current_stage, "Production", "only the same stage is archived");
    expect_err!(
        InvalidParameter,
        store.transition_model_version_stage(&name, 3, "Bogus", false).await,
        "an unknown stage"
    );
    expect_err!(
        NotFound,
        store.transition_model_version_stage(&name, 99, "Staging", false).await,
        "transition an unknown version"
    );

    // Delete a version; its number is not reused.
    store.delete_model_version(&name, 3).await.expect("delete version 3");
    expect_err!(NotFound, store.get_model_version(&name, 3).await, "a deleted version");
    expect_err!(NotFound, store.delete_model_version(&name, 3).await, "delete it again");
    let model = store.get_registered_model(&name).await.expect("get model");
    let latest: Vec<i64> = model.latest_versions.iter().map(|v| v.version).collect();
    assert_eq!(latest, vec![2], "latest_versions skips the deleted version");
    assert_eq!(version_numbers(mv(format!("name = '{name}'")).await).len(), 2);
    let v4 = store
        .create_model_version(CreateModelVersion {
            name: name.clone(),
            source: "s3://bucket/model".into(),
            ..CreateModelVersion::default()
        })
        .await
        .expect("create another version");
    assert_eq!(v4.version, 4, "version numbers are never reused (MLflow keeps deleted ones)");

    // Delete the model: everything goes.
    store.delete_registered_model(&name).await.expect("delete model");
    expect_err!(NotFound, store.get_registered_model(&name).await, "a deleted model");
    expect_err!(NotFound, store.get_model_version(&name, 1).await, "a deleted model's version");
    expect_err!(
        NotFound,
        store.get_model_version_by_alias(&name, "champion").await,
        "a deleted model's alias"
    );
    assert_eq!(version_numbers(mv(format!("name = '{name}'")).await), vec![]);
    assert_eq!(version_numbers(mv(format!("tags.k = '{marker}'")).await), vec![]);
    expect_err!(NotFound, store.delete_registered_model(&name).await, "delete it again");
    store.create_registered_model(&name, &[], None).await.expect("the name is free again");
    let fresh = store.get_registered_model(&name).await.expect("get the new model");
    assert!(fresh.tags.is_empty() && fresh.aliases.is_empty() && fresh.latest_versions.is_empty());
    store.delete_registered_model(&name).await.expect("clean up");
    store.delete_registered_model(&other).await.expect("clean up");
}

/// Aliases: set, resolve, list on the version and the model, re-point,
/// delete (then resolving is `InvalidParameter`, as MLflow), removal with
/// the version, and MLflow's reserved names.
pub async fn aliases(store: &dyn Store) {
    let name = unique("cf-aliases");
    store.create_registered_model(&name, &[], None).await.expect("create model");
    for _ in 0..2 {
        store
            .create_model_version(CreateModelVersion {
                name: name.clone(),
                source: "s3://bucket/model".into(),
                ..CreateModelVersion::default()
            })
            .await
            .expect("create version");
    }
    store.set_registered_model_alias(&name, "champion", 1).await.expect("set champion");
    let v = store.get_model_version_by_alias(&name, "champion").await.expect("resolve champion");
    assert_eq!(v.version, 1);
    assert_eq!(v.aliases, vec!["champion".to_owned()]);
    let v1 = store.get_model_version(&name, 1).await.expect("get version 1");
    assert_eq!(v1.aliases, vec!["champion".to_owned()], "aliases are listed on the version");
    let model = store.get_registered_model(&name).await.expect("get model");
    assert_eq!(model.aliases, vec![("champion".to_owned(), 1)], "and on the model");

    store.set_registered_model_alias(&name, "challenger", 2).await.expect("set challenger");
    store.set_registered_model_alias(&name, "champion", 2).await.expect("re-point champion");
    let v = store.get_model_version_by_alias(&name, "champion").await.expect("resolve champion");
    assert_eq!(v.version, 2, "the alias moved");
    let v1 = store.get_model_version(&name, 1).await.expect("get version 1");
    assert!(v1.aliases.is_empty(), "version 1 lost the alias: {:?}", v1.aliases);
    let v2 = store.get_model_version(&name, 2).await.expect("get version 2");
    assert_eq!(sorted(&v2.aliases), vec!["challenger".to_owned(), "champion".to_owned()]);
    let model = store.get_registered_model(&name).await.expect("get model");
    assert_eq!(
        sorted(&model.aliases),
        vec![("challenger".to_owned(), 2), ("champion".to_owned(), 2)]
    );

    store.delete_registered_model_alias(&name, "challenger").await.expect("delete alias");
    expect_err!(
        InvalidParameter,
        store.get_model_version_by_alias(&name, "challenger").await,
        "a deleted alias (MLflow answers INVALID_PARAMETER_VALUE)"
    );
    expect_err!(
        InvalidParameter,
        store.get_model_version_by_alias(&name, "never-set").await,
        "an alias never set"
    );

    // Deleting a version removes its aliases.
    store.set_registered_model_alias(&name, "old", 1).await.expect("set alias on version 1");
    store.delete_model_version(&name, 2).await.expect("delete version 2");
    expect_err!(
        InvalidParameter,
        store.get_model_version_by_alias(&name, "champion").await,
        "an alias of a deleted version"
    );
    let model = store.get_registered_model(&name).await.expect("get model");
    assert_eq!(model.aliases, vec![("old".to_owned(), 1)], "only version 1's alias is left");

    for reserved in ["latest", "LATEST", "v1", "V12", "", "bad/alias"] {
        expect_err!(
            InvalidParameter,
            store.set_registered_model_alias(&name, reserved, 1).await,
            "alias name {reserved:?}"
        );
    }
    store.set_registered_model_alias(&name, "v1a", 1).await.expect("'v1a' is not reserved");
    expect_err!(
        NotFound,
        store.set_registered_model_alias(&name, "ghost", 99).await,
        "alias to an unknown version"
    );
    expect_err!(
        NotFound,
        store.set_registered_model_alias(&unique("missing"), "a", 1).await,
        "alias on an unknown model"
    );
    expect_err!(
        NotFound,
        store.get_model_version_by_alias(&unique("missing"), "a").await,
        "resolve on an unknown model"
    );
    store.delete_registered_model(&name).await.expect("clean up");
}

/// MLflow 3 logged models: create (pending), get, finalize, tags, search by
/// experiment and name, delete, and `log_outputs` linking one to a run.
pub async fn logged_models(store: &dyn Store) {
    let exp = new_experiment(store, "logged-models").await;
    let run_id = new_run(store, &exp, "trainer").await.info.run_id;
    let created = store
        .create_logged_model(CreateLoggedModel {
            experiment_id: exp.clone(),
            name: Some("model".into()),
            model_type: Some("sklearn".into()),
            source_run_id: Some(run_id.clone()),
            params: vec![param("alpha", "0.5")],
            tags: vec![Tag::new("t", "1")],
        })
        .await
        .expect("create logged model");
    let model_id = created.model_id.clone();
    assert!(model_id.starts_with("m-"), "logged model ids start with m-: {model_id}");
    assert_eq!(created.status, LoggedModelStatus::Pending);
    assert_eq!(created.experiment_id, exp);
    assert_eq!(created.name, "model");
    assert_eq!(created.model_type, "sklearn");
    assert_eq!(created.source_run_id, run_id);
    assert_eq!(created.params, vec![param("alpha", "0.5")]);
    assert_eq!(created.tags, vec![Tag::new("t", "1")]);
    assert!(!created.artifact_location.is_empty());
    assert_eq!(store.get_logged_model(&model_id).await.expect("get logged model"), created);

    let ready = store
        .finalize_logged_model(&model_id, LoggedModelStatus::Ready)
        .await
        .expect("finalize logged model");
    assert_eq!(ready.status, LoggedModelStatus::Ready);
    let fetched = store.get_logged_model(&model_id).await.expect("get logged model");
    assert_eq!(fetched.status, LoggedModelStatus::Ready);

    store
        .set_logged_model_tags(&model_id, &[Tag::new("t", "2"), Tag::new("u", "3")])
        .await
        .expect("set logged model tags");
    let fetched = store.get_logged_model(&model_id).await.expect("get logged model");
    assert_eq!(sorted_tags(&fetched.tags), sorted_tags(&[Tag::new("t", "2"), Tag::new("u", "3")]));
    store.delete_logged_model_tag(&model_id, "u").await.expect("delete logged model tag");
    let fetched = store.get_logged_model(&model_id).await.expect("get logged model");
    assert_eq!(fetched.tags, vec![Tag::new("t", "2")]);

    let second = store
        .create_logged_model(CreateLoggedModel {
            experiment_id: exp.clone(),
            name: Some("other".into()),
            ..CreateLoggedModel::default()
        })
        .await
        .expect("create a second logged model");
    let search = |experiment: String, filter: &'static str| async move {
        let s = SearchLoggedModels { experiment_ids: vec![experiment], query: query(filter) };
        let page = store.search_logged_models(&s).await.expect("search logged models");
        id_set(&page.items.into_iter().map(|m| m.model_id).collect::<Vec<_>>())
    };
    assert_eq!(search(exp.clone(), "").await, id_set(&[model_id.clone(), second.model_id.clone()]));
    assert_eq!(
        search(exp.clone(), "name = 'other'").await,
        id_set(std::slice::from_ref(&second.model_id))
    );
    let elsewhere = new_experiment(store, "logged-models-empty").await;
    assert!(search(elsewhere, "").await.is_empty(), "another experiment holds none");

    expect_err!(NotFound, store.get_logged_model(&format!("m-{}", new_id())).await, "unknown");
    expect_err!(
        NotFound,
        store.finalize_logged_model("m-missing", LoggedModelStatus::Ready).await,
        "finalize unknown"
    );
    expect_err!(
        NotFound,
        store
            .create_logged_model(CreateLoggedModel {
                experiment_id: "987654321".into(),
                ..CreateLoggedModel::default()
            })
            .await,
        "a logged model in an unknown experiment"
    );

    // Run outputs.
    let output = ModelOutput { model_id: model_id.clone(), step: 3 };
    store.log_outputs(&run_id, std::slice::from_ref(&output)).await.expect("log outputs");
    let run = store.get_run(&run_id).await.expect("get run");
    assert_eq!(run.outputs, vec![output.clone()]);
    store.log_outputs(&run_id, std::slice::from_ref(&output)).await.expect("re-log outputs");
    assert_eq!(store.get_run(&run_id).await.expect("get run").outputs, vec![output]);
    expect_err!(
        NotFound,
        store.log_outputs(&run_id, &[ModelOutput { model_id: "m-missing".into(), step: 0 }]).await,
        "an output that is not a logged model"
    );

    store.delete_logged_model(&second.model_id).await.expect("delete logged model");
    expect_err!(NotFound, store.get_logged_model(&second.model_id).await, "a deleted logged model");
    assert_eq!(search(exp.clone(), "").await, id_set(&[model_id]), "deleted ones are not listed");
}

/// MLflow's limits: batch sizes and lengths exactly at the limit pass;
/// search `max_results` ceilings, run-name and experiment-tag lengths, and
/// bad page tokens are refused with `InvalidParameter`.
pub async fn limits(store: &dyn Store) {
    let exp = new_experiment(store, "limits").await;
    let id = new_run(store, &exp, "limits").await.info.run_id;

    // Exactly at the limits.
    let metrics: Vec<Metric> = (0..800).map(|i| metric("edge", 1.0, 1, i)).collect();
    let params: Vec<Param> = (0..100).map(|i| param(&format!("p{i}"), "v")).collect();
    let tags: Vec<Tag> = (0..100).map(|i| Tag::new(format!("t{i}"), "v")).collect();
    store.log_batch(&id, &metrics, &params, &tags).await.expect("1000 entities in one batch");
    let many: Vec<Metric> = (0..1000).map(|i| metric("thousand", 1.0, 1, i)).collect();
    store.log_batch(&id, &many, &[], &[]).await.expect("1000 metrics in one batch");
    let key = "k".repeat(250);
    store
        .log_batch(
            &id,
            &[metric(&key, 1.0, 1, 0)],
            &[param("long_value", &"v".repeat(6000))],
            &[Tag::new("long_value", "v".repeat(5000)), Tag::new(key.clone(), "v")],
        )
        .await
        .expect("values and keys exactly at the limits");
    let run = store.get_run(&id).await.expect("get run");
    assert_eq!(run.params.len(), 101);
    assert_eq!(
        run.params.iter().find(|p| p.key == "long_value").map(|p| p.value.len()),
        Some(6000)
    );
    assert_eq!(tag_value(&run.tags, "long_value").map(str::len), Some(5000));
    let thousand = store.get_metric_history(&id, "thousand", None, None).await.expect("history");
    assert_eq!(thousand.items.len(), 1000);
    assert_eq!(
        store.get_metric_history(&id, "edge", None, None).await.expect("h").items.len(),
        800
    );

    // Run names and experiment tags.
    expect_err!(
        InvalidParameter,
        store
            .create_run(CreateRun {
                experiment_id: exp.clone(),
                run_name: Some("n".repeat(251)),
                ..CreateRun::default()
            })
            .await,
        "a run name of 251 characters"
    );
    expect_err!(
        InvalidParameter,
        store.set_experiment_tag(&exp, &Tag::new("long", "v".repeat(5001))).await,
        "an experiment tag value of 5001 characters"
    );
    store
        .set_experiment_tag(&exp, &Tag::new("long", "v".repeat(5000)))
        .await
        .expect("an experiment tag value of 5000 characters");

    // Search ceilings.
    let with_max = |n: i64| SearchQuery { max_results: Some(n), ..SearchQuery::default() };
    let runs = |n: i64| SearchRuns { experiment_ids: vec![exp.clone()], query: with_max(n) };
    expect_err!(InvalidParameter, store.search_runs(&runs(50_001)).await, "runs: 50001");
    expect_err!(InvalidParameter, store.search_runs(&runs(0)).await, "runs: 0");
    expect_err!(InvalidParameter, store.search_runs(&runs(-1)).await, "runs: -1");
    expect_err!(InvalidParameter, store.search_experiments(&with_max(50_001)).await, "experiments");
    expect_err!(
        InvalidParameter,
        store.search_registered_models(&with_max(1_001)).await,
        "registered models: 1001"
    );
    store.search_registered_models(&with_max(1_000)).await.expect("registered models: 1000");
    expect_err!(
        InvalidParameter,
        store.search_model_versions(&with_max(200_001)).await,
        "model versions: 200001"
    );
    let logged = SearchLoggedModels { experiment_ids: vec![exp.clone()], query: with_max(50_001) };
    expect_err!(InvalidParameter, store.search_logged_models(&logged).await, "logged models");
    expect_err!(
        InvalidParameter,
        store.get_metric_history(&id, "edge", Some(0), None).await,
        "metric history: max_results 0"
    );

    // Page tokens.
    let bad = SearchQuery { page_token: Some("not a token!".into()), ..SearchQuery::default() };
    expect_err!(
        InvalidParameter,
        store
            .search_runs(&SearchRuns { experiment_ids: vec![exp.clone()], query: bad.clone() })
            .await,
        "runs: bad page token"
    );
    expect_err!(InvalidParameter, store.search_experiments(&bad).await, "experiments: bad token");
    expect_err!(
        InvalidParameter,
        store.get_metric_history(&id, "edge", Some(10), Some("not a token!")).await,
        "metric history: bad page token"
    );
}
