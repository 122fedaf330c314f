//! The UI's pages in-process (`oneshot` on the router) over a real SQLite
//! store: each page shows what was logged, values are escaped, long
//! histories are downsampled, and bad URLs get 4xx pages.

// Test code: a failed unwrap is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::{
    body::Body,
    http::{Request, StatusCode},
    Router,
};
use lathe_core::{Dataset, DatasetInput, Metric, Param, Tag};
use lathe_store::{
    ArtifactStore, CreateModelVersion, CreateRun, LocalArtifactStore, Store, UpdateRun,
};
use tower::ServiceExt as _;

mod production;

const XSS: &str = "<script>alert('x')</script>";

/// What the seeded store holds.
struct Seeded {
    _dir: tempfile::TempDir,
    app: Router,
    experiment_id: String,
    pipeline: String,
    baseline: String,
    logistic: String,
}

fn metric(key: &str, value: f64, step: i64) -> Metric {
    Metric { key: key.into(), value, timestamp: 1_700_000_000_000 + step, step }
}

fn param(key: &str, value: &str) -> Param {
    Param { key: key.into(), value: value.into() }
}

/// An experiment like the quickstart's: a pipeline run with two children
/// (one with a 5,000-step loss and a param holding `<script>`), a dataset,
/// and a registered model whose `champion` is the logistic regression.
async fn seed() -> Seeded {
    let dir = tempfile::tempdir().unwrap();
    let store =
        lathe_store_sqlite::open(&dir.path().join("ui.db"), "mlflow-artifacts:/").await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let experiment_id = store
        .create_experiment(
            "breast-cancer-study",
            None,
            &[Tag::new("mlflow.note.content", "Diagnosis models"), Tag::new("team", "<b>ml</b>")],
        )
        .await
        .unwrap();
    let run = |name: &str, tags: Vec<Tag>| CreateRun {
        experiment_id: experiment_id.clone(),
        user_id: "ada".into(),
        start_time: Some(1_700_000_000_000),
        run_name: Some(name.into()),
        tags,
    };
    let pipeline = store.create_run(run("quickstart-pipeline", vec![])).await.unwrap().info.run_id;
    let parent = Tag::new("mlflow.parentRunId", pipeline.clone());
    let baseline =
        store.create_run(run("baseline-majority", vec![parent.clone()])).await.unwrap().info.run_id;
    let logistic =
        store.create_run(run("logistic-regression", vec![parent])).await.unwrap().info.run_id;
    let dataset = DatasetInput {
        dataset: Dataset {
            name: "breast_cancer_wisconsin".into(),
            digest: "3f2a9c1d".into(),
            source_type: "code".into(),
            source: "{}".into(),
            schema: None,
            profile: Some("{\"num_rows\": 569}".into()),
        },
        tags: vec![Tag::new("mlflow.data.context", "training")],
    };
    for id in [&pipeline, &baseline, &logistic] {
        store.log_inputs(id, std::slice::from_ref(&dataset)).await.unwrap();
    }
    store
        .log_batch(
            &baseline,
            &[metric("test_roc_auc", 0.5, 0), metric("test_log_loss", 0.6612, 0)],
            &[param("model", "majority"), param("split_seed", "42")],
            &[],
        )
        .await
        .unwrap();
    store
        .log_batch(
            &logistic,
            &[metric("test_roc_auc", 0.99312, 0), metric("test_log_loss", 0.0876, 0)],
            &[param("model", "logistic"), param("split_seed", "42"), param("note", XSS)],
            &[Tag::new("stage", XSS)],
        )
        .await
        .unwrap();
    // A long loss history: 5,000 steps, written in batches of 1,000.
    for chunk in 0..5 {
        let points: Vec<Metric> = (chunk * 1000..(chunk + 1) * 1000)
            .map(|s| metric("train_loss", 1.0 / (1.0 + s as f64 / 100.0), s))
            .collect();
        store.log_batch(&logistic, &points, &[], &[]).await.unwrap();
    }
    for id in [&pipeline, &baseline, &logistic] {
        let update = UpdateRun {
            status: Some(lathe_core::RunStatus::Finished),
            end_time: Some(1_700_000_004_200),
            run_name: None,
        };
        store.update_run(id, update).await.unwrap();
    }
    store
        .create_registered_model("breast-cancer", &[], Some("Diagnosis classifier"))
        .await
        .unwrap();
    for (id, description) in [
        (&baseline, "Not promoted: test ROC AUC 0.5000 is below the champion"),
        (&logistic, "Champion: test ROC AUC 0.9931"),
    ] {
        store
            .create_model_version(CreateModelVersion {
                name: "breast-cancer".into(),
                source: format!("runs:/{id}/model"),
                run_id: Some(id.to_string()),
                description: Some(description.into()),
                ..CreateModelVersion::default()
            })
            .await
            .unwrap();
    }
    store.set_registered_model_alias("breast-cancer", "champion", 2).await.unwrap();
    let artifacts = LocalArtifactStore::open(dir.path().join("artifacts")).unwrap();
    let uri = store.get_run(&logistic).await.unwrap().info.artifact_uri;
    let root = uri.strip_prefix("mlflow-artifacts:").unwrap().trim_start_matches('/');
    let csv: String = std::iter::once("step,loss,note\n".to_string())
        .chain((0..150).map(|i| format!("{i},{},\"a, b\"\n", 1.0 / f64::from(i + 1))))
        .collect();
    for (path, body) in [
        ("model/MLmodel", b"flavors:\n  python_function: {}\n".to_vec()),
        ("model/model.json", br#"{"coef":[1.5,-2],"name":"lr"}"#.to_vec()),
        ("notes.txt", format!("watch out: {XSS}").into_bytes()),
        ("metrics.csv", csv.into_bytes()),
        ("plot.png", b"\x89PNG\r\n\x1a\nnot really".to_vec()),
        ("plot.svg", format!("<svg xmlns=\"http://www.w3.org/2000/svg\">{XSS}</svg>").into_bytes()),
        ("report.html", format!("<h1>Report</h1>{XSS}").into_bytes()),
        ("model.pkl", vec![0x80, 0x04, 0x95]),
        ("big.log", vec![b'x'; 1_100_000]),
    ] {
        artifacts
            .put(&format!("{root}/{path}"), Box::pin(std::io::Cursor::new(body)))
            .await
            .unwrap();
    }
    let app = lathe_ui::router(store, Arc::new(artifacts));
    Seeded { _dir: dir, app, experiment_id, pipeline, baseline, logistic }
}

async fn get(app: &Router, uri: &str) -> (StatusCode, String) {
    let response =
        app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// Asserts `page` has every needle.
fn has(page: &str, needles: &[&str]) {
    for n in needles {
        assert!(page.contains(n), "missing {n:?} in:\n{page}");
    }
}

/// Every `<script` in a page is the UI's own script tag.
fn no_injected_script(page: &str) {
    assert_eq!(page.matches("<script").count(), 1, "{page}");
    assert!(!page.contains("<b>ml</b>"), "{page}");
}

#[tokio::test]
async fn experiments_list_searches_and_refuses_bad_input() {
    let s = seed().await;
    let (status, page) = get(&s.app, "/").await;
    assert_eq!(status, StatusCode::OK);
    has(&page, &["breast-cancer-study", "Diagnosis models", "&lt;b&gt;ml&lt;/b&gt;", "Default"]);
    no_injected_script(&page);
    let (_, page) = get(&s.app, "/?q=cancer").await;
    has(&page, &["breast-cancer-study"]);
    assert!(!page.contains(">Default<"), "{page}");
    let (status, page) = get(&s.app, "/?view=sideways").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    has(&page, &["Bad request", "Invalid value &#39;sideways&#39; for &#39;view&#39;"]);
    let (status, page) = get(&s.app, "/?filter=name%20%3D%3D%3D").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    has(&page, &["Invalid filter"]);
}

#[tokio::test]
async fn runs_table_filters_sorts_pages_and_chooses_columns() {
    let s = seed().await;
    let base = format!("/experiments/{}", s.experiment_id);
    let (status, page) = get(&s.app, &base).await;
    assert_eq!(status, StatusCode::OK);
    has(
        &page,
        &[
            "quickstart-pipeline",
            "baseline-majority",
            "logistic-regression",
            "0.9931",
            "0.5000",
            "test_roc_auc",
            "split_seed",
            &format!("href=\"/runs/{}\"", s.logistic),
            "FINISHED",
            "Diagnosis models",
        ],
    );
    no_injected_script(&page);

    let filtered = format!("{base}?filter=metrics.test_roc_auc%20%3E%200.9");
    let (_, page) = get(&s.app, &filtered).await;
    has(&page, &["logistic-regression"]);
    assert!(!page.contains(">baseline-majority<"), "{page}");

    let sorted = format!("{base}?order_by=metrics.%60test_roc_auc%60%20ASC");
    let (_, page) = get(&s.app, &sorted).await;
    let (b, l) =
        (page.find(">baseline-majority<").unwrap(), page.find(">logistic-regression<").unwrap());
    assert!(b < l, "ascending roc auc puts the baseline first");
    has(&page, &["aria-sort=\"ascending\""]);

    let (_, page) =
        get(&s.app, &format!("{base}?max_results=1&order_by=attributes.run_name%20ASC")).await;
    has(&page, &["baseline-majority", "rel=\"next\""]);
    let token = page.split("page_token=").nth(1).unwrap().split('"').next().unwrap();
    let token = token.replace("&amp;", "&");
    let (_, next) = get(
        &s.app,
        &format!("{base}?max_results=1&order_by=attributes.run_name%20ASC&page_token={token}"),
    )
    .await;
    has(&next, &["logistic-regression", "rel=\"prev\""]);
    assert!(!next.contains(">baseline-majority<"));

    let (_, page) = get(&s.app, &format!("{base}?cols=1&metrics=test_log_loss")).await;
    has(&page, &["0.0876", "value=\"test_roc_auc\">"]);
    assert!(!page.contains("value=\"test_log_loss\">"), "test_log_loss is checked");
    assert!(!page.contains("0.9931"), "unchosen metric column is hidden");
}

#[tokio::test]
async fn bad_urls_get_readable_4xx_pages() {
    let s = seed().await;
    let base = format!("/experiments/{}", s.experiment_id);
    let (status, page) = get(&s.app, &format!("{base}?filter=metrics.acc%20%3E%3E%201")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    has(&page, &["Invalid filter &#39;metrics.acc &gt;&gt; 1&#39;", "position", "role=\"alert\""]);
    let (status, page) = get(&s.app, &format!("{base}?max_results=1000000000")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    has(&page, &["max_results", "1 to 1000"]);
    let (status, _) = get(&s.app, &format!("{base}?page_token=garbage!")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, page) = get(&s.app, &format!("{base}?order_by=metrics.x%20SIDEWAYS")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    has(&page, &["Invalid order_by clause"]);
    for uri in [
        "/runs/0123456789abcdef0123456789abcdef".to_string(),
        "/experiments/987654".into(),
        "/models/no-such-model".into(),
        "/models/breast-cancer/versions/99".into(),
        "/static/nope.js".into(),
        format!("/compare?runs={},0123456789abcdef0123456789abcdef", s.logistic),
    ] {
        let (status, page) = get(&s.app, &uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {page}");
        has(&page, &["<h1>Not found</h1>", "All experiments"]);
    }
    let (status, page) = get(&s.app, "/runs/%FF%FE").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    has(&page, &["Invalid path"]);
    let (status, _) = get(&s.app, "/models/breast-cancer/versions/two").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get(&s.app, "/compare").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let many: Vec<String> = (0..26).map(|i| format!("{i:032x}")).collect();
    let (status, page) = get(&s.app, &format!("/compare?runs={}", many.join(","))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    has(&page, &["at most 25"]);
}

#[tokio::test]
async fn run_page_shows_lineage_metrics_and_escaped_values() {
    let s = seed().await;
    let (status, page) = get(&s.app, &format!("/runs/{}", s.logistic)).await;
    assert_eq!(status, StatusCode::OK);
    has(
        &page,
        &[
            "<h1>logistic-regression</h1>",
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;",
            "breast_cancer_wisconsin",
            "3f2a9c1d",
            &format!("href=\"/runs/{}\">quickstart-pipeline</a>", s.pipeline),
            "href=\"/models/breast-cancer/versions/2\">breast-cancer v2</a>",
            "@champion",
            "0.9931",
            "train_loss",
            "5000",
            "2000 of 5000 points drawn (LTTB)",
            "breast-cancer-study",
        ],
    );
    no_injected_script(&page);
    // The chart carries at most 2,000 points (4,000 numbers) of the 5,000-step loss.
    let xy = page.split("data-xy=\"[[").nth(1).unwrap().split("]]").next().unwrap();
    assert_eq!(xy.split(',').count(), 2 * lathe_ui::MAX_CHART_POINTS);

    let (_, parent) = get(&s.app, &format!("/runs/{}", s.pipeline)).await;
    has(
        &parent,
        &["Child runs", "baseline-majority", "logistic-regression", "Compare the child runs"],
    );
}

#[tokio::test]
async fn compare_overlays_runs_and_marks_differences() {
    let s = seed().await;
    let uri = format!("/compare?runs={},{}", s.baseline, s.logistic);
    let (status, page) = get(&s.app, &uri).await;
    assert_eq!(status, StatusCode::OK);
    has(
        &page,
        &[
            "baseline-majority",
            "logistic-regression",
            "0.9931",
            "0.5000",
            "class=\"differs\"",
            "majority",
            "Parallel coordinates",
        ],
    );
    no_injected_script(&page);
    let (_, diff) = get(&s.app, &format!("{uri}&diff=1")).await;
    assert!(page.contains(">split_seed<") && !diff.contains(">split_seed<"), "equal rows hidden");
    // Repeated `runs=` (what the table's form sends) works as well as a list.
    let (status, _) =
        get(&s.app, &format!("/compare?runs={}&runs={}", s.baseline, s.logistic)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn registry_pages_trace_versions_to_runs_and_datasets() {
    let s = seed().await;
    let (status, page) = get(&s.app, "/models").await;
    assert_eq!(status, StatusCode::OK);
    has(&page, &["breast-cancer", "@champion → v2", "Diagnosis classifier"]);
    let (status, page) = get(&s.app, "/models/breast-cancer").await;
    assert_eq!(status, StatusCode::OK);
    has(
        &page,
        &[
            "models:/breast-cancer@champion",
            "logistic-regression",
            "baseline-majority",
            "breast_cancer_wisconsin",
            "quickstart-pipeline",
            "Champion: test ROC AUC 0.9931",
            "Not promoted",
        ],
    );
    let (status, page) = get(&s.app, "/models/breast-cancer/versions/2").await;
    assert_eq!(status, StatusCode::OK);
    has(&page, &["breast-cancer v2", "@champion", "logistic-regression", "3f2a9c1d", "0.9931"]);
}

#[tokio::test]
async fn static_files_are_embedded_and_cacheable() {
    let s = seed().await;
    for (path, kind) in [
        ("lathe.css", "text/css"),
        ("lathe.js", "text/javascript"),
        ("favicon.svg", "image/svg+xml"),
    ] {
        let response = s
            .app
            .clone()
            .oneshot(Request::get(format!("/static/{path}")).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let ct = response.headers()["content-type"].to_str().unwrap();
        assert!(ct.starts_with(kind), "{path}: {ct}");
    }
    let response =
        s.app.clone().oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    let csp = response.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
}

async fn get_raw(app: &Router, uri: &str) -> axum::response::Response {
    app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap()
}

#[tokio::test]
async fn artifacts_are_listed_and_previewed_escaped() {
    let s = seed().await;
    let run = format!("/runs/{}", s.logistic);
    let (status, page) = get(&s.app, &run).await;
    assert_eq!(status, StatusCode::OK);
    has(
        &page,
        &[
            "<h2 id=\"artifacts\">Artifacts</h2>",
            &format!("href=\"{run}?path=model#artifacts\" aria-expanded=\"false\""),
            "model/",
            &format!("href=\"{run}/artifacts?path=notes.txt\">notes.txt</a>"),
            "metrics.csv",
        ],
    );
    assert!(!page.contains("MLmodel"), "the model directory is collapsed");
    let (_, page) = get(&s.app, &format!("{run}?path=model")).await;
    has(
        &page,
        &[
            "aria-expanded=\"true\"",
            &format!("href=\"{run}/artifacts?path=model%2FMLmodel\">MLmodel</a>"),
            "model.json",
        ],
    );
    no_injected_script(&page);
    // The pipeline run has no artifacts.
    let (_, page) = get(&s.app, &format!("/runs/{}", s.pipeline)).await;
    has(&page, &["No artifacts."]);

    let (status, page) = get(&s.app, &format!("{run}/artifacts?path=model/MLmodel")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    has(&page, &["python_function", "<h1>MLmodel</h1>", "Download"]);
    let (_, page) = get(&s.app, &format!("{run}/artifacts?path=model/model.json")).await;
    has(&page, &["&quot;coef&quot;: [\n", "&quot;name&quot;: &quot;lr&quot;"]);
    let (_, page) = get(&s.app, &format!("{run}/artifacts?path=notes.txt")).await;
    has(&page, &["watch out: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"]);
    no_injected_script(&page);
    let (_, page) = get(&s.app, &format!("{run}/artifacts?path=metrics.csv")).await;
    has(&page, &["<th scope=\"col\">loss</th>", "<td>a, b</td>", "<td>99</td>", "first 100 rows"]);
    assert!(!page.contains("<td>100</td>"), "only 100 rows");
    let (_, page) = get(&s.app, &format!("{run}/artifacts?path=big.log")).await;
    has(&page, &["truncated"]);
    assert!(page.len() < 1_100_000);
    let (_, page) = get(&s.app, &format!("{run}/artifacts?path=model.pkl")).await;
    has(&page, &["No preview", "artifact-raw?path=model.pkl&amp;download=1"]);
    let (_, page) = get(&s.app, &format!("{run}/artifacts?path=report.html")).await;
    has(&page, &["<iframe class=\"artifact-frame\" sandbox src=\""]);
    no_injected_script(&page);
    let (status, _) = get(&s.app, &format!("{run}/artifacts?path=model")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn raw_artifacts_are_sandboxed_with_their_type() {
    let s = seed().await;
    let run = format!("/runs/{}", s.logistic);
    let (_, page) = get(&s.app, &format!("{run}/artifacts?path=plot.png")).await;
    has(&page, &[&format!("<img class=\"artifact-img\" src=\"{run}/artifact-raw?path=plot.png\"")]);
    for (path, kind) in [
        ("plot.png", "image/png"),
        ("plot.svg", "image/svg+xml"),
        ("report.html", "text/html"),
        ("notes.txt", "text/plain"),
        ("model.pkl", "application/octet-stream"),
    ] {
        let response = get_raw(&s.app, &format!("{run}/artifact-raw?path={path}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let h = response.headers();
        assert!(h["content-type"].to_str().unwrap().starts_with(kind), "{path}");
        assert_eq!(h["content-security-policy"], "sandbox", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        let attach = h["content-disposition"].to_str().unwrap().starts_with("attachment");
        assert_eq!(attach, path == "model.pkl", "{path}");
    }
    let response = get_raw(&s.app, &format!("{run}/artifact-raw?path=plot.png")).await;
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
}

#[tokio::test]
async fn bad_and_missing_artifact_paths_get_4xx_pages() {
    let s = seed().await;
    let run = format!("/runs/{}", s.logistic);
    for bad in ["../x", "model/../../x", "%2e%2e%2fx", "%252e%252e%252fsecret", "/etc/passwd"] {
        for page in ["artifacts", "artifact-raw"] {
            let (status, body) = get(&s.app, &format!("{run}/{page}?path={bad}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{page} {bad}: {body}");
            has(&body, &["Bad request", "Invalid artifact path"]);
        }
        let (status, _) = get(&s.app, &format!("{run}?path={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "run page {bad}");
    }
    for page in ["artifacts", "artifact-raw"] {
        let (status, body) = get(&s.app, &format!("{run}/{page}?path=nope.txt")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{page}: {body}");
        has(&body, &["<h1>Not found</h1>"]);
    }
    let (status, _) = get(&s.app, "/runs/0123456789abcdef0123456789abcdef/artifacts?path=a").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
