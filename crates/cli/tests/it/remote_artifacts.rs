//! Commands pointed at `http://` keep their artifacts on the server: `lathe
//! train` run from another directory uploads the model through the server's
//! artifact proxy, and `lathe predict` and `lathe serve` load it back the same
//! way, with nothing written under the client's `./mlartifacts`.

use std::{
    net::SocketAddr,
    path::Path,
    process::{Output, Stdio},
};

use super::harness::{free_port, lathe, Killed, Server};
use super::serve::{first_row, request};
use super::train::{find_dir, table};

/// `lathe ARGS… --tracking-uri URL` run in `cwd`, with no `--artifacts-destination`.
fn client(cwd: &Path, url: &str, args: &[&str]) -> Output {
    lathe()
        .args(args)
        .args(["--tracking-uri", url])
        .current_dir(cwd)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("lathe runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits until `lathe serve` is ready; panics if it exits first or after 60 s.
fn wait_ready(addr: SocketAddr, child: &mut Killed) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !matches!(request(addr, "/ready", ""), Ok((200, _, _))) {
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("lathe serve exited early: {status}");
        }
        assert!(std::time::Instant::now() < deadline, "lathe serve was not ready within 60 s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn train_predict_and_serve_through_the_servers_artifact_proxy() {
    let server_dir = tempfile::tempdir().unwrap();
    let client_dir = tempfile::tempdir().unwrap();
    let server_artifacts = server_dir.path().join("artifacts");
    let backend = format!("sqlite:///{}", server_dir.path().join("lathe.db").display());
    let server = Server::start(&backend, &server_artifacts);
    let url = server.url();
    let data = table("breast_cancer_wisconsin.csv");
    let data = data.to_str().unwrap();

    let out = client(
        client_dir.path(),
        &url,
        &["train", "--data", data, "--target", "diagnosis", "--register", "remote-cancer"],
    );
    assert!(out.status.success(), "lathe train failed: {}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let run_id = stdout.lines().next().expect("the run id").to_string();

    let run_dir = find_dir(&server_artifacts, &run_id);
    for file in ["model/MLmodel", "model/model.txt", "model/preprocess.json", "eval/report.json"] {
        assert!(run_dir.join("artifacts").join(file).is_file(), "{file} is on the server");
    }
    let local = client_dir.path().join("mlartifacts");
    assert!(!local.exists(), "the client wrote artifacts under {}", local.display());

    let predictions = client_dir.path().join("pred.csv");
    let model = format!("runs:/{run_id}/model");
    let predict = || {
        let out = predictions.to_str().unwrap();
        client(
            client_dir.path(),
            &url,
            &["predict", "--model", &model, "--data", data, "--out", out],
        )
    };
    let out = predict();
    assert!(out.status.success(), "lathe predict failed: {}", stderr(&out));
    let text = std::fs::read_to_string(&predictions).unwrap();
    assert_eq!(text.lines().next(), Some("prediction,proba_benign,proba_malignant"));
    assert_eq!(text.lines().count(), 570);

    let port = free_port();
    let mut serving = Killed(
        lathe()
            .args(["serve", "models:/remote-cancer/1", "--port", &port.to_string()])
            .args(["--tracking-uri", &url, "--no-prediction-log"])
            .current_dir(client_dir.path())
            .env_remove("MLFLOW_TRACKING_URI")
            .env("LATHE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_ready(addr, &mut serving);
    let (status, _, body) = request(addr, "/invocations", &first_row()).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("predictions"), "{body}");
    assert!(!local.exists(), "serving wrote under {}", local.display());

    // The server really is the only copy: without it the model cannot load.
    std::fs::remove_dir_all(run_dir.join("artifacts/model")).unwrap();
    let out = predict();
    assert!(!out.status.success(), "predict loaded a model the server no longer has");
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}
