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

mod common;
use common::rss_mib;

/// CPU seconds this process has used (user + system), from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at state.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    // utime and stime are fields 14 and 15 of stat(5): 11 and 12 after state.
    f.get(10).zip(f.get(11)).map_or(0.0, |(u, s)| (u + s) / 100.0)
}

/// Host CPU pressure (`some avg10`), as the shared scripts record it.
fn cpu_pressure() -> serde_json::Value {
    let text = std::fs::read_to_string("/proc/pressure/cpu").unwrap_or_default();
    let some = text.lines().find(|l| l.starts_with("some")).unwrap_or_default();
    let avg10 = some
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("avg10="))
        .and_then(|v| v.parse::<f64>().ok());
    avg10.map_or(serde_json::Value::Null, |v| serde_json::json!({"some_avg10": v}))
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
    let (mut prompt_runs, mut decode_runs, mut cpu_util) = (Vec::new(), Vec::new(), Vec::new());
    let pressure = cpu_pressure();
    let mut generated = Vec::new();
    for rep in 0..=reps {
        let (wall, cpu) = (Instant::now(), cpu_seconds());
        let g = engine.generate(&prompt, &params, &mut |_| true)?;
        if rep > 0 {
            cpu_util.push((cpu_seconds() - cpu) / wall.elapsed().as_secs_f64());
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
        "engine": if engine.model().packed_projections() > 0 {
            "lathe GGUF blocks, f32 activations"
        } else {
            "lathe candle f32"
        },
        "host": {"threads": threads, "cpu_pressure": pressure, "loadavg": loadavg()},
        "prompt_tokens": prompt.len(),
        "new_tokens": generated.len(),
        "prompt_tok_s": {"runs": prompt_runs},
        "decode_tok_s": {"runs": decode_runs},
        "cpu_util": {"runs": cpu_util},
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

/// The host's load averages over 1, 5 and 15 minutes, which the shared
/// `summarize.py` reads from every record.
fn loadavg() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_default()
}
