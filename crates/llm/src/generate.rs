//! Generation behind the [`Engine`] trait: a KV-cached decoding loop with
//! sampling, stop sequences, a token budget and a streaming callback.
//! A second engine (llama.cpp for GGUF, say) implements the same trait.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::chat::{ChatMessage, ChatTemplate};
use crate::error::{Error, Result};
use crate::model::{KvCache, Llama};
use crate::sampling::{Sampler, SamplingParams};
use crate::stop::StopMatcher;
use crate::tokenizer::TextTokenizer;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationParams {
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// How to choose each token.
    pub sampling: SamplingParams,
    /// Texts that end the generation; the text returned stops before them.
    pub stop: Vec<String>,
    /// Keep generating past end-of-sequence tokens (benchmarks only).
    pub ignore_eos: bool,
}

impl Default for GenerationParams {
    fn default() -> Self {
        GenerationParams {
            max_tokens: 256,
            sampling: SamplingParams::default(),
            stop: Vec::new(),
            ignore_eos: false,
        }
    }
}

/// Why a generation ended (OpenAI's `finish_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// An end-of-sequence token or a stop sequence.
    Stop,
    /// `max_tokens` or the context ran out.
    Length,
    /// The streaming callback asked to stop (a client went away).
    Cancelled,
}

impl FinishReason {
    /// OpenAI's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Cancelled => "cancelled",
        }
    }
}

/// A finished generation.
#[derive(Debug, Clone)]
pub struct Generation {
    /// The text, without the stop sequence or end-of-sequence token.
    pub text: String,
    /// The generated ids (an end-of-sequence token, if one ended it, included).
    pub token_ids: Vec<u32>,
    /// Tokens of the prompt.
    pub prompt_tokens: usize,
    /// Why it ended.
    pub finish_reason: FinishReason,
    /// Time of the forward pass over the prompt (which also yields the first token).
    pub prompt_time: Duration,
    /// Time of the one-token passes after it.
    pub decode_time: Duration,
}

impl Generation {
    /// Prompt tokens per second of the prompt pass.
    pub fn prompt_tokens_per_s(&self) -> f64 {
        self.prompt_tokens as f64 / self.prompt_time.as_secs_f64().max(1e-9)
    }

    /// Tokens per second of the one-token passes (the first token is the prompt pass's).
    pub fn decode_tokens_per_s(&self) -> f64 {
        self.token_ids.len().saturating_sub(1) as f64 / self.decode_time.as_secs_f64().max(1e-9)
    }
}

/// A loaded language model that turns token ids into more token ids.
pub trait Engine: Send + Sync {
    /// The tokenizer of the model.
    fn tokenizer(&self) -> &TextTokenizer;

    /// The model's chat template, if it ships one.
    fn chat_template(&self) -> Option<&ChatTemplate>;

    /// Longest sequence (prompt and generation) the model handles.
    fn context_length(&self) -> usize;

    /// Generates after `prompt`; `on_text` receives each new piece of text
    /// as soon as it is final (never a prefix of a stop sequence) and
    /// returns false to stop early.
    fn generate(
        &self,
        prompt: &[u32],
        params: &GenerationParams,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Generation>;

    /// Token ids of a conversation rendered with the chat template, ready
    /// for the assistant's answer.
    fn encode_chat(&self, messages: &[ChatMessage]) -> Result<Vec<u32>> {
        let template = self.chat_template().ok_or_else(|| {
            Error::Template("this model ships no chat template; use a plain prompt".into())
        })?;
        let text = template.render(messages, true)?;
        self.tokenizer().encode(&text, false)
    }
}

/// [`Engine`] over the candle forward pass of [`Llama`].
pub struct CandleEngine {
    model: Llama,
    // Shared so that engines over one base with different adapters folded in
    // hold one tokenizer and one template.
    tokenizer: Arc<TextTokenizer>,
    template: Option<Arc<ChatTemplate>>,
}

impl CandleEngine {
    /// An engine over loaded parts.
    pub fn new(model: Llama, tokenizer: TextTokenizer, template: Option<ChatTemplate>) -> Self {
        CandleEngine { model, tokenizer: Arc::new(tokenizer), template: template.map(Arc::new) }
    }

    /// An engine over `model` (this one's base with an adapter folded in, say)
    /// that shares this engine's tokenizer and chat template.
    pub fn with_model(&self, model: Llama) -> CandleEngine {
        CandleEngine { model, tokenizer: self.tokenizer.clone(), template: self.template.clone() }
    }

    /// The underlying model.
    pub fn model(&self) -> &Llama {
        &self.model
    }
}

impl Engine for CandleEngine {
    fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    fn chat_template(&self) -> Option<&ChatTemplate> {
        self.template.as_deref()
    }

    fn context_length(&self) -> usize {
        self.model.config().max_position_embeddings
    }

    fn generate(
        &self,
        prompt: &[u32],
        params: &GenerationParams,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Generation> {
        let mut seq = Sequence::start(self, prompt, params)?;
        if seq.running(self) {
            let logits = self.model.forward_last(prompt, &mut seq.cache)?;
            seq.prompt_time = seq.started.elapsed();
            seq.accept(self, logits.to_vec1()?, on_text)?;
        }
        while seq.running(self) {
            let logits = self.model.forward_last(&[seq.last()], &mut seq.cache)?;
            seq.accept(self, logits.to_vec1()?, on_text)?;
        }
        Ok(seq.finish(on_text))
    }
}

/// One generation in progress: its cache, sampler and stop sequences. The
/// single-sequence loop above and the batched one (`batch.rs`) both feed it
/// logits, so they choose the same tokens and emit the same text.
pub(crate) struct Sequence {
    pub(crate) cache: KvCache,
    sampler: Sampler,
    stops: StopMatcher,
    sequence: Vec<u32>,
    generated: Vec<u32>,
    max_tokens: usize,
    ignore_eos: bool,
    prompt_tokens: usize,
    finish: Option<FinishReason>,
    pub(crate) started: Instant,
    pub(crate) prompt_time: Duration,
}

impl Sequence {
    /// A generation after `prompt`, checked against the engine's context.
    pub(crate) fn start(
        engine: &CandleEngine,
        prompt: &[u32],
        params: &GenerationParams,
    ) -> Result<Sequence> {
        if prompt.is_empty() {
            return Err(Error::InvalidParameter { param: "prompt", problem: "is empty".into() });
        }
        let context = engine.context_length();
        if prompt.len() >= context {
            return Err(Error::ContextOverflow {
                tokens: prompt.len(),
                max_tokens: params.max_tokens,
                context,
            });
        }
        Ok(Sequence {
            cache: engine.model.new_cache(),
            sampler: Sampler::new(params.sampling.clone())?,
            stops: StopMatcher::new(&params.stop),
            sequence: prompt.to_vec(),
            generated: Vec::new(),
            max_tokens: params.max_tokens,
            ignore_eos: params.ignore_eos,
            prompt_tokens: prompt.len(),
            finish: None,
            started: Instant::now(),
            prompt_time: Duration::ZERO,
        })
    }

    /// Whether it wants another token.
    pub(crate) fn running(&self, engine: &CandleEngine) -> bool {
        self.finish.is_none()
            && self.generated.len() < self.max_tokens
            && self.sequence.len() < engine.context_length()
    }

    /// The token to feed next.
    pub(crate) fn last(&self) -> u32 {
        self.sequence.last().copied().unwrap_or_default()
    }

    /// Chooses the next token from `logits` and emits the text it makes final.
    pub(crate) fn accept(
        &mut self,
        engine: &CandleEngine,
        mut logits: Vec<f32>,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<()> {
        let next = self.sampler.sample(&mut logits, &self.sequence);
        self.generated.push(next);
        self.sequence.push(next);
        if !self.ignore_eos && engine.tokenizer.is_eos(next) {
            self.finish = Some(FinishReason::Stop);
            return Ok(());
        }
        let text = engine.tokenizer.decode(&self.generated[..])?;
        let step = self.stops.push(&text);
        if !step.emit.is_empty() && !on_text(&step.emit) {
            self.finish = Some(FinishReason::Cancelled);
        } else if step.stopped {
            self.finish = Some(FinishReason::Stop);
        }
        Ok(())
    }

    /// Ends it: emits held-back text (unless cancelled) and returns the result.
    pub(crate) fn finish(mut self, on_text: &mut dyn FnMut(&str) -> bool) -> Generation {
        let finish = self.finish.unwrap_or(FinishReason::Length);
        let rest = self.stops.finish();
        if !rest.is_empty() && finish != FinishReason::Cancelled {
            on_text(&rest);
        }
        Generation {
            text: self.stops.text().to_owned(),
            token_ids: self.generated,
            prompt_tokens: self.prompt_tokens,
            finish_reason: finish,
            prompt_time: self.prompt_time,
            decode_time: self.started.elapsed().saturating_sub(self.prompt_time),
        }
    }
}
