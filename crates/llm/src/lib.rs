//! lathe's language models: Llama-family decoders loaded from Hugging Face
//! folders or GGUF files, tokenized with Hugging Face `tokenizers`, prompted
//! through the model's own Jinja chat template, and run on candle with a KV
//! cache behind the [`Engine`] trait.
//!
//! ```text
//! load(spec) ─► resolve (path | Hub id) ─► hf::load | gguf::load ─► Llama + TextTokenizer + ChatTemplate
//!                                                                      └─► CandleEngine: Engine::generate
//!                                     concurrent requests ─► BatchingEngine: one decoding batch
//! ```

pub mod batch;
pub mod chat;
pub mod config;
pub mod embed;
pub mod error;
pub mod generate;
pub mod load;
pub mod lora;
pub mod model;
pub mod sampling;
mod stop;
pub mod tokenizer;
pub mod train;

pub use batch::{BatchStats, BatchingEngine};
pub use chat::{ChatMessage, ChatTemplate};
pub use config::LlamaConfig;
pub use embed::Encoder;
pub use error::{Error, Result};
pub use generate::{CandleEngine, Engine, FinishReason, Generation, GenerationParams};
pub use load::{load, load_path, LoadedModel, ModelFormat};
pub use model::{KvCache, Llama};
pub use sampling::SamplingParams;
pub use tokenizer::TextTokenizer;
pub mod tiny;
