//! The store conformance story against the PostgreSQL backend.
//!
//! Needs a server: set `LATHE_TEST_DATABASE_URL` to a database the tests may
//! connect to as a user allowed to create databases, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`. Each test creates a fresh
//! database with a unique name, runs against it, and drops it. Without the
//! variable the tests say so and pass without checking anything.

// Test code: a failed unwrap is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lathe_core::{new_id, Tag};
use lathe_store::{conformance, conformance_monitoring, Store};
use lathe_store_sql::SqlStore;
use sqlx::postgres::{PgPool, PgPoolOptions};

const ARTIFACT_ROOT: &str = "mlflow-artifacts:/";

/// The admin URL, or `None` (after saying why) when the tests cannot run.
fn admin_url(test: &str) -> Option<String> {
    match std::env::var("LATHE_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            eprintln!("{test}: skipping: LATHE_TEST_DATABASE_URL is not set");
            None
        }
    }
}

/// `url` with its database name replaced by `database` (query string kept).
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A database created for one test and dropped by [`TestDatabase::drop_now`].
struct TestDatabase {
    admin: PgPool,
    name: String,
    url: String,
}

impl TestDatabase {
    async fn create(admin_url: &str) -> Self {
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(admin_url)
            .await
            .expect("connect to LATHE_TEST_DATABASE_URL");
        let name = format!("lathe_test_{}", new_id());
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&admin)
            .await
            .expect("create a test database");
        let url = with_database(admin_url, &name);
        TestDatabase { admin, name, url }
    }

    async fn drop_now(self) {
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name))
            .execute(&self.admin)
            .await
            .expect("drop the test database");
        self.admin.close().await;
    }
}

/// Runs `test` against a fresh database, drops the database whatever
/// happens, then fails if the test did.
async fn with_fresh_database<F, Fut>(admin_url: &str, test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let db = TestDatabase::create(admin_url).await;
    let outcome = tokio::spawn(test(db.url.clone())).await;
    db.drop_now().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn open(url: &str) -> SqlStore {
    lathe_store_postgres::open(url, ARTIFACT_ROOT).await.expect("open the PostgreSQL store")
}

#[test]
fn database_urls() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
        "postgres://postgres@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "t2"),
        "postgres://u:p@h/t2?sslmode=disable"
    );
    assert_eq!(with_database("postgresql://h:5432", "t3"), "postgresql://h:5432/t3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_story() {
    let Some(admin) = admin_url("conformance_story") else { return };
    with_fresh_database(&admin, |url| async move {
        let store = open(&url).await;
        conformance::run_all(&store).await;
        // Unique names throughout: the story runs again on the same data.
        conformance::run_all(&store).await;
        store.pool().close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitoring_conformance_story() {
    let Some(admin) = admin_url("monitoring_conformance_story") else { return };
    with_fresh_database(&admin, |url| async move {
        let store = open(&url).await;
        conformance_monitoring::run_all(&store).await;
        conformance_monitoring::run_all(&store).await;
        store.pool().close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_twice_migrates_once_and_keeps_data() {
    let Some(admin) = admin_url("opening_twice_migrates_once_and_keeps_data") else { return };
    with_fresh_database(&admin, |url| async move {
        let first = open(&url).await;
        // A second store opened while the first is live (two servers starting at once).
        let second = open(&url).await;
        let experiment_id = first
            .create_experiment("survives-reopen", None, &[Tag::new("k", "v")])
            .await
            .expect("create experiment");
        let exp = second.get_experiment(&experiment_id).await.expect("seen by the second store");
        assert_eq!(exp.artifact_location, format!("mlflow-artifacts:/{experiment_id}"));
        first.pool().close().await;
        second.pool().close().await;

        let reopened = open(&url).await;
        let exp = reopened.get_experiment(&experiment_id).await.expect("experiment survives");
        assert_eq!(exp.name, "survives-reopen");
        assert_eq!(exp.tags, vec![Tag::new("k", "v")]);
        assert_eq!(reopened.get_experiment("0").await.expect("default experiment").name, "Default");
        let (migrations,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM lathe_migrations")
            .fetch_one(reopened.pool())
            .await
            .expect("count migrations");
        assert_eq!(
            migrations as usize,
            lathe_store_postgres::MIGRATIONS.len(),
            "applied once each"
        );
        reopened.pool().close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_log_batch_keeps_every_point() {
    const TASKS: i64 = 8;
    const BATCHES: i64 = 10;
    const POINTS: i64 = 10;
    let Some(admin) = admin_url("concurrent_log_batch_keeps_every_point") else { return };
    with_fresh_database(&admin, |url| async move {
        let store = std::sync::Arc::new(open(&url).await);
        let experiment_id =
            store.create_experiment("concurrent", None, &[]).await.expect("create experiment");
        let run = store
            .create_run(lathe_store::CreateRun { experiment_id, ..Default::default() })
            .await
            .expect("create run")
            .info
            .run_id;
        let mut handles = Vec::new();
        for task in 0..TASKS {
            let store = std::sync::Arc::clone(&store);
            let run = run.clone();
            handles.push(tokio::spawn(async move {
                for batch in 0..BATCHES {
                    let points: Vec<lathe_core::Metric> = (0..POINTS)
                        .map(|i| lathe_core::Metric {
                            key: "shared".into(),
                            value: i as f64,
                            timestamp: batch,
                            step: task * 10_000 + batch * POINTS + i,
                        })
                        .collect();
                    let tag = Tag::new(format!("task{task}"), format!("{batch}"));
                    store
                        .log_batch(&run, &points, &[], &[tag])
                        .await
                        .expect("concurrent log_batch");
                }
            }));
        }
        for handle in handles {
            handle.await.expect("task finished without panicking");
        }
        let history =
            store.get_metric_history(&run, "shared", None, None).await.expect("metric history");
        assert_eq!(history.items.len() as i64, TASKS * BATCHES * POINTS, "every point is kept");
        let fetched = store.get_run(&run).await.expect("get run");
        let latest = fetched.metrics.iter().find(|m| m.key == "shared").expect("latest value");
        assert_eq!(latest.step, (TASKS - 1) * 10_000 + BATCHES * POINTS - 1, "highest step wins");
        for task in 0..TASKS {
            let value = fetched.tags.iter().find(|t| t.key == format!("task{task}"));
            assert_eq!(value.map(|t| t.value.as_str()), Some("9"), "last tag of task {task}");
        }
        store.pool().close().await;
    })
    .await;
}
