//! The reference profile end to end: `lathe quickstart --no-serve` stores one
//! with every registered version, and `lathe monitor reference` profiles a CSV.

use lathe_store::Store;

use super::harness::lathe;

#[test]
fn quickstart_stores_the_champions_reference_profile() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("qs");
    let out = lathe()
        .args(["quickstart", "--example", "breast-cancer", "--no-serve", "--dir"])
        .arg(&dir)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("lathe runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let uri = runtime.block_on(async {
        let store =
            lathe_store_sqlite::open(&dir.join("lathe.db"), "mlflow-artifacts:/").await.unwrap();
        let champion = store.get_model_version_by_alias("breast-cancer", "champion").await.unwrap();
        let tag = champion.tags.iter().find(|t| t.key == "lathe.reference_profile");
        tag.expect("the champion is tagged with its reference profile").value.clone()
    });
    let path = uri.strip_prefix("mlflow-artifacts:/").expect("a proxied artifact URI");
    assert!(path.ends_with("/reference/profile.json"), "{uri}");
    let text = std::fs::read_to_string(dir.join("artifacts").join(path)).expect("profile file");
    let profile: serde_json::Value = serde_json::from_str(&text).unwrap();
    let features = profile["features"].as_array().unwrap();
    assert_eq!(features.len(), 30);
    assert_eq!(profile["sample_size"], profile["total_rows"]);
    assert!(features.iter().all(|f| f["type"] == "num" && f["numerical"]["quantiles"].is_array()));
    assert_eq!(profile["predictions"][0]["name"], "prediction");
}

#[test]
fn monitor_reference_profiles_a_csv_to_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d.csv");
    std::fs::write(&data, "x,colour\n1,red\n2,blue\n,red\n4,red\n").unwrap();
    let out =
        lathe().args(["monitor", "reference", "--data"]).arg(&data).output().expect("lathe runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let profile: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(profile["total_rows"], 4);
    assert_eq!(profile["features"][0]["missing"], 1);
    assert_eq!(profile["features"][1]["categorical"]["frequencies"][0][0], "red");
}
