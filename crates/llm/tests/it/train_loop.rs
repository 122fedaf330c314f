//! The training loop on the tiny model: the loss falls on a memorization set,
//! every step is reported, and a resumed run repeats the uninterrupted one.

use std::collections::BTreeMap;
use std::path::Path;

use lathe_core::{DatasetInput, Metric, Param, RunRecorder, Tag};
use lathe_llm::lora::peft::BaseIdentity;
use lathe_llm::lora::{LoraConfig, Target};
use lathe_llm::train::data::{read_jsonl, DataOptions, Example};
use lathe_llm::train::{train, Samples, TrainConfig};
use lathe_llm::{load_path, tiny, Engine, LoadedModel};

/// A recorder that keeps everything in memory.
#[derive(Default)]
struct Memory {
    params: Vec<Param>,
    metrics: Vec<Metric>,
    artifacts: BTreeMap<String, Vec<u8>>,
}

impl RunRecorder for Memory {
    type Error = std::convert::Infallible;
    fn log_params(&mut self, params: &[Param]) -> Result<(), Self::Error> {
        self.params.extend_from_slice(params);
        Ok(())
    }
    fn log_metrics(&mut self, metrics: &[Metric]) -> Result<(), Self::Error> {
        self.metrics.extend_from_slice(metrics);
        Ok(())
    }
    fn set_tags(&mut self, _: &[Tag]) -> Result<(), Self::Error> {
        Ok(())
    }
    fn log_inputs(&mut self, _: &[DatasetInput]) -> Result<(), Self::Error> {
        Ok(())
    }
    fn log_artifact(&mut self, path: &str, bytes: &[u8]) -> Result<(), Self::Error> {
        self.artifacts.insert(path.to_owned(), bytes.to_vec());
        Ok(())
    }
}

impl Memory {
    fn series(&self, key: &str) -> Vec<(i64, f64)> {
        self.metrics.iter().filter(|m| m.key == key).map(|m| (m.step, m.value)).collect()
    }
}

const CONVERSATIONS: &str = r#"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "the cat sat"}]}
{"messages": [{"role": "user", "content": "who?"}, {"role": "assistant", "content": "the dog ran"}]}
{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "why"}, {"role": "assistant", "content": "because"}]}
{"prompt": "12+1=", "completion": "13"}
"#;

fn setup(dir: &Path) -> (LoadedModel, Vec<Example>) {
    tiny::write_hf_folder(&dir.join("base"), 4, 1).unwrap();
    let m = load_path(&dir.join("base")).unwrap();
    std::fs::write(dir.join("train.jsonl"), CONVERSATIONS).unwrap();
    let opts = DataOptions { max_seq_len: 128, skip_bad_lines: false };
    let (ex, _) =
        read_jsonl(&dir.join("train.jsonl"), m.engine.tokenizer(), m.engine.chat_template(), opts)
            .unwrap();
    (m, ex)
}

fn lora() -> LoraConfig {
    LoraConfig {
        rank: 8,
        alpha: 16.0,
        dropout: 0.05,
        targets: vec![Target::Q, Target::V, Target::Up],
    }
}

fn config(out: &Path, epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 2,
        grad_accum: 1,
        lr: 3e-2,
        weight_decay: 0.01,
        warmup_ratio: 0.1,
        max_grad_norm: 1.0,
        gradient_checkpointing: false,
        seed: 42,
        eval_every: 10,
        checkpoint_every: 0,
        max_steps: None,
        out_dir: out.to_owned(),
        progress: false,
    }
}

#[test]
fn loss_falls_on_a_memorization_set_and_every_step_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (m, ex) = setup(dir.path());
    let base = BaseIdentity::of(m.engine.model(), "tiny").unwrap();
    let mut rec = Memory::default();
    let out = dir.path().join("out");
    let samples = Samples::pick(m.engine.tokenizer(), &ex, 3, 8);
    let c = config(&out, 20);
    let s = train(m.engine.model(), &base, lora(), &ex, &ex, Some(&samples), &c, None, &mut rec)
        .unwrap();
    assert_eq!((s.steps, s.total_steps), (40, 40));
    let first = s.losses[0];
    let last = s.losses[s.losses.len() - 1];
    assert!(last < 0.4 * first, "loss went from {first} to {last}");
    let (before, after) = (s.eval_loss_before.unwrap(), s.eval_loss_after.unwrap());
    assert!(after < 0.4 * before, "eval loss went from {before} to {after}");
    for key in ["train_loss", "learning_rate", "tokens_per_s", "grad_norm"] {
        let steps: Vec<i64> = rec.series(key).iter().map(|p| p.0).collect();
        assert_eq!(steps, (1..=40).collect::<Vec<i64>>(), "{key}");
    }
    let lr = rec.series("learning_rate");
    assert_eq!(lr[0].1, 0.0, "warmup starts at zero");
    assert!(lr.iter().any(|p| (p.1 - 3e-2).abs() < 1e-12), "reaches the peak");
    let eval_steps: Vec<i64> = rec.series("eval_perplexity").iter().map(|p| p.0).collect();
    assert_eq!(eval_steps, vec![0, 10, 20, 30, 40]);
    // One file of samples per evaluation, with the prompt, reference and generation.
    let files: Vec<&str> = rec.artifacts.keys().map(String::as_str).collect();
    let expected: Vec<String> =
        [0, 10, 20, 30, 40].iter().map(|s| lathe_llm::train::samples::artifact_path(*s)).collect();
    assert_eq!(files, expected);
    let sample = |step: usize| -> serde_json::Value {
        serde_json::from_slice(&rec.artifacts[&lathe_llm::train::samples::artifact_path(step)])
            .unwrap()
    };
    let last = sample(40);
    assert_eq!(last["step"], 40);
    let rows = last["samples"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows[0]["prompt"].as_str().unwrap().contains("hi"), "{last}");
    assert_eq!(rows[0]["reference"].as_str().unwrap().trim(), "the cat sat", "{last}");
    // A memorized answer comes back once trained, none before.
    let matches = |v: &serde_json::Value| {
        v["samples"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                r["generation"].as_str().unwrap().trim() == r["reference"].as_str().unwrap().trim()
            })
            .count()
    };
    assert_eq!(matches(&sample(0)), 0, "{}", sample(0));
    assert!(matches(&last) >= 1, "{last}");
    let params: BTreeMap<&str, &str> =
        rec.params.iter().map(|p| (p.key.as_str(), p.value.as_str())).collect();
    assert_eq!(params["lora_targets"], "q_proj,v_proj,up_proj");
    assert!(
        out.join("adapter_model.safetensors").exists() && out.join("adapter_config.json").exists()
    );
}

#[test]
fn a_resumed_run_takes_the_same_steps() {
    let dir = tempfile::tempdir().unwrap();
    let (m, ex) = setup(dir.path());
    let model = m.engine.model();
    let base = BaseIdentity::of(model, "tiny").unwrap();
    let whole = dir.path().join("whole");
    let s = train(
        model,
        &base,
        lora(),
        &ex,
        &[],
        None,
        &config(&whole, 3),
        None,
        &mut Memory::default(),
    )
    .unwrap();
    assert_eq!(s.steps, 6);
    let part = dir.path().join("part");
    let mut c = config(&part, 3);
    c.max_steps = Some(3);
    train(model, &base, lora(), &ex, &[], None, &c, None, &mut Memory::default()).unwrap();
    let mut rec = Memory::default();
    let resumed = train(
        model,
        &base,
        lora(),
        &ex,
        &[],
        None,
        &config(&part, 3),
        Some(&part.join("checkpoints/step-3")),
        &mut rec,
    )
    .unwrap();
    assert_eq!(resumed.losses, s.losses[3..].to_vec());
    assert_eq!(rec.series("train_loss").first().map(|p| p.0), Some(4));
    let a = candle_core::safetensors::load(
        whole.join("adapter_model.safetensors"),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    let b = candle_core::safetensors::load(
        part.join("adapter_model.safetensors"),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    for (name, t) in &a {
        let d: f32 = (t - &b[name]).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap();
        assert_eq!(d, 0.0, "{name}");
    }
}

#[test]
fn gradient_checkpointing_takes_the_same_steps() {
    let dir = tempfile::tempdir().unwrap();
    let (m, ex) = setup(dir.path());
    let base = BaseIdentity::of(m.engine.model(), "tiny").unwrap();
    let run = |checkpointing: bool| {
        let mut c = config(&dir.path().join(format!("out-{checkpointing}")), 2);
        c.gradient_checkpointing = checkpointing;
        let mut rec = Memory::default();
        let summary =
            train(m.engine.model(), &base, lora(), &ex, &ex, None, &c, None, &mut rec).unwrap();
        let logged = rec.params.iter().find(|p| p.key == "gradient_checkpointing").unwrap();
        assert_eq!(logged.value, checkpointing.to_string());
        summary
    };
    let (full, ckpt) = (run(false), run(true));
    assert_eq!(full.steps, ckpt.steps);
    for (step, (a, b)) in full.losses.iter().zip(&ckpt.losses).enumerate() {
        assert!((a - b).abs() <= 1e-4 * a.abs().max(1.0), "step {step}: loss {a} vs {b}");
    }
}
