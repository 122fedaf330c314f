//! Generation on the tiny model: the KV cache, greedy and seeded sampling,
//! max tokens, stop sequences and streaming.

use lathe_llm::{
    load_path, tiny, ChatMessage, Engine, FinishReason, GenerationParams, LoadedModel,
    SamplingParams,
};

fn tiny_model() -> (tempfile::TempDir, LoadedModel) {
    let dir = tempfile::tempdir().unwrap();
    tiny::write_hf_folder(dir.path(), 3, 1).unwrap();
    let m = load_path(dir.path()).unwrap();
    (dir, m)
}

fn params(max_tokens: usize) -> GenerationParams {
    GenerationParams { max_tokens, ignore_eos: true, ..GenerationParams::default() }
}

#[test]
fn cached_decoding_matches_a_full_forward_pass() {
    let (_d, m) = tiny_model();
    let model = m.engine.model();
    let ids: Vec<u32> = (0..12).map(|i| 2 + i * 17).collect();
    let full = model.forward_all(&ids, &mut model.new_cache()).unwrap();
    let mut cache = model.new_cache();
    model.forward_last(&ids[..5], &mut cache).unwrap();
    for (k, id) in ids.iter().enumerate().skip(5) {
        let step = model.forward_last(&[*id], &mut cache).unwrap();
        let want = full.get(k).unwrap();
        let d: f32 = (step - want).unwrap().abs().unwrap().max(0).unwrap().to_scalar().unwrap();
        assert!(d < 1e-4, "position {k} differs by {d}");
    }
    assert_eq!(cache.len(), ids.len());
}

#[test]
fn greedy_generation_follows_the_argmax_and_respects_max_tokens() {
    let (_d, m) = tiny_model();
    let prompt = m.engine.encode_chat(&[ChatMessage::new("user", "the cat")]).unwrap();
    let g = m.engine.generate(&prompt, &params(10), &mut |_| true).unwrap();
    assert_eq!(g.token_ids.len(), 10);
    assert_eq!(g.finish_reason, FinishReason::Length);
    assert_eq!(g.prompt_tokens, prompt.len());
    // Each token is the argmax of an uncached pass over everything before it.
    let model = m.engine.model();
    let mut seq = prompt.clone();
    for &next in &g.token_ids {
        let logits = model.forward_last(&seq, &mut model.new_cache()).unwrap();
        assert_eq!(lathe_llm::model::argmax(&logits).unwrap(), next);
        seq.push(next);
    }
}

#[test]
fn sampling_is_reproducible_by_seed() {
    let (_d, m) = tiny_model();
    let prompt = m.engine.tokenizer().encode("the the", true).unwrap();
    let sample = |seed| {
        let p = GenerationParams {
            sampling: SamplingParams {
                temperature: 1.5,
                top_p: 0.95,
                top_k: 50,
                seed,
                ..Default::default()
            },
            ..params(24)
        };
        m.engine.generate(&prompt, &p, &mut |_| true).unwrap().token_ids
    };
    assert_eq!(sample(1), sample(1));
    assert_ne!(sample(1), sample(2));
}

#[test]
fn a_stop_sequence_cuts_the_text_and_streaming_adds_up() {
    let (_d, m) = tiny_model();
    let prompt = m.engine.tokenizer().encode("he", true).unwrap();
    let full = m.engine.generate(&prompt, &params(40), &mut |_| true).unwrap();
    let chars: Vec<char> = full.text.chars().collect();
    assert!(chars.len() > 8, "{:?}", full.text);
    // A stop string taken from the middle of the greedy text.
    let cut = chars.len() / 2;
    let before: String = chars[..cut].iter().collect();
    let stop: String = chars[cut..cut + 3].iter().collect();
    let want = &full.text[..full.text.find(&stop).unwrap()];
    assert!(want.len() <= before.len());
    let mut streamed = String::new();
    let p = GenerationParams { stop: vec!["never-there".into(), stop.clone()], ..params(40) };
    let g = m
        .engine
        .generate(&prompt, &p, &mut |piece| {
            streamed.push_str(piece);
            true
        })
        .unwrap();
    assert_eq!(g.finish_reason, FinishReason::Stop);
    assert_eq!(g.text, want);
    assert_eq!(streamed, g.text);
    assert!(!streamed.contains(&stop));
}

#[test]
fn the_callback_can_cancel_and_eos_ends_a_generation() {
    let (_d, m) = tiny_model();
    let prompt = m.engine.tokenizer().encode("the", true).unwrap();
    let mut pieces = 0;
    let g = m
        .engine
        .generate(&prompt, &params(50), &mut |_| {
            pieces += 1;
            pieces < 3
        })
        .unwrap();
    assert_eq!(g.finish_reason, FinishReason::Cancelled);
    assert!(g.token_ids.len() < 50);
    // With EOS honoured, a generation that emits <|im_end|> stops there.
    let eos_free = m.engine.generate(&prompt, &params(200), &mut |_| true).unwrap();
    let honoured = GenerationParams { ignore_eos: false, ..params(200) };
    let g = m.engine.generate(&prompt, &honoured, &mut |_| true).unwrap();
    match eos_free.token_ids.iter().position(|&t| t == 1) {
        Some(at) => {
            assert_eq!(g.finish_reason, FinishReason::Stop);
            assert_eq!(g.token_ids, eos_free.token_ids[..=at]);
        }
        None => assert_eq!(g.token_ids, eos_free.token_ids),
    }
}

#[test]
fn prompts_beyond_the_context_are_refused() {
    let (_d, m) = tiny_model();
    let prompt = vec![5u32; tiny::config().max_position_embeddings];
    let e = m.engine.generate(&prompt, &params(1), &mut |_| true).unwrap_err();
    assert!(e.to_string().contains("context"), "{e}");
    let e = m.engine.generate(&[], &params(1), &mut |_| true).unwrap_err();
    assert!(e.to_string().contains("prompt"), "{e}");
}
