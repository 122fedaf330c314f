//! `lathe rollback NAME`: `lathe models alias` records the version an alias
//! pointed at before, and rollback moves the alias back to it once.

use std::{path::Path, process::Output};

use lathe_store::Store;

use super::harness::lathe;

fn run(args: &[&str], uri: &str) -> Output {
    lathe()
        .args(args)
        .args(["--tracking-uri", uri])
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("lathe runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn champion(db: &Path) -> (i64, Vec<(String, String)>) {
    let store = lathe_store_sqlite::open(db, "mlflow-artifacts:/").await.unwrap();
    let model = store.get_registered_model("breast-cancer").await.unwrap();
    let v = model.aliases.iter().find(|(a, _)| a == "champion").unwrap().1;
    let version = store.get_model_version("breast-cancer", v).await.unwrap();
    (v, version.tags.into_iter().map(|t| (t.key, t.value)).collect())
}

#[test]
fn rollback_restores_the_previous_champion_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("qs");
    let out = lathe()
        .args(["quickstart", "--example", "breast-cancer", "--no-serve", "--dir"])
        .arg(&dir)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("lathe runs");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let db = dir.join("lathe.db");
    let uri = format!("sqlite:///{}", db.display());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();

    // The quickstart promoted v2 on a fresh registry: nothing to go back to.
    let (v, tags) = runtime.block_on(champion(&db));
    assert_eq!(v, 2);
    assert!(!tags.iter().any(|(k, _)| k == "lathe.previous.champion"), "{tags:?}");

    let out = run(&["models", "alias", "breast-cancer", "champion", "1"], &uri);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let (v, tags) = runtime.block_on(champion(&db));
    assert_eq!(v, 1);
    assert!(tags.contains(&("lathe.previous.champion".into(), "2".into())), "{tags:?}");

    let out = run(&["rollback", "breast-cancer"], &uri);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("breast-cancer@champion: v1 -> v2 (rolled back)"), "{stdout}");
    let (v, tags) = runtime.block_on(champion(&db));
    assert_eq!(v, 2);
    assert!(tags.contains(&("lathe.rolled_back_from.champion".into(), "1".into())), "{tags:?}");
    assert!(!tags.iter().any(|(k, _)| k == "lathe.previous.champion"), "{tags:?}");
    let out = run(&["models", "show", "breast-cancer"], &uri);
    let (stdout, _) = text(&out);
    assert!(
        stdout.lines().any(|l| l.trim_start().starts_with('2') && l.contains("champion")),
        "{stdout}"
    );

    // No ping-pong: v2 records no previous champion.
    let out = run(&["rollback", "breast-cancer"], &uri);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("v2 records no previous version"), "{stderr}");
    assert_eq!(runtime.block_on(champion(&db)).0, 2);

    let out = run(&["rollback", "no-such-model", "--alias", "champion"], &uri);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot roll back no-such-model@champion"), "{stderr}");
}
