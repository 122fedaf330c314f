//! The fine-tuning loop: shuffled micro-batches, gradient accumulation,
//! clipping, AdamW under warmup + cosine, evaluation (with sample generations
//! logged as artifacts), checkpoints and resume, a progress bar, and every
//! optimizer step reported through [`RunRecorder`].
//!
//! Everything random (data order, dropout masks) derives from the seed and
//! the step, so a resumed run takes exactly the steps the uninterrupted one would.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Tensor, Var};
use indicatif::{ProgressBar, ProgressStyle};
use lathe_core::{now_millis, Metric, Param, RunRecorder, SplitMix64};
use serde_json::json;

use super::data::{collate, Example};
use super::forward::{Dropout, TrainModel};
use super::optim::{clip_grad_norm, cosine_with_warmup, AdamW, AdamWParams};
use super::samples::{self, Samples};
use crate::error::{Error, Result};
use crate::lora::peft::{self, BaseIdentity};
use crate::lora::{Adapters, LoraConfig};
use crate::model::Llama;

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Passes over the training data.
    pub epochs: usize,
    /// Examples per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    pub grad_accum: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// Fraction of the optimizer steps spent warming up.
    pub warmup_ratio: f64,
    /// Largest global gradient norm (clipped above).
    pub max_grad_norm: f64,
    /// Keep one block's activations at a time and recompute them in the
    /// backward pass ([`TrainModel::checkpointed_grads`]): less memory, one
    /// more forward pass of compute (transformers' `gradient_checkpointing`).
    pub gradient_checkpointing: bool,
    /// Seed of the adapters' initialisation, data order and dropout.
    pub seed: u64,
    /// Evaluate every this many optimizer steps (0: only before and after).
    pub eval_every: usize,
    /// Checkpoint every this many optimizer steps (0: never).
    pub checkpoint_every: usize,
    /// Stop after this many optimizer steps in all (None: the whole schedule).
    pub max_steps: Option<usize>,
    /// Where the final adapter and the `checkpoints/` go.
    pub out_dir: PathBuf,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSummary {
    /// Optimizer steps taken in this process (after a resume, only the new ones).
    pub steps: usize,
    /// The schedule's length.
    pub total_steps: usize,
    /// Training loss of each step taken here.
    pub losses: Vec<f64>,
    /// Eval loss before the first step taken here, if there is eval data.
    pub eval_loss_before: Option<f64>,
    /// Eval loss after the last step.
    pub eval_loss_after: Option<f64>,
    /// Trainable parameters.
    pub trainable_params: usize,
    /// Median seconds per optimizer step.
    pub median_step_s: f64,
}

const CHECKPOINTS: &str = "checkpoints";
const STATE_FILE: &str = "trainer_state.json";
const OPTIMIZER_FILE: &str = "optimizer.safetensors";

/// Trains a LoRA adapter on `model` and writes it in PEFT's format to
/// `config.out_dir`; `resume` names a checkpoint folder to continue from.
/// At every evaluation, `samples` (if any) are generated and logged as the
/// artifact [`samples::artifact_path`] of that step.
#[allow(clippy::too_many_arguments)]
pub fn train<R: RunRecorder>(
    model: &Llama,
    base: &BaseIdentity,
    lora: LoraConfig,
    train_data: &[Example],
    eval_data: &[Example],
    samples: Option<&Samples<'_>>,
    config: &TrainConfig,
    resume: Option<&Path>,
    recorder: &mut R,
) -> Result<TrainSummary> {
    validate(config, train_data)?;
    let plan = plan(train_data.len(), config);
    let total = plan.len();
    let (adapters, start) = match resume {
        Some(dir) => (peft::load(dir, model.config(), base, DType::F32)?, read_step(dir)?),
        None => (
            Adapters::init(
                lora,
                model.config(),
                DType::F32,
                &candle_core::Device::Cpu,
                config.seed,
            )?,
            0,
        ),
    };
    let train_model = TrainModel::new(model, adapters, DType::F32)?;
    let named = train_model.adapters().named_vars();
    let names: Vec<String> = named.iter().map(|(n, _)| n.clone()).collect();
    let vars: Vec<&Var> = named.iter().map(|(_, v)| *v).collect();
    let params = AdamWParams { weight_decay: config.weight_decay, ..AdamWParams::default() };
    let mut optimizer = match resume {
        Some(dir) => AdamW::load(params, &names, &vars, &dir.join(OPTIMIZER_FILE))?,
        None => AdamW::new(params, &vars)?,
    };
    let lora = train_model.adapters().config().clone();
    let trainable = train_model.adapters().parameter_count();
    // A resumed run is a new tracking run: it records its parameters too.
    log_params(recorder, &lora, config, base, train_data.len(), eval_data.len(), total, trainable)?;
    let warmup = (config.warmup_ratio * total as f64).ceil() as usize;
    let end = config.max_steps.map_or(total, |m| m.min(total));
    let pad = 0;
    let bar = progress_bar(config.progress, (end.max(start) - start) as u64);
    let eval_loss_before = evaluate(&train_model, eval_data, config.batch_size, pad)?;
    if let Some(l) = eval_loss_before {
        log_eval(recorder, start, l)?;
    }
    log_samples(recorder, samples, model, &train_model, start)?;
    let mut eval_loss_after = eval_loss_before;
    let mut losses = Vec::new();
    let mut times = Vec::new();
    for (step, micro_batches) in plan.iter().enumerate().take(end).skip(start) {
        let t0 = Instant::now();
        let mut rng =
            SplitMix64::new(config.seed ^ (step as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let counted: usize = micro_batches
            .iter()
            .flat_map(|mb| mb.iter())
            .map(|&i| train_data[i].target_tokens())
            .sum();
        let mut grads: Vec<Option<Tensor>> = vec![None; vars.len()];
        let (mut loss_sum, mut tokens) = (0.0, 0usize);
        for mb in micro_batches {
            let examples: Vec<&Example> = mb.iter().map(|&i| &train_data[i]).collect();
            tokens += examples.iter().map(|e| e.ids.len()).sum::<usize>();
            let (ids, labels) = collate(&examples, pad, train_model.device())?;
            let dropout = Some(Dropout { p: lora.dropout, rng: &mut rng });
            // Weight each micro-batch by its share of the step's answer tokens.
            let share = |count: usize| count as f64 / counted.max(1) as f64;
            let answer_tokens = labels.iter().filter(|&&l| l >= 0).count();
            let (loss, _, g) = if config.gradient_checkpointing {
                train_model.checkpointed_grads(&ids, &labels, share(answer_tokens), dropout)?
            } else {
                train_model.loss_and_grads(&ids, &labels, share(answer_tokens), dropout)?
            };
            loss_sum += loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            for (slot, var) in grads.iter_mut().zip(&vars) {
                let gv = g.get(var.as_tensor()).ok_or_else(|| Error::InvalidParameter {
                    param: "adapters",
                    problem: "a LoRA matrix received no gradient".into(),
                })?;
                *slot = Some(match slot.take() {
                    Some(acc) => (acc + gv)?,
                    None => gv.clone(),
                });
            }
        }
        let mut grads: Vec<Tensor> = grads.into_iter().flatten().collect();
        let grad_norm = clip_grad_norm(&mut grads, config.max_grad_norm)?;
        let lr = cosine_with_warmup(config.lr, step, warmup, total);
        optimizer.step(&vars, &grads, lr)?;
        let secs = t0.elapsed().as_secs_f64();
        times.push(secs);
        losses.push(loss_sum);
        let tps = tokens as f64 / secs.max(1e-9);
        let done = step + 1;
        let now = now_millis();
        let m = |key: &str, value: f64| Metric {
            key: key.into(),
            value,
            timestamp: now,
            step: done as i64,
        };
        let metrics = [
            m("train_loss", loss_sum),
            m("learning_rate", lr),
            m("tokens_per_s", tps),
            m("grad_norm", grad_norm),
        ];
        recorder.log_metrics(&metrics).map_err(|e| Error::Recorder(e.to_string()))?;
        bar.set_message(format!("loss {loss_sum:.4} lr {lr:.2e} {tps:.0} tok/s"));
        bar.inc(1);
        if config.eval_every > 0 && done % config.eval_every == 0 && done < end {
            if let Some(l) = evaluate(&train_model, eval_data, config.batch_size, pad)? {
                log_eval(recorder, done, l)?;
                eval_loss_after = Some(l);
            }
            log_samples(recorder, samples, model, &train_model, done)?;
        }
        if config.checkpoint_every > 0 && done % config.checkpoint_every == 0 && done < end {
            let dir = config.out_dir.join(CHECKPOINTS).join(format!("step-{done}"));
            save_checkpoint(&dir, &train_model, base, &optimizer, &names, done, total)?;
        }
    }
    bar.finish_and_clear();
    if end > start {
        if let Some(l) = evaluate(&train_model, eval_data, config.batch_size, pad)? {
            log_eval(recorder, end, l)?;
            eval_loss_after = Some(l);
        }
        log_samples(recorder, samples, model, &train_model, end)?;
    }
    peft::save(&config.out_dir, train_model.adapters(), base)?;
    save_checkpoint(
        &config.out_dir.join(CHECKPOINTS).join(format!("step-{end}")),
        &train_model,
        base,
        &optimizer,
        &names,
        end,
        total,
    )?;
    times.sort_by(f64::total_cmp);
    Ok(TrainSummary {
        steps: losses.len(),
        total_steps: total,
        losses,
        eval_loss_before,
        eval_loss_after,
        trainable_params: trainable,
        median_step_s: times.get(times.len() / 2).copied().unwrap_or(0.0),
    })
}

/// Token-weighted mean loss over `data`, without dropout; None when empty.
pub fn evaluate(
    model: &TrainModel,
    data: &[Example],
    batch_size: usize,
    pad: u32,
) -> Result<Option<f64>> {
    if data.is_empty() {
        return Ok(None);
    }
    let (mut sum, mut count) = (0.0, 0usize);
    for chunk in data.chunks(batch_size.max(1)) {
        let examples: Vec<&Example> = chunk.iter().collect();
        let (ids, labels) = collate(&examples, pad, model.device())?;
        let (loss, n) = model.eval_loss(&ids, &labels)?;
        sum += loss * n as f64;
        count += n;
    }
    Ok(Some(sum / count.max(1) as f64))
}

/// The micro-batches (example indices) of every optimizer step: each epoch
/// shuffled from the seed, cut into batches, grouped `grad_accum` at a time
/// (an epoch's last step may hold fewer).
fn plan(n: usize, c: &TrainConfig) -> Vec<Vec<Vec<usize>>> {
    let mut steps = Vec::new();
    for epoch in 0..c.epochs {
        let mut order: Vec<usize> = (0..n).collect();
        SplitMix64::new(c.seed.wrapping_add(epoch as u64 + 1)).shuffle(&mut order);
        let batches: Vec<Vec<usize>> = order.chunks(c.batch_size).map(<[usize]>::to_vec).collect();
        for group in batches.chunks(c.grad_accum) {
            steps.push(group.to_vec());
        }
    }
    steps
}

fn validate(c: &TrainConfig, data: &[Example]) -> Result<()> {
    let bad = |param, problem: String| Err(Error::InvalidParameter { param, problem });
    if data.is_empty() {
        return bad("data", "holds no usable example".into());
    }
    for (param, v) in
        [("epochs", c.epochs), ("batch_size", c.batch_size), ("grad_accum", c.grad_accum)]
    {
        if v == 0 {
            return bad(param, "must be at least 1".into());
        }
    }
    if c.lr.is_nan() || c.lr <= 0.0 || c.lr.is_infinite() {
        return bad("lr", format!("{} is not a positive number", c.lr));
    }
    if !(0.0..1.0).contains(&c.warmup_ratio) {
        return bad("warmup_ratio", format!("{} is not in [0, 1)", c.warmup_ratio));
    }
    if c.max_grad_norm.is_nan() || c.max_grad_norm <= 0.0 {
        return bad("max_grad_norm", format!("{} is not positive", c.max_grad_norm));
    }
    Ok(())
}

fn progress_bar(show: bool, len: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("finetune [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})")
    {
        bar.set_style(style);
    }
    bar
}

#[allow(clippy::too_many_arguments)]
fn log_params<R: RunRecorder>(
    recorder: &mut R,
    lora: &LoraConfig,
    c: &TrainConfig,
    base: &BaseIdentity,
    n_train: usize,
    n_eval: usize,
    total: usize,
    trainable: usize,
) -> Result<()> {
    let targets: Vec<&str> = lora.targets.iter().map(|t| t.name()).collect();
    let p = |k: &str, v: String| Param { key: k.into(), value: v };
    let params = [
        p("base_model", base.name.clone()),
        p("base_model_fingerprint", base.fingerprint.clone()),
        p("lora_rank", lora.rank.to_string()),
        p("lora_alpha", lora.alpha.to_string()),
        p("lora_dropout", lora.dropout.to_string()),
        p("lora_targets", targets.join(",")),
        p("epochs", c.epochs.to_string()),
        p("batch_size", c.batch_size.to_string()),
        p("grad_accum", c.grad_accum.to_string()),
        p("lr", c.lr.to_string()),
        p("weight_decay", c.weight_decay.to_string()),
        p("warmup_ratio", c.warmup_ratio.to_string()),
        p("max_grad_norm", c.max_grad_norm.to_string()),
        p("gradient_checkpointing", c.gradient_checkpointing.to_string()),
        p("seed", c.seed.to_string()),
        p("train_examples", n_train.to_string()),
        p("eval_examples", n_eval.to_string()),
        p("total_steps", total.to_string()),
        p("trainable_params", trainable.to_string()),
    ];
    recorder.log_params(&params).map_err(|e| Error::Recorder(e.to_string()))
}

fn log_eval<R: RunRecorder>(recorder: &mut R, step: usize, loss: f64) -> Result<()> {
    let now = now_millis();
    let m = |key: &str, value: f64| Metric {
        key: key.into(),
        value,
        timestamp: now,
        step: step as i64,
    };
    recorder
        .log_metrics(&[m("eval_loss", loss), m("eval_perplexity", loss.exp())])
        .map_err(|e| Error::Recorder(e.to_string()))
}

/// Generates `samples` with the adapters as they are after `step` and logs them.
fn log_samples<R: RunRecorder>(
    recorder: &mut R,
    samples: Option<&Samples<'_>>,
    base: &Llama,
    model: &TrainModel,
    step: usize,
) -> Result<()> {
    let Some(samples) = samples.filter(|s| !s.prompts.is_empty()) else { return Ok(()) };
    let value = samples.generate(base, model.adapters(), step)?;
    let path = samples::artifact_path(step);
    let bytes = serde_json::to_vec_pretty(&value)
        .map_err(|e| Error::config(Path::new(&path), "(json)", e.to_string()))?;
    recorder.log_artifact(&path, &bytes).map_err(|e| Error::Recorder(e.to_string()))
}

fn save_checkpoint(
    dir: &Path,
    model: &TrainModel,
    base: &BaseIdentity,
    optimizer: &AdamW,
    names: &[String],
    step: usize,
    total: usize,
) -> Result<()> {
    peft::save(dir, model.adapters(), base)?;
    optimizer.save(names, &dir.join(OPTIMIZER_FILE))?;
    let path = dir.join(STATE_FILE);
    let text = serde_json::to_string_pretty(&json!({"step": step, "total_steps": total}))
        .map_err(|e| Error::config(&path, "(json)", e.to_string()))?;
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))
}

fn read_step(dir: &Path) -> Result<usize> {
    let path = dir.join(STATE_FILE);
    if !path.exists() {
        return Err(Error::MissingFile {
            dir: dir.to_owned(),
            file: STATE_FILE.into(),
            hint: "--resume takes a checkpoint folder (OUT/checkpoints/step-N)",
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::config(&path, "(json)", format!("is not valid: {e}")))?;
    v.get("step")
        .and_then(serde_json::Value::as_u64)
        .map(|s| s as usize)
        .ok_or_else(|| Error::config(&path, "step", "is missing or not a count"))
}
