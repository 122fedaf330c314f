//! Batched decoding benchmark: N chat prompts answered one after another,
//! then decoded together in one batch ([`lathe_llm::CandleEngine::generate_many`]);
//! prints each way's aggregate decode tokens/s and checks that both generated
//! the same tokens.
//!
//! ```text
//! cargo run --release -p lathe-llm --example bench_batch -- MODEL [N] [TOKENS]
//! ```
#![allow(clippy::print_stdout)]

use std::time::Instant;

use lathe_llm::{BatchStats, ChatMessage, Engine, GenerationParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let model = args.next().ok_or("usage: bench_batch MODEL [N] [TOKENS]")?;
    let n: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(4);
    let tokens: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(32);
    let loaded = lathe_llm::load(&model)?;
    let engine = &loaded.engine;
    let topics = ["a robot who paints", "the sea", "a lost key", "winter", "a tiny dragon"];
    let requests = (0..n)
        .map(|i| {
            let m = [ChatMessage::new("user", format!("Write a story about {}.", topics[i % 5]))];
            let params =
                GenerationParams { max_tokens: tokens, ignore_eos: true, ..Default::default() };
            Ok((engine.encode_chat(&m)?, params))
        })
        .collect::<lathe_llm::Result<Vec<_>>>()?;
    // Decode time only: the prompt passes are the same either way.
    let t = Instant::now();
    let mut alone = Vec::new();
    let mut decode_s = 0.0;
    for (prompt, params) in &requests {
        let g = engine.generate(prompt, params, &mut |_| true)?;
        decode_s += g.decode_time.as_secs_f64();
        alone.push(g);
    }
    let alone_wall = t.elapsed().as_secs_f64();
    let stats = BatchStats::default();
    let t = Instant::now();
    let batched = engine.generate_many(&requests, &stats);
    let batched_wall = t.elapsed().as_secs_f64();
    let prompt_s: f64 = alone.iter().map(|g| g.prompt_time.as_secs_f64()).sum();
    let mut same = true;
    for (a, b) in alone.iter().zip(&batched) {
        same &= b.as_ref().map(|b| b.token_ids == a.token_ids).unwrap_or(false);
    }
    let decoded = stats.tokens() as f64;
    println!(
        "{}",
        serde_json::json!({
            "model": model, "sequences": n, "new_tokens": tokens,
            "one_at_a_time_decode_tokens_per_s": decoded / decode_s,
            "batched_decode_tokens_per_s": decoded / (batched_wall - prompt_s).max(1e-9),
            "one_at_a_time_wall_s": alone_wall, "batched_wall_s": batched_wall,
            "largest_batch": stats.largest(), "same_tokens": same,
        })
    );
    Ok(())
}
