//! `lathe serve --llm` end to end: the real binary serves a tiny random
//! Llama and the stock `openai` Python client (from `LATHE_TEST_PYTHON`)
//! chats with it, plain and streamed; `lathe llm generate` answers a prompt.

use std::{
    net::TcpListener,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use serde_json::json;

use super::harness::{http, lathe};

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn stock_openai_client_chats_with_lathe_serve() {
    let Ok(python) = std::env::var("LATHE_TEST_PYTHON") else {
        eprintln!("skipping: LATHE_TEST_PYTHON is not set (.ci/run sets it to a venv with the openai client)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny-llama");
    lathe_llm::tiny::write_hf_folder(&model, 4, 1).unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // MiniLM, when fetched, is served too and the client checks its embeddings.
    let minilm = std::env::var_os("LATHE_TEST_MODELS_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| std::path::PathBuf::from(h).join(".cache/lathe-models"))
        })
        .map(|d| d.join("all-minilm-l6-v2"))
        .filter(|d| d.join("model.safetensors").exists());
    let mut cmd = lathe();
    cmd.args(["serve", "--llm"]).arg(&model).args([
        "--model-name",
        "tiny",
        "--port",
        &port.to_string(),
    ]);
    match &minilm {
        Some(dir) => {
            cmd.arg("--embeddings").arg(dir).args(["--embeddings-name", "minilm"]);
        }
        None => eprintln!(
            "not checking embeddings: all-minilm-l6-v2 is absent (shared/models/fetch.sh)"
        ),
    }
    let mut child = Child(
        cmd.env("LATHE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(http(addr, "GET", "/health", ""), Ok((200, _))) {
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("lathe serve --llm exited early: {status}");
        }
        assert!(Instant::now() < deadline, "lathe serve --llm did not answer /health within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The readiness probe of deploy/k8s answers too, naming what is loaded.
    let (status, body) = http(addr, "GET", "/ready", "").unwrap();
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (status, &ready["status"], &ready["models"][0]),
        (200, &json!("ready"), &json!("tiny"))
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/client/openai_chat.py");
    let out = std::process::Command::new(python)
        .arg(&script)
        .env("OPENAI_BASE_URL", format!("http://127.0.0.1:{port}/v1"))
        .env("LATHE_MODEL", "tiny")
        .env("LATHE_EMBED_MODEL", if minilm.is_some() { "minilm" } else { "" })
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default().to_owned();
    assert!(
        out.status.success() && last.ends_with(" 0 failed"),
        "openai client against lathe serve --llm: {last}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("openai_chat.py: {last}");
}

#[test]
fn llm_generate_streams_an_answer_and_reports_speed() {
    let dir = tempfile::tempdir().unwrap();
    lathe_llm::tiny::write_gguf(&dir.path().join("tiny.gguf"), 2, lathe_llm::tiny::GgmlDType::F32)
        .unwrap();
    let out = lathe()
        .args(["llm", "generate", "--model"])
        .arg(dir.path().join("tiny.gguf"))
        .args(["--prompt", "the cat", "--max-tokens", "6", "--ignore-eos"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("generated 6 tokens") && stderr.contains("finish: length"), "{stderr}");
    let missing = lathe()
        .args(["llm", "generate", "--model", "/no/such/model", "--prompt", "x"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no such file or folder: /no/such/model")
    );
}
