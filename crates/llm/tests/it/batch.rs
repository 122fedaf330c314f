//! Batched decoding on the tiny model: one batched step gives each sequence
//! the logits it gets alone, and batched generations (in lockstep, and from
//! concurrent threads through `BatchingEngine`) are the ones generated one
//! at a time: same tokens, text, finish reasons and streamed pieces.

use std::sync::{Arc, Barrier};

use lathe_llm::{
    load_path, tiny, BatchStats, BatchingEngine, Engine, FinishReason, Generation,
    GenerationParams, SamplingParams,
};

fn tiny_engine(dir: &std::path::Path) -> lathe_llm::CandleEngine {
    tiny::write_hf_folder(dir, 5, 1).unwrap();
    load_path(dir).unwrap().engine
}

#[test]
fn a_batched_step_gives_each_sequence_its_own_logits() {
    let dir = tempfile::tempdir().unwrap();
    let engine = tiny_engine(dir.path());
    let model = engine.model();
    // Three sequences at different positions, decoded together for a few steps.
    let prompts: [Vec<u32>; 3] = [vec![3, 40, 41], vec![7; 9], vec![100, 5, 6, 7, 8, 90]];
    let mut alone: Vec<_> = prompts.iter().map(|_| model.new_cache()).collect();
    let mut together: Vec<_> = prompts.iter().map(|_| model.new_cache()).collect();
    for (i, p) in prompts.iter().enumerate() {
        model.forward_last(p, &mut alone[i]).unwrap();
        model.forward_last(p, &mut together[i]).unwrap();
    }
    for step in 0..4u32 {
        let ids: Vec<u32> = (0..3).map(|i| 11 + 13 * i + step).collect();
        let mut caches: Vec<&mut lathe_llm::KvCache> = together.iter_mut().collect();
        let batched = model.forward_decode_batch(&ids, &mut caches).unwrap();
        for (i, id) in ids.iter().enumerate() {
            let want = model.forward_last(&[*id], &mut alone[i]).unwrap();
            let got = batched.get(i).unwrap();
            let d: f32 = (got - want).unwrap().abs().unwrap().max(0).unwrap().to_scalar().unwrap();
            assert!(d < 1e-4, "sequence {i} at step {step} differs by {d}");
        }
    }
    for (a, t) in alone.iter().zip(&together) {
        assert_eq!(a.len(), t.len());
    }
}

/// Greedy, seeded sampling, a short budget, and a stop sequence that cuts
/// the greedy answer to the first prompt (taken from its middle), on different prompts.
fn requests(engine: &dyn Engine) -> Vec<(Vec<u32>, GenerationParams)> {
    let tok = engine.tokenizer();
    let base = GenerationParams { max_tokens: 12, ignore_eos: true, ..GenerationParams::default() };
    let sampled = SamplingParams { temperature: 0.9, top_p: 0.9, seed: 7, ..Default::default() };
    let cat = tok.encode("the cat", false).unwrap();
    let probe = engine.generate(&cat, &base, &mut |_| true).unwrap();
    let middle: String = probe.text.chars().skip(probe.text.chars().count() / 2).take(1).collect();
    assert!(!middle.is_empty(), "the probe generated no text: {probe:?}");
    vec![
        (cat.clone(), base.clone()),
        (
            tok.encode("a dog ran and", false).unwrap(),
            GenerationParams { sampling: sampled, ..base.clone() },
        ),
        (
            tok.encode("why", false).unwrap(),
            GenerationParams { max_tokens: 3, ignore_eos: false, ..base.clone() },
        ),
        (cat, GenerationParams { stop: vec![middle], ..base }),
    ]
}

fn same(a: &Generation, b: &Generation, what: &str) {
    assert_eq!(a.token_ids, b.token_ids, "{what}");
    assert_eq!(a.text, b.text, "{what}");
    assert_eq!(a.finish_reason, b.finish_reason, "{what}");
    assert_eq!(a.prompt_tokens, b.prompt_tokens, "{what}");
}

#[test]
fn lockstep_batches_generate_what_each_request_generates_alone() {
    let dir = tempfile::tempdir().unwrap();
    let engine = tiny_engine(dir.path());
    let reqs = requests(&engine);
    let stats = BatchStats::default();
    let batched = engine.generate_many(&reqs, &stats);
    let mut decoded = 0;
    for (i, ((prompt, params), got)) in reqs.iter().zip(&batched).enumerate() {
        let want = engine.generate(prompt, params, &mut |_| true).unwrap();
        same(got.as_ref().unwrap(), &want, &format!("request {i}"));
        decoded += want.token_ids.len() - 1;
    }
    // Every token after each prompt's first came from a batched step, all four at first.
    assert_eq!(stats.tokens(), decoded as u64);
    assert_eq!(stats.largest(), 4);
    assert!(batched.iter().any(|g| g.as_ref().unwrap().finish_reason == FinishReason::Stop));
}

#[test]
fn concurrent_callers_of_a_batching_engine_get_their_own_generations() {
    let dir = tempfile::tempdir().unwrap();
    let alone = tiny_engine(dir.path());
    let reqs = requests(&alone);
    let wants: Vec<Generation> =
        reqs.iter().map(|(p, params)| alone.generate(p, params, &mut |_| true).unwrap()).collect();
    let engine = Arc::new(BatchingEngine::new(load_path(dir.path()).unwrap().engine, 4).unwrap());
    let barrier = Arc::new(Barrier::new(reqs.len()));
    let threads: Vec<_> = reqs
        .into_iter()
        .map(|(prompt, params)| {
            let (engine, barrier) = (engine.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let mut streamed = String::new();
                let g = engine
                    .generate(&prompt, &params, &mut |piece| {
                        streamed.push_str(piece);
                        true
                    })
                    .unwrap();
                (g, streamed)
            })
        })
        .collect();
    let mut decoded = 0;
    for (i, (t, want)) in threads.into_iter().zip(&wants).enumerate() {
        let (got, streamed) = t.join().unwrap();
        same(&got, want, &format!("request {i}"));
        assert_eq!(streamed, got.text, "request {i}: the streamed pieces make the text");
        decoded += want.token_ids.len() - 1;
    }
    assert_eq!(engine.stats().tokens(), decoded as u64);
    // A caller that stops listening ends its generation early.
    let stopped = engine
        .generate(
            &wants[0].token_ids[..1],
            &GenerationParams { max_tokens: 50, ignore_eos: true, ..Default::default() },
            &mut |_| false,
        )
        .unwrap();
    assert!(stopped.token_ids.len() < 50, "{}", stopped.token_ids.len());
}
