//! The real SmolLM2-135M-Instruct GGUF (fetched by `shared/models/fetch.sh`)
//! against transformers' reference: the chat prompt's token ids, the
//! tokenizer on tricky texts, the top-5 logits of the f32 forward pass, and
//! the capital of France. Skips, saying how to fetch, when it is absent.

use std::path::PathBuf;

use lathe_llm::{load_path, ChatMessage, Engine, GenerationParams};
use serde_json::Value;

fn model_path() -> Option<PathBuf> {
    let dir = std::env::var_os("LATHE_TEST_MODELS_DIR").map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/lathe-models"))
    })?;
    let path = dir.join("smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} is absent; run `shared/models/fetch.sh ~/.cache/lathe-models` \
             (or set LATHE_TEST_MODELS_DIR)",
            path.display()
        );
        None
    }
}

fn reference() -> Value {
    let text = include_str!("../../test_data/smollm2_reference.json");
    serde_json::from_str(text).unwrap()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

#[test]
fn smollm2_matches_transformers() {
    let Some(path) = model_path() else { return };
    let r = reference();
    let m = load_path(&path).unwrap();
    let messages: Vec<ChatMessage> = serde_json::from_value(r["messages"].clone()).unwrap();
    let text = m.engine.chat_template().unwrap().render(&messages, true).unwrap();
    assert_eq!(text, r["prompt_text"].as_str().unwrap());
    let prompt = m.engine.encode_chat(&messages).unwrap();
    assert_eq!(prompt, ids(&r["prompt_ids"]));
    for check in r["tokenizer_checks"].as_array().unwrap() {
        let got = m.engine.tokenizer().encode(check["text"].as_str().unwrap(), true).unwrap();
        assert_eq!(got, ids(&check["ids"]), "{}", check["text"]);
    }
    let model = m.engine.model();
    let logits: Vec<f32> =
        model.forward_last(&prompt, &mut model.new_cache()).unwrap().to_vec1().unwrap();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    let top5: Vec<u32> = order[..5].iter().map(|&i| i as u32).collect();
    assert_eq!(top5, ids(&r["top5_ids"]));
    for (i, want) in r["top5_logits"].as_array().unwrap().iter().enumerate() {
        let got = logits[top5[i] as usize];
        let want = want.as_f64().unwrap() as f32;
        assert!((got - want).abs() < 2e-3, "logit {i}: {got} vs {want}");
    }
    // Decoding reads the Q4_1 blocks with f32 activations: the same greedy
    // tokens as transformers on the dequantized weights.
    let want = ids(&r["greedy_ids"]);
    let params =
        GenerationParams { max_tokens: want.len(), ignore_eos: true, ..Default::default() };
    let g = m.engine.generate(&prompt, &params, &mut |_| true).unwrap();
    assert_eq!(g.token_ids, want, "{:?}", g.text);
    // So it knows the capital of France (8-bit activations, as in llama.cpp
    // and candle's quantized matmul, make it answer "L'Étoile").
    let q = m
        .engine
        .encode_chat(&[ChatMessage::new("user", "What is the capital of France?")])
        .unwrap();
    let g = m.engine.generate(
        &q,
        &GenerationParams { max_tokens: 12, ..Default::default() },
        &mut |_| true,
    );
    let g = g.unwrap();
    assert!(g.text.contains("Paris"), "{:?}", g.text);
}
