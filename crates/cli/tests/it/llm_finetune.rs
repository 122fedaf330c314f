//! `lathe llm finetune` and `lathe llm merge` through the real binary on the
//! tiny model: a tracking run with per-step metrics, the adapter and sample
//! generations as artifacts, the adapter registered and served from the
//! registry (answering as the merged model does), a merged folder that
//! loads, and bad data refused by line.

use std::path::Path;
use std::process::Output;

use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::harness::{http, lathe};

const DATA: &str = r#"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "the cat sat"}]}
{"messages": [{"role": "user", "content": "who?"}, {"role": "assistant", "content": "the dog ran"}]}
{"prompt": "12+1=", "completion": "13"}
"#;

fn finetune(dir: &Path, data: &Path, extra: &[&str]) -> Output {
    lathe()
        .args(["llm", "finetune", "--base"])
        .arg(dir.join("base"))
        .arg("--data")
        .arg(data)
        .args(["--rank", "4", "--alpha", "8", "--targets", "q_proj,v_proj", "--epochs", "4"])
        .args(["--lr", "1e-2", "--batch-size", "2", "--max-seq-len", "128", "--eval-every", "2"])
        .arg("--out")
        .arg(dir.join("adapter"))
        .arg("--tracking-uri")
        .arg(format!("sqlite:///{}", dir.join("lathe.db").display()))
        .arg("--artifacts-destination")
        .arg(dir.join("artifacts"))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn finetune_logs_a_run_with_the_adapter_and_merge_writes_a_model() {
    let dir = tempfile::tempdir().unwrap();
    lathe_llm::tiny::write_hf_folder(&dir.path().join("base"), 8, 1).unwrap();
    let data = dir.path().join("train.jsonl");
    std::fs::write(&data, DATA).unwrap();
    let eval = data.to_str().unwrap().to_owned();
    let out = finetune(
        dir.path(),
        &data,
        &["--eval", &eval, "--experiment", "tiny-ft", "--register", "tiny-chat", "--samples", "2"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let run_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("run").map(|r| r.trim().to_owned()))
        .expect("the run id is printed");
    assert!(dir.path().join("adapter/adapter_model.safetensors").exists());
    // The adapter files are the run's artifacts.
    let found: Vec<String> = walk(&dir.path().join("artifacts"));
    // 3 examples, batch 2, 4 epochs: 8 steps, evaluated at 0, 2, 4, 6 and 8.
    let samples: Vec<&String> =
        found.iter().filter(|p| p.contains("/artifacts/samples/")).collect();
    assert_eq!(samples.len(), 5, "{samples:?}");
    let last = found.iter().find(|p| p.ends_with("samples/step-000008.json")).unwrap();
    let last: serde_json::Value = serde_json::from_slice(&std::fs::read(last).unwrap()).unwrap();
    assert_eq!(last["samples"].as_array().unwrap().len(), 2, "{last}");
    assert_eq!(last["samples"][0]["reference"].as_str().unwrap().trim(), "the cat sat", "{last}");
    assert!(stdout.contains("tiny-chat version 1"), "{stdout}");
    for f in ["adapter/adapter_config.json", "adapter/adapter_model.safetensors"] {
        assert!(
            found.iter().any(|p| p.ends_with(&format!("{run_id}/artifacts/{f}"))),
            "{f} in {found:?}"
        );
    }
    let show = lathe()
        .args(["runs", "show", &run_id, "--tracking-uri"])
        .arg(format!("sqlite:///{}", dir.path().join("lathe.db").display()))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(show.status.success(), "{text}");
    for key in ["train_loss", "learning_rate", "tokens_per_s", "eval_perplexity", "lora_rank"] {
        assert!(text.contains(key), "{key} missing from:\n{text}");
    }

    let merged = dir.path().join("merged");
    let m = lathe()
        .args(["llm", "merge", "--base"])
        .arg(dir.path().join("base"))
        .arg("--adapter")
        .arg(dir.path().join("adapter"))
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
    let model = lathe_llm::load_path(&merged).unwrap();
    let base = lathe_llm::load_path(&dir.path().join("base")).unwrap();
    let ids = [0u32, 259, 260, 40];
    let a = model.engine.model().forward_all(&ids, &mut model.engine.model().new_cache()).unwrap();
    let b = base.engine.model().forward_all(&ids, &mut base.engine.model().new_cache()).unwrap();
    let d: f32 = (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap();
    assert!(d > 1e-4, "the merged model must differ from its base");

    // The registered adapter, served through the registry on the base its
    // version records, answers as the merged model does.
    let generate = lathe()
        .args(["llm", "generate", "--model"])
        .arg(&merged)
        .args(["--prompt", "hi", "--max-tokens", "6"])
        .output()
        .unwrap();
    assert!(generate.status.success(), "{}", String::from_utf8_lossy(&generate.stderr));
    let expected = String::from_utf8_lossy(&generate.stdout).trim_end_matches('\n').to_owned();
    let server = Serve::start(dir.path(), &["--llm", "models:/tiny-chat/1"]);
    let body = r#"{"model": "tiny-chat", "max_tokens": 6, "temperature": 0,
                   "messages": [{"role": "user", "content": "hi"}]}"#;
    let (status, text) = http(server.addr, "POST", "/v1/chat/completions", body).unwrap();
    assert_eq!(status, 200, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"].as_str().unwrap(), expected, "{v}");
    let (_, metrics) = http(server.addr, "GET", "/metrics", "").unwrap();
    assert!(metrics.contains("lathe_llm_requests_total{model=\"tiny-chat\"} 1\n"), "{metrics}");
    drop(server);

    // Beside its base, under a name of its own, chosen by the request's model.
    let base = dir.path().join("base").display().to_string();
    let server = Serve::start(
        dir.path(),
        &["--llm", &base, "--model-name", "base", "--adapter", "chat=models:/tiny-chat/1"],
    );
    let (_, models) = http(server.addr, "GET", "/v1/models", "").unwrap();
    assert!(models.contains("\"base\"") && models.contains("\"chat\""), "{models}");
    let (status, text) =
        http(server.addr, "POST", "/v1/chat/completions", &body.replace("tiny-chat", "chat"))
            .unwrap();
    assert_eq!(status, 200, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"].as_str().unwrap(), expected, "{v}");
    drop(server);

    // Over another base, the registered adapter is refused, naming both bases.
    let other = dir.path().join("other");
    lathe_llm::tiny::write_hf_folder(&other, 99, 1).unwrap();
    let refused = lathe()
        .args(["serve", "--llm"])
        .arg(&other)
        .args(["--adapter", "models:/tiny-chat/1", "--port", "0", "--tracking-uri"])
        .arg(format!("sqlite:///{}", dir.path().join("lathe.db").display()))
        .arg("--artifacts-destination")
        .arg(dir.path().join("artifacts"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    let base_dir = std::fs::canonicalize(dir.path().join("base")).unwrap();
    assert!(
        stderr.contains("models:/tiny-chat/1 was trained on base")
            && stderr.contains(&base_dir.display().to_string())
            && stderr.contains(&other.display().to_string()),
        "{stderr}"
    );
}

/// A running `lathe serve --llm …` on the test's store, killed on drop.
struct Serve {
    child: std::process::Child,
    addr: std::net::SocketAddr,
    args: Vec<String>,
}

impl Serve {
    fn start(dir: &Path, args: &[&str]) -> Serve {
        Serve::spawn(dir, args.iter().map(|a| (*a).to_owned()).collect())
    }

    fn spawn(dir: &Path, args: Vec<String>) -> Serve {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = lathe()
            .arg("serve")
            .args(&args)
            .args(["--port", &port.to_string(), "--tracking-uri"])
            .arg(format!("sqlite:///{}", dir.join("lathe.db").display()))
            .arg("--artifacts-destination")
            .arg(dir.join("artifacts"))
            .env("LATHE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut serve = Serve { child, addr: format!("127.0.0.1:{port}").parse().unwrap(), args };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !matches!(http(serve.addr, "GET", "/health", ""), Ok((200, _))) {
            if let Ok(Some(status)) = serve.child.try_wait() {
                panic!("lathe serve {:?} exited early: {status}", serve.args);
            }
            assert!(Instant::now() < deadline, "lathe serve did not answer /health within 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        serve
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn malformed_data_is_refused_naming_the_line_or_skipped() {
    let dir = tempfile::tempdir().unwrap();
    lathe_llm::tiny::write_hf_folder(&dir.path().join("base"), 8, 1).unwrap();
    let data = dir.path().join("bad.jsonl");
    std::fs::write(&data, format!("{DATA}{{\"messages\": 3}}\n")).unwrap();
    let out = finetune(dir.path(), &data, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("bad.jsonl:4: 'messages' must be an array"), "{stderr}");
    let out = finetune(dir.path(), &data, &["--skip-bad-lines", "--max-steps", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 lines skipped"));
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}
