//! Sentence embeddings: the real all-MiniLM-L6-v2 (fetched by
//! `shared/models/fetch.sh`) against sentence-transformers' embeddings of 8
//! sentences, within 1e-4; and the loader's refusals.

use std::path::PathBuf;

use lathe_llm::{Encoder, Error};
use serde_json::Value;

fn model_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("LATHE_TEST_MODELS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/lathe-models")))?
        .join("all-minilm-l6-v2");
    if dir.join("model.safetensors").exists() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {} is absent; run `shared/models/fetch.sh ~/.cache/lathe-models` (or set LATHE_TEST_MODELS_DIR)",
            dir.display()
        );
        None
    }
}

#[test]
fn minilm_matches_sentence_transformers() {
    let Some(dir) = model_dir() else { return };
    let r: Value =
        serde_json::from_str(include_str!("../../test_data/minilm_embeddings.json")).unwrap();
    let enc = Encoder::load(&dir).unwrap();
    assert_eq!(enc.dim(), 384);
    assert_eq!(enc.max_len(), 256);
    let sentences: Vec<String> = serde_json::from_value(r["sentences"].clone()).unwrap();
    let got = enc.embed(&sentences).unwrap();
    for (i, (emb, tokens)) in got.iter().enumerate() {
        let ids: Vec<u32> = serde_json::from_value(r["token_ids"][i].clone()).unwrap();
        assert_eq!(enc.encode(&sentences[i]).unwrap(), ids);
        assert_eq!(*tokens, ids.len());
        let want: Vec<f32> = serde_json::from_value(r["embeddings"][i].clone()).unwrap();
        let worst = emb.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-4, "sentence {i} differs by {worst}");
    }
    let cos: f32 = got[0].0.iter().zip(&got[1].0).map(|(a, b)| a * b).sum();
    assert!((cos - 0.641_133).abs() < 1e-4, "{cos}");
}

#[test]
fn encoder_folders_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let e = Encoder::load(dir.path()).err().unwrap();
    assert!(matches!(e, Error::MissingFile { ref file, .. } if file == "config.json"), "{e}");
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"architectures": ["RobertaModel"], "hidden_size": 8, "num_attention_heads": 2,
            "num_hidden_layers": 1, "intermediate_size": 16, "max_position_embeddings": 16}"#,
    )
    .unwrap();
    let e = Encoder::load(dir.path()).err().unwrap().to_string();
    assert!(e.contains("RobertaModel"), "{e}");
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"architectures": ["BertModel"], "hidden_size": 8, "num_attention_heads": 2,
            "num_hidden_layers": 1, "intermediate_size": 16, "max_position_embeddings": 16}"#,
    )
    .unwrap();
    let e = Encoder::load(dir.path()).err().unwrap().to_string();
    assert!(e.contains("tokenizer.json"), "{e}");
}
