//! The stock `mlflow` client against `lathe server`: the shared compat
//! workflow (92 checks) and our own extra workflow, on SQLite and PostgreSQL.

use std::{path::Path, process::Command};

use super::harness::{python, shared, PgDatabase, Server};

/// Runs a client script; asserts it ends with "N passed, 0 failed".
fn run_client(server: &Server, script: &Path) {
    let Some(python) = python() else {
        eprintln!("skipping: no Python with mlflow (set LATHE_TEST_PYTHON or run .ci/run once)");
        return;
    };
    let out = Command::new(python)
        .arg(script)
        .env("MLFLOW_TRACKING_URI", server.url())
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default().to_string();
    assert!(
        out.status.success() && last.ends_with(" 0 failed"),
        "{} against lathe: {last}\n{stdout}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{}: {last}", script.file_name().unwrap_or_default().to_string_lossy());
}

fn workflow() -> Option<std::path::PathBuf> {
    let p = shared().join("compat/mlflow_workflow.py");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping the shared workflow: {} is absent", p.display());
        None
    }
}

fn extra() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/client/extra_workflow.py")
}

#[test]
fn stock_mlflow_client_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:///{}", dir.path().join("lathe.db").display());
    let server = Server::start(&db, &dir.path().join("artifacts"));
    if let Some(w) = workflow() {
        run_client(&server, &w);
    }
    run_client(&server, &extra());
}

#[test]
fn stock_mlflow_client_on_postgres() {
    let Some(pg) = PgDatabase::create() else {
        eprintln!("skipping: LATHE_TEST_DATABASE_URL is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&pg.url, &dir.path().join("artifacts"));
    if let Some(w) = workflow() {
        run_client(&server, &w);
    }
    run_client(&server, &extra());
    drop(server);
}
