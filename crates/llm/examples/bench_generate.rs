//! Greedy generation benchmark with the definitions of
//! `shared/bench/llm` (fixed chat prompt, 64 new tokens, EOS ignored, one
//! untimed warm-up): prints a JSON record that `summarize.py` reads.
//!
//! ```text
//! cargo run --release -p lathe-llm --example bench_generate -- MODEL [REPS] > lathe.json
//! ```
#![allow(clippy::print_stdout)]

use std::time::Instant;

use lathe_llm::{ChatMessage, Engine, GenerationParams};

fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let model = args.next().ok_or("usage: bench_generate MODEL [REPS]")?;
    let reps: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(3);
    let started = Instant::now();
    let loaded = lathe_llm::load(&model)?;
    let load_s = started.elapsed().as_secs_f64();
    let rss_after_load = rss_mib("VmRSS:");
    let engine = &loaded.engine;
    let messages =
        [ChatMessage::new("user", "Write a short story about a robot who learns to paint.")];
    let prompt = engine.encode_chat(&messages)?;
    let params = GenerationParams { max_tokens: 64, ignore_eos: true, ..Default::default() };
    let (mut prompt_runs, mut decode_runs) = (Vec::new(), Vec::new());
    let mut generated = Vec::new();
    for rep in 0..=reps {
        let g = engine.generate(&prompt, &params, &mut |_| true)?;
        if rep > 0 {
            prompt_runs.push(g.prompt_tokens_per_s());
            decode_runs.push(g.decode_tokens_per_s());
        }
        generated = g.token_ids;
    }
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let record = serde_json::json!({
        "kind": "generate",
        "engine": "lathe candle f32",
        "host": {"threads": threads},
        "prompt_tokens": prompt.len(),
        "new_tokens": generated.len(),
        "prompt_tok_s": {"runs": prompt_runs},
        "decode_tok_s": {"runs": decode_runs},
        "load_s": load_s,
        "mem_after_load": {"VmRSS_mib": rss_after_load},
        "peak_rss_mib_generate": rss_mib("VmHWM:"),
        "peak_rss_mib_process": rss_mib("VmHWM:"),
        "prompt_ids": prompt,
        "generated_ids": generated,
    });
    println!("{}", serde_json::to_string_pretty(&record)?);
    Ok(())
}
