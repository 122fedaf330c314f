//! The OpenAI-compatible routes in-process (`router` + `oneshot`) on a tiny
//! random Llama written by `lathe_llm::tiny`: response shapes, streaming,
//! usage counts, seeds, stop sequences, and every refusal with OpenAI's
//! error body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::{body::Body, http::Request, Router};
use lathe_serve::openai::{router, LlmLimits, ServedLlm};
use serde_json::{json, Value};
use tower::ServiceExt;

struct App {
    app: Router,
    _dir: tempfile::TempDir,
}

fn app_with(limits: LlmLimits) -> App {
    let dir = tempfile::tempdir().unwrap();
    lathe_llm::tiny::write_hf_folder(dir.path(), 9, 1).unwrap();
    let loaded = lathe_llm::load_path(dir.path()).unwrap();
    let served = ServedLlm { name: "tiny".into(), engine: Arc::new(loaded.engine) };
    App { app: router(vec![served], vec![], limits), _dir: dir }
}

fn app() -> App {
    app_with(LlmLimits { max_tokens: 64, max_n: 3, ..LlmLimits::default() })
}

impl App {
    async fn raw(&self, method: &str, path: &str, body: &str) -> (u16, String, String) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, ctype, String::from_utf8(bytes.to_vec()).unwrap())
    }

    async fn get_models(&self) -> (u16, Value) {
        let (status, _, text) = self.raw("GET", "/v1/models", "").await;
        (status, serde_json::from_str(&text).unwrap())
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (status, _, text) = self.raw("POST", path, &body.to_string()).await;
        (status, serde_json::from_str(&text).unwrap())
    }
}

fn chat(extra: Value) -> Value {
    let mut body = json!({"model": "tiny", "messages": [{"role": "user", "content": "the cat"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn events(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| e.strip_prefix("data: ").unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn chat_completion_has_openais_shape_and_usage() {
    let a = app();
    let (status, v) =
        a.post("/v1/chat/completions", chat(json!({"max_tokens": 7, "temperature": 0}))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "tiny");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let choice = &v["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    assert!(choice["finish_reason"] == "length" || choice["finish_reason"] == "stop");
    let u = &v["usage"];
    let completion = u["completion_tokens"].as_u64().unwrap();
    assert!((1..=7).contains(&completion));
    assert_eq!(
        u["total_tokens"].as_u64().unwrap(),
        u["prompt_tokens"].as_u64().unwrap() + completion
    );
    // The ChatML prompt of the tiny tokenizer: the template's system message and the user turn.
    assert!(u["prompt_tokens"].as_u64().unwrap() > 50);
}

#[tokio::test]
async fn n_seed_and_temperature_behave() {
    let a = app();
    let body = chat(json!({"max_tokens": 12, "temperature": 1.5, "seed": 42, "n": 3}));
    let (s1, v1) = a.post("/v1/chat/completions", body.clone()).await;
    let (s2, v2) = a.post("/v1/chat/completions", body).await;
    assert_eq!((s1, s2), (200, 200));
    let texts = |v: &Value| -> Vec<String> {
        v["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["message"]["content"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(texts(&v1), texts(&v2), "a seed reproduces the choices");
    assert_eq!(texts(&v1).len(), 3);
    let idx: Vec<u64> =
        v1["choices"].as_array().unwrap().iter().map(|c| c["index"].as_u64().unwrap()).collect();
    assert_eq!(idx, vec![0, 1, 2]);
    assert!(texts(&v1)[0] != texts(&v1)[1] || texts(&v1)[1] != texts(&v1)[2], "n samples differ");
}

#[tokio::test]
async fn a_stop_sequence_ends_the_choice() {
    let a = app();
    let (_, v) =
        a.post("/v1/chat/completions", chat(json!({"max_tokens": 30, "temperature": 0}))).await;
    let full = v["choices"][0]["message"]["content"].as_str().unwrap().to_owned();
    let chars: Vec<char> = full.chars().collect();
    assert!(chars.len() > 6, "{full:?}");
    let stop: String = chars[4..6].iter().collect();
    let want = &full[..full.find(&stop).unwrap()];
    let (_, v) = a
        .post(
            "/v1/chat/completions",
            chat(json!({"max_tokens": 30, "temperature": 0, "stop": [stop]})),
        )
        .await;
    assert_eq!(v["choices"][0]["message"]["content"], want);
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn streaming_sends_chunks_usage_and_done() {
    let a = app();
    let body = chat(
        json!({"max_tokens": 9, "temperature": 0, "stream": true, "stream_options": {"include_usage": true}}),
    );
    let (status, ctype, text) = a.raw("POST", "/v1/chat/completions", &body.to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(ctype, "text/event-stream");
    let ev = events(&text);
    assert_eq!(ev.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> =
        ev[..ev.len() - 1].iter().map(|e| serde_json::from_str(e).unwrap()).collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"));
    let streamed: String =
        chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    let finish: Vec<&Value> =
        chunks.iter().map(|c| &c["choices"][0]["finish_reason"]).filter(|f| !f.is_null()).collect();
    assert_eq!(finish.len(), 1);
    let usage = &chunks.last().unwrap()["usage"];
    assert!(chunks.last().unwrap()["choices"].as_array().unwrap().is_empty());
    // The same request without streaming gives the same text and counts.
    let (_, v) =
        a.post("/v1/chat/completions", chat(json!({"max_tokens": 9, "temperature": 0}))).await;
    assert_eq!(v["choices"][0]["message"]["content"].as_str().unwrap(), streamed);
    assert_eq!(&v["usage"], usage);
}

#[tokio::test]
async fn completions_answer_plain_prompts_and_stream() {
    let a = app();
    let (status, v) =
        a.post("/v1/completions", json!({"model": "tiny", "prompt": ["the", "he w"], "max_tokens": 5, "temperature": 0, "n": 2})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "text_completion");
    assert_eq!(v["choices"].as_array().unwrap().len(), 4);
    assert_eq!(v["choices"][0]["text"], v["choices"][1]["text"], "greedy choices agree");
    let (_, _, text) = a
        .raw("POST", "/v1/completions", &json!({"model": "tiny", "prompt": "the", "max_tokens": 5, "temperature": 0, "stream": true}).to_string())
        .await;
    let ev = events(&text);
    assert_eq!(ev.last().unwrap(), "[DONE]");
    let streamed: String = ev[..ev.len() - 1]
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(e).unwrap()["choices"][0]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(streamed, v["choices"][0]["text"].as_str().unwrap());
}

#[tokio::test]
async fn models_are_listed() {
    let a = app();
    let (status, _, text) = a.raw("GET", "/v1/models", "").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"][0]["id"], "tiny");
    assert_eq!(v["data"][0]["object"], "model");
    let (status, _, _) = a.raw("GET", "/v1/models/tiny", "").await;
    assert_eq!(status, 200);
    let (status, _, text) = a.raw("GET", "/v1/models/other", "").await;
    assert_eq!(status, 404);
    assert!(text.contains("model_not_found"));
}

fn assert_openai_error(status: u16, v: &Value, want_status: u16, param: Option<&str>) {
    assert_eq!(status, want_status, "{v}");
    let e = &v["error"];
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(e["type"].is_string(), "{v}");
    assert!(e.get("code").is_some() && e.get("param").is_some(), "{v}");
    if let Some(p) = param {
        assert_eq!(e["param"], p, "{v}");
    }
}

#[tokio::test]
async fn bad_requests_get_openais_errors() {
    let a = app();
    let cases: Vec<(Value, u16, Option<&str>)> = vec![
        (chat(json!({"model": "gpt-4"})), 404, Some("model")),
        (json!({"messages": [{"role": "user", "content": "x"}]}), 400, Some("model")),
        (chat(json!({"temperature": 2.5})), 400, Some("temperature")),
        (chat(json!({"temperature": "hot"})), 400, Some("temperature")),
        (chat(json!({"top_p": 0})), 400, Some("top_p")),
        (chat(json!({"top_p": 1.5})), 400, Some("top_p")),
        (chat(json!({"n": 0})), 400, Some("n")),
        (chat(json!({"n": 4})), 400, Some("n")),
        (chat(json!({"max_tokens": 0})), 400, Some("max_tokens")),
        (chat(json!({"max_tokens": 65})), 400, Some("max_tokens")),
        (chat(json!({"max_completion_tokens": 100000})), 400, Some("max_completion_tokens")),
        (chat(json!({"stop": 5})), 400, Some("stop")),
        (chat(json!({"stop": ["a", "b", "c", "d", "e"]})), 400, Some("stop")),
        (chat(json!({"seed": "x"})), 400, Some("seed")),
        (chat(json!({"stream": "yes"})), 400, Some("stream")),
        (chat(json!({"presence_penalty": 3})), 400, Some("presence_penalty")),
        (chat(json!({"messages": []})), 400, Some("messages")),
        (chat(json!({"messages": "hi"})), 400, Some("messages")),
        (
            chat(json!({"messages": [{"role": "wizard", "content": "x"}]})),
            400,
            Some("messages[0].role"),
        ),
        (
            chat(json!({"messages": [{"role": "user", "content": 3}]})),
            400,
            Some("messages[0].content"),
        ),
        (
            chat(json!({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})),
            400,
            Some("messages[0].content"),
        ),
    ];
    for (body, status, param) in cases {
        let (s, v) = a.post("/v1/chat/completions", body.clone()).await;
        assert_openai_error(s, &v, status, param);
    }
    let (s, v) = a.post("/v1/completions", json!({"model": "tiny"})).await;
    assert_openai_error(s, &v, 400, Some("prompt"));
    let (s, v) = a.post("/v1/completions", json!({"model": "tiny", "prompt": 7})).await;
    assert_openai_error(s, &v, 400, Some("prompt"));
    // Not JSON, and not an object.
    for raw in ["{not json", "[1, 2]"] {
        let (s, _, text) = a.raw("POST", "/v1/chat/completions", raw).await;
        assert_openai_error(s, &serde_json::from_str(&text).unwrap(), 400, None);
    }
}

#[tokio::test]
async fn prompts_too_long_are_refused() {
    let a = app_with(LlmLimits { max_prompt_tokens: 20, ..LlmLimits::default() });
    let (s, v) = a.post("/v1/chat/completions", chat(json!({}))).await;
    assert_openai_error(s, &v, 400, Some("messages"));
    assert_eq!(v["error"]["code"], "context_length_exceeded");
    // Prompt plus max_tokens beyond the tiny model's 256-token context.
    let a = app();
    let long = "x ".repeat(220);
    let (s, v) =
        a.post("/v1/completions", json!({"model": "tiny", "prompt": long, "max_tokens": 60})).await;
    assert_openai_error(s, &v, 400, Some("prompt"));
    assert_eq!(v["error"]["code"], "context_length_exceeded");
}

fn minilm() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("LATHE_TEST_MODELS_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| std::path::PathBuf::from(h).join(".cache/lathe-models"))
        })?
        .join("all-minilm-l6-v2");
    if dir.join("model.safetensors").exists() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {} is absent; run `shared/models/fetch.sh ~/.cache/lathe-models`",
            dir.display()
        );
        None
    }
}

#[tokio::test]
async fn embeddings_as_floats_and_base64() {
    let Some(dir) = minilm() else { return };
    let tiny_dir = tempfile::tempdir().unwrap();
    lathe_llm::tiny::write_hf_folder(tiny_dir.path(), 9, 1).unwrap();
    let engine = Arc::new(lathe_llm::load_path(tiny_dir.path()).unwrap().engine);
    let encoder = Arc::new(lathe_llm::Encoder::load(&dir).unwrap());
    let app = App {
        app: router(
            vec![ServedLlm { name: "tiny".into(), engine }],
            vec![lathe_serve::openai::ServedEmbedder {
                name: "minilm".into(),
                encoder: encoder.clone(),
            }],
            LlmLimits::default(),
        ),
        _dir: tiny_dir,
    };
    let inputs = ["The cat sits on the mat.", "A kitten is resting on a rug."];
    let (s, v) = app.post("/v1/embeddings", json!({"model": "minilm", "input": inputs})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["object"], "list");
    let want = encoder.embed(&inputs.map(String::from)).unwrap();
    let tokens: usize = want.iter().map(|(_, n)| n).sum();
    assert_eq!(v["usage"]["prompt_tokens"].as_u64().unwrap() as usize, tokens);
    for (i, (w, _)) in want.iter().enumerate() {
        let got: Vec<f32> = serde_json::from_value(v["data"][i]["embedding"].clone()).unwrap();
        assert_eq!(&got, w);
        assert_eq!(v["data"][i]["index"], i);
    }
    let (_, b) = app
        .post(
            "/v1/embeddings",
            json!({"model": "minilm", "input": inputs[0], "encoding_format": "base64"}),
        )
        .await;
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let floats: Vec<f32> =
        bytes.chunks(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    assert_eq!(floats, want[0].0);
    let (s, v) = app.get_models().await;
    assert_eq!(s, 200);
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    for (body, param) in [
        (json!({"model": "minilm", "input": ""}), "input"),
        (json!({"model": "minilm", "input": [1, 2]}), "input"),
        (json!({"model": "minilm", "input": "x", "encoding_format": "hex"}), "encoding_format"),
        (json!({"model": "minilm", "input": "x", "dimensions": 3}), "dimensions"),
        (json!({"model": "tiny", "input": "x"}), "model"),
    ] {
        let (s, v) = app.post("/v1/embeddings", body).await;
        assert_openai_error(s, &v, 400, Some(param));
    }
    let (s, v) = app.post("/v1/chat/completions", chat(json!({"model": "minilm"}))).await;
    assert_openai_error(s, &v, 400, Some("model"));
}

#[tokio::test]
async fn embeddings_refuse_unknown_models_and_missing_input() {
    let a = app();
    let (s, v) =
        a.post("/v1/embeddings", json!({"model": "text-embedding-3-small", "input": "x"})).await;
    assert_openai_error(s, &v, 404, Some("model"));
    let (s, v) = a.post("/v1/embeddings", json!({"model": "tiny"})).await;
    assert_openai_error(s, &v, 400, Some("input"));
    let (s, v) = a.post("/v1/embeddings", json!({"model": "tiny", "input": "x"})).await;
    assert_openai_error(s, &v, 400, Some("model"));
}

/// The value of the sample `line_start` (metric name and labels) in Prometheus text.
fn sample(text: &str, line_start: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{line_start} missing from\n{text}"))
}

#[tokio::test]
async fn metrics_count_tokens_and_time_per_model_and_pass_promtool() {
    let app = app();
    let (s, _, text) = app.raw("GET", "/metrics", "").await;
    assert_eq!(s, 200);
    assert_eq!(sample(&text, "lathe_llm_requests_total{model=\"tiny\"}"), 0.0);
    let (s, plain) = app.post("/v1/chat/completions", chat(json!({"max_tokens": 5}))).await;
    assert_eq!(s, 200, "{plain}");
    let (s, _, streamed) = app
        .raw(
            "POST",
            "/v1/chat/completions",
            &chat(json!({"max_tokens": 4, "stream": true, "n": 2})).to_string(),
        )
        .await;
    assert_eq!(s, 200, "{streamed}");
    let (s, ctype, text) = app.raw("GET", "/metrics", "").await;
    assert_eq!(s, 200);
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    let m = |name: &str| sample(&text, &format!("{name}{{model=\"tiny\"}}"));
    assert_eq!(m("lathe_llm_requests_total"), 2.0);
    assert_eq!(m("lathe_llm_request_errors_total"), 0.0);
    let generated = plain["usage"]["completion_tokens"].as_u64().unwrap() as f64;
    // The streamed request's two choices generated at most 4 tokens each.
    let total = m("lathe_llm_generated_tokens_total");
    assert!(total > generated && total <= generated + 8.0, "{total} vs {generated}\n{text}");
    let prompt = plain["usage"]["prompt_tokens"].as_u64().unwrap() as f64;
    // The streamed request has the same prompt, counted once per request.
    assert_eq!(m("lathe_llm_prompt_tokens_total"), 2.0 * prompt);
    assert_eq!(m("lathe_llm_time_to_first_token_seconds_count"), 2.0);
    assert_eq!(m("lathe_llm_request_duration_seconds_count"), 2.0);
    assert_eq!(sample(&text, "lathe_llm_queue_depth"), 0.0);
    assert_eq!(sample(&text, "lathe_llm_running_generations"), 0.0);

    let promtool = std::env::var("LATHE_TEST_PROMTOOL").unwrap_or_else(|_| "promtool".into());
    if std::process::Command::new(&promtool).arg("--version").output().is_err() {
        eprintln!("not linting with promtool: none found (apt-get install prometheus)");
        return;
    }
    use std::io::Write;
    let mut child = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool: {said}\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_batched_together_get_their_own_answers() {
    let plain = app();
    let dir = tempfile::tempdir().unwrap();
    lathe_llm::tiny::write_hf_folder(dir.path(), 9, 1).unwrap();
    let engine =
        lathe_llm::BatchingEngine::new(lathe_llm::load_path(dir.path()).unwrap().engine, 4)
            .unwrap();
    let engine = Arc::new(engine);
    let served = ServedLlm { name: "tiny".into(), engine: engine.clone() };
    let limits = LlmLimits { max_tokens: 64, max_n: 3, max_concurrency: 4, ..LlmLimits::default() };
    let batched = App { app: router(vec![served], vec![], limits), _dir: dir };
    let bodies: Vec<Value> = ["the cat", "a dog ran", "why", "12+1="]
        .iter()
        .enumerate()
        .map(|(i, text)| {
            json!({"model": "tiny", "max_tokens": 6 + i, "temperature": 0.8, "seed": i,
                   "messages": [{"role": "user", "content": text}]})
        })
        .collect();
    let answers = futures_util::future::join_all(
        bodies.iter().map(|b| batched.post("/v1/chat/completions", b.clone())),
    )
    .await;
    for (body, (status, got)) in bodies.iter().zip(answers) {
        assert_eq!(status, 200, "{got}");
        let (_, want) = plain.post("/v1/chat/completions", body.clone()).await;
        assert_eq!(got["choices"], want["choices"], "{body}");
        assert_eq!(got["usage"], want["usage"], "{body}");
    }
    assert!(engine.stats().tokens() > 0);
}
