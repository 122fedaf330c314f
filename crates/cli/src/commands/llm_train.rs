//! `lathe llm finetune` (LoRA on chat or prompt/completion JSONL, logged as a
//! tracking run with the adapter and sample generations as artifacts, and
//! with `--register` a new version of a registered model) and `lathe llm merge`.
//!
//! Training runs on tokio's blocking pool and logs through the quickstart's
//! [`Tracker`], whose module explains why that cannot deadlock.

use std::path::{Path, PathBuf};

use anyhow::Context;
use lathe_core::{LifecycleStage, Tag};
use lathe_llm::lora::peft::{self, BaseIdentity};
use lathe_llm::lora::{merge, LoraConfig, Target};
use lathe_llm::train::data::{read_jsonl, DataOptions, DataStats};
use lathe_llm::train::{train, Samples, TrainConfig};
use lathe_llm::{Engine, LoadedModel};
use lathe_store::{CreateModelVersion, StoreError};

use super::quickstart::tracker::Tracker;
use super::{ArtifactsArgs, TrackingArgs};
use crate::output;

/// LoRA fine-tuning commands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Fine-tune a LoRA adapter on chat or prompt/completion JSONL, logged as a tracking run.
    Finetune(Box<FinetuneArgs>),
    /// Fold a LoRA adapter into its base and write a Hugging Face model folder.
    Merge(MergeArgs),
}

/// `lathe llm finetune`.
#[derive(Debug, clap::Args)]
pub(crate) struct FinetuneArgs {
    /// Base model: a Hugging Face folder, a .gguf file, or a Hub model id.
    #[arg(long)]
    base: String,
    /// Training data: JSONL of {"messages": [...]} or {"prompt", "completion"}.
    #[arg(long)]
    data: PathBuf,
    /// Held-out data for eval loss and perplexity.
    #[arg(long)]
    eval: Option<PathBuf>,
    /// LoRA rank.
    #[arg(long, default_value_t = 8)]
    rank: usize,
    /// LoRA alpha (the update is scaled by alpha / rank).
    #[arg(long, default_value_t = 16.0)]
    alpha: f64,
    /// Dropout on the adapters' inputs.
    #[arg(long, default_value_t = 0.05)]
    dropout: f64,
    /// Projections to adapt, comma-separated.
    #[arg(long, default_value = "q_proj,v_proj")]
    targets: String,
    /// Passes over the data.
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 2e-4)]
    lr: f64,
    /// AdamW weight decay.
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f64,
    /// Fraction of the steps spent warming up the learning rate.
    #[arg(long, default_value_t = 0.03)]
    warmup_ratio: f64,
    /// Gradient clipping: largest global norm.
    #[arg(long, default_value_t = 1.0)]
    max_grad_norm: f64,
    /// Keep one decoder block's activations at a time and recompute them in the
    /// backward pass: much less memory for one more forward pass of compute.
    #[arg(long)]
    gradient_checkpointing: bool,
    /// Examples per micro-batch.
    #[arg(long, default_value_t = 4)]
    batch_size: usize,
    /// Micro-batches per optimizer step.
    #[arg(long, default_value_t = 1)]
    grad_accum: usize,
    /// Longest example in tokens (longer ones are truncated and counted).
    #[arg(long, default_value_t = 256)]
    max_seq_len: usize,
    /// Seed of the initialisation, data order and dropout.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Stop after this many optimizer steps.
    #[arg(long)]
    max_steps: Option<usize>,
    /// Evaluate every N optimizer steps (0: before and after only).
    #[arg(long, default_value_t = 50)]
    eval_every: usize,
    /// Checkpoint every N optimizer steps (0: only at the end).
    #[arg(long, default_value_t = 100)]
    checkpoint_every: usize,
    /// Continue from a checkpoint folder (OUT/checkpoints/step-N).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Held-out prompts answered greedily at each evaluation and logged as
    /// `samples/step-NNNNNN.json` (the first N of --eval; 0 turns them off).
    #[arg(long, default_value_t = 3)]
    samples: usize,
    /// Most tokens generated per sample.
    #[arg(long, default_value_t = 64)]
    sample_max_tokens: usize,
    /// Register the logged adapter (runs:/RUN/adapter) as a new version of
    /// this registered model, with its base model recorded on the version.
    #[arg(long, value_name = "NAME")]
    register: Option<String>,
    /// Skip (and count) malformed data lines instead of refusing the file.
    #[arg(long)]
    skip_bad_lines: bool,
    /// Where the adapter (PEFT format) and checkpoints go.
    #[arg(long)]
    out: PathBuf,
    /// Experiment of the tracking run.
    #[arg(long, default_value = "llm-finetune")]
    experiment: String,
    #[command(flatten)]
    artifacts: ArtifactsArgs,
    #[command(flatten)]
    tracking: TrackingArgs,
}

/// `lathe llm merge`.
#[derive(Debug, clap::Args)]
pub(crate) struct MergeArgs {
    /// Base model folder (Hugging Face layout).
    #[arg(long)]
    base: PathBuf,
    /// Adapter folder (adapter_config.json + adapter_model.safetensors).
    #[arg(long)]
    adapter: PathBuf,
    /// Output folder for the merged model.
    #[arg(long)]
    out: PathBuf,
}

pub(crate) async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Finetune(args) => finetune(*args).await,
        Command::Merge(args) => tokio::task::spawn_blocking(move || merge_cmd(&args))
            .await
            .context("the merge stopped unexpectedly")?,
    }
}

async fn finetune(args: FinetuneArgs) -> anyhow::Result<()> {
    let targets = Target::parse_list(&args.targets)?;
    let lora = LoraConfig { rank: args.rank, alpha: args.alpha, dropout: args.dropout, targets };
    lora.validate()?;
    let store = crate::tracking_uri::open(&args.tracking.tracking_uri).await?;
    let artifacts = args.artifacts.open(&args.tracking)?;
    let tracker = Tracker::new(store, artifacts, tokio::runtime::Handle::current())?;
    tokio::task::spawn_blocking(move || finetune_blocking(&args, lora, &tracker))
        .await
        .context("fine-tuning stopped unexpectedly")?
}

fn finetune_blocking(
    args: &FinetuneArgs,
    lora: LoraConfig,
    tracker: &Tracker,
) -> anyhow::Result<()> {
    let loaded = lathe_llm::load(&args.base)
        .with_context(|| format!("cannot load base model {}", args.base))?;
    let options =
        DataOptions { max_seq_len: args.max_seq_len, skip_bad_lines: args.skip_bad_lines };
    let (train_data, train_stats) = read(&loaded, &args.data, options)?;
    let (eval_data, eval_stats) = match &args.eval {
        Some(p) => {
            let (d, s) = read(&loaded, p, options)?;
            (d, Some(s))
        }
        None => (Vec::new(), None),
    };
    let model = loaded.engine.model();
    let base = BaseIdentity::of(model, &args.base)?;
    let experiment_id = ensure_experiment(tracker, &args.experiment)?;
    let tags = vec![
        Tag::new("mlflow.source.name", "lathe llm finetune"),
        Tag::new("lathe.llm.base_model", args.base.clone()),
    ];
    let mut run = tracker.start_run(&experiment_id, "finetune", tags)?;
    let mut stats = vec![
        ("train_examples_truncated", train_stats.truncated as f64),
        ("train_lines_skipped", train_stats.skipped_bad_lines as f64),
        ("train_examples_dropped_without_answer", train_stats.dropped_without_answer as f64),
        ("train_target_tokens", train_stats.target_tokens as f64),
    ];
    if let Some(s) = &eval_stats {
        stats.push(("eval_examples_truncated", s.truncated as f64));
        stats.push(("eval_lines_skipped", s.skipped_bad_lines as f64));
    }
    run.log_values(&stats)?;
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        grad_accum: args.grad_accum,
        lr: args.lr,
        weight_decay: args.weight_decay,
        warmup_ratio: args.warmup_ratio,
        max_grad_norm: args.max_grad_norm,
        gradient_checkpointing: args.gradient_checkpointing,
        seed: args.seed,
        eval_every: args.eval_every,
        checkpoint_every: args.checkpoint_every,
        max_steps: args.max_steps,
        out_dir: args.out.clone(),
        progress: true,
    };
    let samples =
        Samples::pick(loaded.engine.tokenizer(), &eval_data, args.samples, args.sample_max_tokens);
    let summary = train(
        model,
        &base,
        lora,
        &train_data,
        &eval_data,
        Some(&samples),
        &config,
        args.resume.as_deref(),
        &mut run,
    )?;
    for file in [peft::CONFIG_FILE, peft::WEIGHTS_FILE] {
        let path = args.out.join(file);
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        lathe_core::RunRecorder::log_artifact(&mut run, &format!("{ADAPTER_DIR}/{file}"), &bytes)?;
    }
    let run_id = run.run_id().to_owned();
    run.finish()?;
    let registered = match &args.register {
        Some(name) => Some(register(tracker, name, &run_id, &args.base, &base)?),
        None => None,
    };
    let fmt = |v: Option<f64>| {
        v.map_or("-".to_owned(), |l| format!("{l:.4} (perplexity {:.2})", l.exp()))
    };
    output::fields(&[
        ("run", run_id),
        ("adapter", args.out.display().to_string()),
        ("steps", format!("{} of {}", summary.steps, summary.total_steps)),
        ("trainable params", summary.trainable_params.to_string()),
        (
            "train examples",
            format!(
                "{} ({} truncated, {} lines skipped)",
                train_stats.examples, train_stats.truncated, train_stats.skipped_bad_lines
            ),
        ),
        (
            "first/last loss",
            format!(
                "{:.4} / {:.4}",
                summary.losses.first().copied().unwrap_or(f64::NAN),
                summary.losses.last().copied().unwrap_or(f64::NAN)
            ),
        ),
        ("eval before", fmt(summary.eval_loss_before)),
        ("eval after", fmt(summary.eval_loss_after)),
        ("median step", format!("{:.3} s", summary.median_step_s)),
        ("registered", registered.unwrap_or_else(|| "-".to_owned())),
    ])
}

/// Where a fine-tuning run keeps its adapter among its artifacts.
pub(crate) const ADAPTER_DIR: &str = "adapter";

/// A new version of `name` from `runs:/RUN/adapter`, tagged with the base
/// model (an absolute path when it is a local one, so that `lathe serve`
/// finds it from any directory) and its fingerprint; returns "NAME version N".
fn register(
    tracker: &Tracker,
    name: &str,
    run_id: &str,
    base_spec: &str,
    base: &BaseIdentity,
) -> anyhow::Result<String> {
    let store = tracker.store();
    match tracker.block(store.get_registered_model(name)) {
        Ok(_) => {}
        Err(StoreError::NotFound(_)) => {
            tracker.block(store.create_registered_model(name, &[], None))?;
        }
        Err(e) => return Err(e).with_context(|| format!("cannot look up registered model {name}")),
    }
    let base_model = std::fs::canonicalize(base_spec)
        .map_or_else(|_| base_spec.to_owned(), |p| p.display().to_string());
    let version = tracker
        .block(store.create_model_version(CreateModelVersion {
            name: name.to_owned(),
            source: format!("runs:/{run_id}/{ADAPTER_DIR}"),
            run_id: Some(run_id.to_owned()),
            tags: vec![
                Tag::new(super::llm_source::BASE_MODEL_TAG, base_model),
                Tag::new(super::llm_source::BASE_FINGERPRINT_TAG, base.fingerprint.clone()),
                Tag::new(super::llm_source::KIND_TAG, super::llm_source::KIND_LORA),
            ],
            description: Some(format!("LoRA adapter on {base_spec}")),
            ..CreateModelVersion::default()
        }))
        .with_context(|| format!("cannot register {name}"))?;
    Ok(format!("{name} version {}", version.version))
}

fn read(
    loaded: &LoadedModel,
    path: &Path,
    options: DataOptions,
) -> anyhow::Result<(Vec<lathe_llm::train::data::Example>, DataStats)> {
    Ok(read_jsonl(path, loaded.engine.tokenizer(), loaded.engine.chat_template(), options)?)
}

fn ensure_experiment(tracker: &Tracker, name: &str) -> anyhow::Result<String> {
    let store = tracker.store();
    match tracker.block(store.get_experiment_by_name(name)) {
        Ok(e) if e.lifecycle_stage == LifecycleStage::Active => Ok(e.experiment_id),
        Ok(e) => {
            tracker.block(store.restore_experiment(&e.experiment_id))?;
            Ok(e.experiment_id)
        }
        Err(StoreError::NotFound(_)) => {
            Ok(tracker.block(store.create_experiment(name, None, &[]))?)
        }
        Err(e) => Err(e).with_context(|| format!("cannot look up experiment '{name}'")),
    }
}

fn merge_cmd(args: &MergeArgs) -> anyhow::Result<()> {
    let loaded = lathe_llm::load_path(&args.base)
        .with_context(|| format!("cannot load base model {}", args.base.display()))?;
    let model = loaded.engine.model();
    let base = BaseIdentity::of(model, &args.base.display().to_string())?;
    let adapters = peft::load(&args.adapter, model.config(), &base, candle_dtype_f32())?;
    merge::write_merged(&args.base, &args.out, model, &adapters)?;
    output::fields(&[("merged model", args.out.display().to_string())])
}

fn candle_dtype_f32() -> lathe_llm::lora::DType {
    lathe_llm::lora::DType::F32
}
