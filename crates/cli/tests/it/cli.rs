//! The CLI's own commands against a SQLite file and against a server.

use std::process::Output;

use super::harness::{lathe, Server};

fn run(args: &[&str]) -> Output {
    lathe().args(args).env_remove("MLFLOW_TRACKING_URI").output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn experiments_runs_and_models_on_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("cli.db").display());
    let id = stdout(&run(&["experiments", "create", "churn", "--tracking-uri", &uri]));
    assert_eq!(id.trim(), "1");
    let list = stdout(&run(&["experiments", "list", "--tracking-uri", &uri]));
    assert!(list.contains("churn") && list.contains("Default"), "{list}");
    let list = stdout(&run(&[
        "experiments",
        "list",
        "--tracking-uri",
        &uri,
        "--filter",
        "name = 'churn'",
    ]));
    assert!(!list.contains("Default"), "{list}");
    let runs = stdout(&run(&["runs", "list", "--tracking-uri", &uri, "--experiment-id", "1"]));
    assert!(runs.starts_with("RUN ID"), "{runs}");
}

#[test]
fn errors_are_plain_with_a_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("cli.db").display());
    let out = run(&["runs", "show", "0123456789abcdef0123456789abcdef", "--tracking-uri", &uri]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: ") && err.contains("not found"), "{err}");
    let out = run(&["models", "alias", "nope", "champion", "1", "--tracking-uri", &uri]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["experiments", "list", "--tracking-uri", "mysql://x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected sqlite:///PATH"));
    let out = run(&[
        "runs",
        "list",
        "--experiment-id",
        "0",
        "--tracking-uri",
        &uri,
        "--filter",
        "metrics.x >",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("position"));
    let out = run(&["experiments", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
    for cmd in [
        &["--help"][..],
        &["server", "--help"],
        &["runs", "list", "--help"],
        &["models", "alias", "--help"],
    ] {
        assert!(run(cmd).status.success(), "{cmd:?} --help");
    }
}

#[test]
fn server_binds_loopback_by_default_and_serves_the_cli_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let uri = format!("sqlite:///{}", db.display());
    stdout(&run(&["experiments", "create", "made-by-cli", "--tracking-uri", &uri]));
    let server = Server::start(&uri, &dir.path().join("artifacts"));
    assert!(server.addr.ip().is_loopback());
    let (status, body) = super::harness::http(
        server.addr,
        "GET",
        "/api/2.0/mlflow/experiments/get-by-name?experiment_name=made-by-cli",
        "",
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("mlflow-artifacts:/1"), "{body}");
}
