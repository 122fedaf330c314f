//! `lathe llm …`: language models on the command line. `generate` answers
//! one prompt, `chat` holds a conversation; both stream the answer to
//! stdout as it is generated and report tokens/s on stderr. `lathe serve
//! --llm` (with `--adapter`s, see `llm_source.rs`) is set up here too.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::Context;
use lathe_llm::lora::peft::BaseIdentity;
use lathe_llm::{ChatMessage, Engine, GenerationParams, LoadedModel, SamplingParams};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Generate an answer to one prompt (through the model's chat template unless --raw).
    Generate(GenerateArgs),
    /// Chat with a model in the terminal (one line per message; /reset, /exit).
    Chat(ChatArgs),
    /// LoRA fine-tuning and merging.
    #[command(flatten)]
    Train(super::llm_train::Command),
}

/// Flags every command that loads and samples from a model shares.
#[derive(Debug, clap::Args)]
pub(crate) struct ModelArgs {
    /// A Hugging Face model folder, a .gguf file (or a folder holding one), or a Hub model id.
    #[arg(long, value_name = "PATH|ID")]
    model: String,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// 0 picks the most likely token (greedy); higher values sample more freely.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Nucleus sampling: keep the most likely tokens up to this total probability.
    #[arg(long, default_value_t = 1.0)]
    top_p: f32,
    /// Keep only the K most likely tokens (0 keeps all).
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    /// Above 1 discourages repeating tokens already in the text.
    #[arg(long, default_value_t = 1.0)]
    repetition_penalty: f32,
    /// Seed of the sampler (the same seed gives the same text).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Stop before this text (repeatable).
    #[arg(long = "stop", value_name = "TEXT")]
    stop: Vec<String>,
    /// A system message to start the conversation with.
    #[arg(long)]
    system: Option<String>,
}

impl ModelArgs {
    fn params(&self) -> GenerationParams {
        GenerationParams {
            max_tokens: self.max_tokens,
            sampling: SamplingParams {
                temperature: self.temperature,
                top_p: self.top_p,
                top_k: self.top_k,
                repetition_penalty: self.repetition_penalty,
                seed: self.seed,
            },
            stop: self.stop.clone(),
            ignore_eos: false,
        }
    }

    fn load(&self) -> anyhow::Result<LoadedModel> {
        let spinner =
            indicatif::ProgressBar::new_spinner().with_message(format!("loading {}", self.model));
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        let started = std::time::Instant::now();
        let loaded = lathe_llm::load(&self.model);
        spinner.finish_and_clear();
        let loaded = loaded.with_context(|| format!("cannot load model {}", self.model))?;
        eprintln!(
            "loaded {} ({:?}, {} layers, vocab {}) in {:.1} s",
            loaded.path.display(),
            loaded.format,
            loaded.engine.model().config().num_hidden_layers,
            loaded.engine.model().config().vocab_size,
            started.elapsed().as_secs_f64()
        );
        Ok(loaded)
    }
}

/// Flags of `lathe llm generate`.
#[derive(Debug, clap::Args)]
pub(crate) struct GenerateArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The prompt.
    #[arg(long)]
    prompt: String,
    /// Send the prompt as plain text, without the chat template.
    #[arg(long)]
    raw: bool,
    /// Keep generating past end-of-sequence tokens, for benchmarks.
    #[arg(long)]
    ignore_eos: bool,
}

/// Flags of `lathe llm chat`.
#[derive(Debug, clap::Args)]
pub(crate) struct ChatArgs {
    #[command(flatten)]
    model: ModelArgs,
}

pub(crate) async fn run(cmd: Command) -> anyhow::Result<()> {
    // CPU-bound work on candle's own threads; nothing else runs meanwhile.
    match cmd {
        Command::Generate(args) => generate(args),
        Command::Chat(args) => chat(args),
        Command::Train(cmd) => super::llm_train::run(cmd).await,
    }
}

fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let loaded = args.model.load()?;
    let engine = &loaded.engine;
    let prompt = if args.raw {
        engine.tokenizer().encode(&args.prompt, true)?
    } else {
        let mut messages = Vec::new();
        if let Some(system) = &args.model.system {
            messages.push(ChatMessage::new("system", system.clone()));
        }
        messages.push(ChatMessage::new("user", args.prompt.clone()));
        engine.encode_chat(&messages)?
    };
    let params = GenerationParams { ignore_eos: args.ignore_eos, ..args.model.params() };
    answer(engine, &prompt, &params)?;
    Ok(())
}

fn chat(args: ChatArgs) -> anyhow::Result<()> {
    let loaded = args.model.load()?;
    let engine = &loaded.engine;
    let params = args.model.params();
    let start: Vec<ChatMessage> =
        args.model.system.iter().map(|s| ChatMessage::new("system", s.clone())).collect();
    let mut history = start.clone();
    eprintln!("type a message and press enter; /reset starts over, /exit (or end of input) quits");
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        eprint!("> ");
        let Some(line) = lines.next() else { break };
        let line = line.context("cannot read stdin")?;
        match line.trim() {
            "" => continue,
            "/exit" | "/quit" => break,
            "/reset" => {
                history = start.clone();
                continue;
            }
            _ => {}
        }
        history.push(ChatMessage::new("user", line));
        let prompt = engine.encode_chat(&history)?;
        let text = answer(engine, &prompt, &params)?;
        history.push(ChatMessage::new("assistant", text));
    }
    Ok(())
}

/// Streams one answer to stdout and its figures to stderr; returns its text.
fn answer(
    engine: &dyn Engine,
    prompt: &[u32],
    params: &GenerationParams,
) -> anyhow::Result<String> {
    let mut out = std::io::stdout().lock();
    let mut write_failed = None;
    let generation = engine.generate(prompt, params, &mut |piece| match out
        .write_all(piece.as_bytes())
        .and_then(|_| out.flush())
    {
        Ok(()) => true,
        Err(e) => {
            write_failed = Some(e);
            false
        }
    })?;
    match write_failed {
        // `lathe llm generate … | head -c 20` is not an error.
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(generation.text),
        Some(e) => return Err(e).context("cannot write to stdout"),
        None => {}
    }
    let _ = writeln!(out).and_then(|_| out.flush());
    eprintln!(
        "[prompt {} tokens, {:.1} tok/s; generated {} tokens, {:.1} tok/s; finish: {}]",
        generation.prompt_tokens,
        generation.prompt_tokens_per_s(),
        generation.token_ids.len(),
        generation.decode_tokens_per_s(),
        generation.finish_reason.as_str()
    );
    Ok(generation.text)
}

/// The flags `lathe serve` takes to serve a language model (OpenAI's API).
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Serve a language model with OpenAI's API (/v1/chat/completions,
    /// /v1/completions, /v1/models): a model folder, a .gguf file, a Hub id,
    /// or a registered LoRA adapter (models:/NAME@ALIAS, models:/NAME/VERSION,
    /// runs:/RUN/adapter), served on the base model its version records.
    #[arg(long, value_name = "PATH|ID|URI")]
    pub(crate) llm: Option<String>,
    /// The name clients pass as `model` [default: the model's folder or file
    /// name, or the registered model's name].
    #[arg(long, requires = "llm")]
    model_name: Option<String>,
    /// A LoRA adapter served beside --llm on the same base, chosen by the
    /// request's `model`: NAME=PATH|URI, or just a URI or folder (named after
    /// the registered model or the folder); repeatable.
    #[arg(long, value_name = "[NAME=]PATH|URI", requires = "llm")]
    adapter: Vec<String>,
    /// Also serve a sentence encoder (a sentence-transformers BERT folder, e.g.
    /// all-MiniLM-L6-v2) on /v1/embeddings.
    #[arg(long, value_name = "PATH")]
    pub(crate) embeddings: Option<std::path::PathBuf>,
    /// The name clients pass as `model` for embeddings [default: the folder's name].
    #[arg(long, requires = "embeddings")]
    embeddings_name: Option<String>,
    /// Largest max_tokens a request may ask for.
    #[arg(long, default_value_t = 4096)]
    llm_max_tokens: usize,
    /// Largest n (choices per prompt) a request may ask for.
    #[arg(long, default_value_t = 8)]
    llm_max_n: usize,
    /// Longest prompt in tokens (the model's context bounds it too).
    #[arg(long, default_value_t = 32_768)]
    llm_max_prompt_tokens: usize,
    /// Generations running at once, decoded together as one batch (each
    /// step reads the weights once for all); more wait in a queue.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    llm_max_concurrency: u32,
}

/// `lathe serve --llm SPEC [--adapter …] [--embeddings PATH]`: loads the
/// models, then answers OpenAI's API.
pub(crate) async fn serve(
    args: ServeArgs,
    tabular: bool,
    host: &str,
    port: u16,
    source: &super::model_source::SourceArgs,
) -> anyhow::Result<()> {
    if tabular {
        anyhow::bail!(
            "serving MODEL_URI models and --llm/--embeddings in one process is not supported yet; run two `lathe serve` processes"
        );
    }
    let models = match &args.llm {
        Some(spec) => {
            let batch = args.llm_max_concurrency as usize;
            load_llms(spec, args.model_name.as_deref(), &args.adapter, batch, source).await?
        }
        None => Vec::new(),
    };
    let mut embedders = Vec::new();
    if let Some(dir) = args.embeddings.clone() {
        let path = dir.clone();
        let encoder = tokio::task::spawn_blocking(move || lathe_llm::Encoder::load(&path))
            .await
            .context("model loading stopped")?
            .with_context(|| format!("cannot load embedding model {}", dir.display()))?;
        let name = args.embeddings_name.clone().unwrap_or_else(|| {
            dir.file_name()
                .map_or_else(|| "embeddings".to_owned(), |n| n.to_string_lossy().into_owned())
        });
        tracing::info!(
            "loaded {} as '{name}' (embeddings, {} dimensions)",
            dir.display(),
            encoder.dim()
        );
        embedders.push(lathe_serve::openai::ServedEmbedder {
            name,
            encoder: std::sync::Arc::new(encoder),
        });
    }
    let limits = lathe_serve::openai::LlmLimits {
        max_tokens: args.llm_max_tokens,
        max_n: args.llm_max_n,
        max_prompt_tokens: args.llm_max_prompt_tokens,
        max_concurrency: args.llm_max_concurrency as usize,
        ..lathe_serve::openai::LlmLimits::default()
    };
    let app = lathe_serve::openai::router(models, embedders, limits);
    let addr: std::net::SocketAddr = format!("{host}:{port}")
        .parse()
        .with_context(|| format!("invalid --host/--port: {host}:{port}"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!("lathe serve (OpenAI API) listening on http://{}", listener.local_addr()?);
    lathe_server::serve_router(listener, app, super::server::shutdown_signal()).await?;
    Ok(())
}

/// The served language models: `spec` (a base, or an adapter on the base its
/// version records) and each `--adapter` folded into that same base.
async fn load_llms(
    spec: &str,
    model_name: Option<&str>,
    adapter_specs: &[String],
    max_batch: usize,
    source: &super::model_source::SourceArgs,
) -> anyhow::Result<Vec<lathe_serve::openai::ServedLlm>> {
    use super::llm_source::{is_uri, AdapterFiles};
    let needs_store = is_uri(spec) || adapter_specs.iter().any(|a| is_uri(adapter_spec(a).1));
    let store = if needs_store {
        Some((
            crate::tracking_uri::open(&source.tracking.tracking_uri).await?,
            super::model_source::open_artifacts(source)?,
        ))
    } else {
        None
    };
    let fetch = |spec: String| {
        let store = &store;
        async move {
            match store {
                Some((db, arts)) if is_uri(&spec) => {
                    AdapterFiles::from_uri(&spec, db.as_ref(), arts.as_ref()).await
                }
                _ => AdapterFiles::from_dir(Path::new(&spec)),
            }
        }
    };
    // An adapter given as --llm brings its base; otherwise --llm is the base.
    let (base_spec, main) = if is_uri(spec) {
        let files = fetch(spec.to_owned()).await?;
        let base = files.base.clone().with_context(|| {
            format!("{spec} records no base model (tag {})", super::llm_source::BASE_MODEL_TAG)
        })?;
        (base, Some(files))
    } else {
        (spec.to_owned(), None)
    };
    // The --llm adapter first, under --model-name; then each --adapter.
    let mut adapters = Vec::with_capacity(adapter_specs.len() + 1);
    let served_base = main.is_none();
    if let Some(files) = main {
        adapters.push((model_name.map(str::to_owned), files));
    }
    for a in adapter_specs {
        let (name, path) = adapter_spec(a);
        adapters.push((name.map(str::to_owned), fetch(path.to_owned()).await?));
    }
    let loading = base_spec;
    let default_name = model_name.map(str::to_owned);
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<lathe_serve::openai::ServedLlm>> {
        let loaded = lathe_llm::load(&loading)
            .with_context(|| format!("cannot load base model {loading}"))?;
        tracing::info!("loaded {} ({:?})", loaded.path.display(), loaded.format);
        let id = BaseIdentity::of(loaded.engine.model(), &loading)?;
        let mut served = Vec::new();
        for (name, files) in &adapters {
            let name = name.clone().unwrap_or_else(|| files.default_name.clone());
            let engine = files.apply(&loaded.engine, &id)?;
            tracing::info!("serving adapter {} on {loading} as '{name}'", files.origin);
            served.push(served_llm(name, engine, max_batch)?);
        }
        if served_base {
            let name = default_name.unwrap_or_else(|| loaded.name.clone());
            tracing::info!("serving {} as '{name}'", loaded.path.display());
            served.insert(0, served_llm(name, loaded.engine, max_batch)?);
        }
        let mut names: Vec<&str> = served.iter().map(|m| m.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            anyhow::bail!("two served models are named '{}'; name adapters with NAME=…", w[0]);
        }
        Ok(served)
    })
    .await
    .context("model loading stopped")?
}

/// `NAME=SPEC` → (Some(NAME), SPEC); a bare path or URI → (None, it): a
/// name holds no `/` or `:`, so an `=` inside a path or URI is not taken for one.
fn adapter_spec(arg: &str) -> (Option<&str>, &str) {
    match arg.split_once('=') {
        Some((name, spec)) if !name.is_empty() && !name.contains('/') && !name.contains(':') => {
            (Some(name), spec)
        }
        _ => (None, arg),
    }
}

/// `engine` served under `name`, its concurrent requests decoded in batches of `max_batch`.
fn served_llm(
    name: String,
    engine: lathe_llm::CandleEngine,
    max_batch: usize,
) -> anyhow::Result<lathe_serve::openai::ServedLlm> {
    let engine = lathe_llm::BatchingEngine::new(engine, max_batch)?;
    Ok(lathe_serve::openai::ServedLlm { name, engine: std::sync::Arc::new(engine) })
}
