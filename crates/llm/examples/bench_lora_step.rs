//! LoRA training-step benchmark with the definitions of
//! `shared/bench/llm/lora_step.py`, so the two run on the same batches:
//! chitchat conversations rendered with the model's chat template (no
//! generation prompt), tokenized without BOS, the first SEQ tokens of each
//! conversation that has that many; step k uses rows `[k·BATCH, (k+1)·BATCH)`;
//! the loss is taken on every next token (labels = inputs), dropout 0, rank 8,
//! alpha 16, AdamW at a constant learning rate. One step = forward and
//! backward (the trainer's [`TrainModel::loss_and_grads`]), optimizer update. Prints a JSON record with the median step time and the
//! process's peak RSS. With `LATHE_BENCH_UNFUSED=1` the step goes through
//! candle's autograd and the full logits ([`TrainModel::forward`]) instead,
//! to show what the hand-written backward pass and fused loss save.
//!
//! ```text
//! cargo run --release -p lathe-llm --example bench_lora_step -- MODEL CHITCHAT_JSONL [STEPS] [TARGETS] > lathe.json
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

use lathe_llm::lora::{Adapters, LoraConfig, Target};
use lathe_llm::train::{masked_cross_entropy, AdamW, AdamWParams, TrainModel};
use lathe_llm::{ChatMessage, Engine};

const BATCH: usize = 4;
const SEQ: usize = 128;
const WARMUP: usize = 1;

mod common;
use common::rss_mib;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bench_lora_step MODEL CHITCHAT_JSONL [STEPS] [TARGETS]";
    let model_path = args.next().ok_or(usage)?;
    let data_path = args.next().ok_or(usage)?;
    let steps: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3);
    let targets = Target::parse_list(&args.next().unwrap_or_else(|| "q_proj,v_proj".into()))?;
    let loaded = lathe_llm::load(&model_path)?;
    let engine = &loaded.engine;
    let template = engine.chat_template().ok_or("the model has no chat template")?;
    let n_steps = WARMUP + steps;
    let mut rows: Vec<u32> = Vec::with_capacity(n_steps * BATCH * SEQ);
    for line in std::fs::read_to_string(&data_path)?.lines() {
        if rows.len() == n_steps * BATCH * SEQ {
            break;
        }
        let conv: serde_json::Value = serde_json::from_str(line)?;
        let messages: Vec<ChatMessage> = conv["messages"]
            .as_array()
            .ok_or("a line without messages")?
            .iter()
            .map(|m| {
                ChatMessage::new(
                    m["role"].as_str().unwrap_or(""),
                    m["content"].as_str().unwrap_or(""),
                )
            })
            .collect();
        let ids = engine.tokenizer().encode(&template.render(&messages, false)?, false)?;
        if ids.len() >= SEQ {
            rows.extend_from_slice(&ids[..SEQ]);
        }
    }
    if rows.len() < n_steps * BATCH * SEQ {
        return Err(format!("fewer than {} conversations of {SEQ} tokens", n_steps * BATCH).into());
    }
    let model = engine.model();
    let lora = LoraConfig { rank: 8, alpha: 16.0, dropout: 0.0, targets };
    let adapters =
        Adapters::init(lora, model.config(), lathe_llm::lora::DType::F32, model.device(), 0)?;
    let train = TrainModel::new(model, adapters, lathe_llm::lora::DType::F32)?;
    let named = train.adapters().named_vars();
    let vars: Vec<_> = named.iter().map(|(_, v)| *v).collect();
    let mut optimizer =
        AdamW::new(AdamWParams { weight_decay: 0.01, ..Default::default() }, &vars)?;
    let unfused = std::env::var_os("LATHE_BENCH_UNFUSED").is_some();
    let (mut times, mut losses) = (Vec::new(), Vec::new());
    for k in 0..n_steps {
        let batch = &rows[k * BATCH * SEQ..(k + 1) * BATCH * SEQ];
        // Labels are the inputs shifted by one, as transformers does with labels = input_ids.
        let labels: Vec<i64> = batch
            .chunks(SEQ)
            .flat_map(|r| r[1..].iter().map(|&t| i64::from(t)).chain([-100]))
            .collect();
        let ids = candle_core::Tensor::from_slice(batch, (BATCH, SEQ), model.device())?;
        let t0 = Instant::now();
        let (loss, grads) = if unfused {
            let (loss, _) = masked_cross_entropy(&train.forward(&ids, None)?, &labels)?;
            let grads = loss.backward()?;
            let grads: Vec<_> = vars.iter().map(|v| grads.get(v.as_tensor()).cloned()).collect();
            (loss, grads)
        } else {
            let (loss, _, grads) = train.loss_and_grads(&ids, &labels, 1.0, None)?;
            let grads: Vec<_> = vars.iter().map(|v| grads.get(v.as_tensor()).cloned()).collect();
            (loss, grads)
        };
        let grads: Vec<_> =
            grads.into_iter().collect::<Option<_>>().ok_or("a LoRA matrix got no gradient")?;
        optimizer.step(&vars, &grads, 1e-4)?;
        let secs = t0.elapsed().as_secs_f64();
        let loss = loss.to_scalar::<f32>()?;
        eprintln!("step {k} loss {loss:.4} {secs:.2}s");
        if k >= WARMUP {
            times.push(secs);
        }
        losses.push(loss);
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let record = serde_json::json!({
        "engine": if unfused { "lathe (unfused head and loss)" } else { "lathe" },
        "kind": "lora_step",
        "batch": BATCH, "seq": SEQ, "rank": 8, "alpha": 16,
        "targets": train.adapters().config().targets.iter().map(|t| t.name()).collect::<Vec<_>>(),
        "step_s": {"runs": times, "median": median},
        "tokens_per_s": (BATCH * SEQ) as f64 / median,
        "losses": losses,
        "peak_rss_mib_process": rss_mib("VmHWM:"),
    });
    println!("{}", serde_json::to_string_pretty(&record)?);
    Ok(())
}
