//! The one error type of the `llm` crate.

use std::path::PathBuf;

/// Everything that can go wrong while loading a model or generating text.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file the model needs is not there.
    #[error("model folder {dir} has no {file}: {hint}")]
    MissingFile {
        /// The model folder.
        dir: PathBuf,
        /// The missing file (or pattern).
        file: String,
        /// What the file is for.
        hint: &'static str,
    },
    /// A path that does not exist and is not a Hub model id either.
    #[error("no such file or folder: {path} (give a model folder, a .gguf file, or a Hugging Face model id such as HuggingFaceTB/SmolLM2-135M-Instruct)")]
    NotFound {
        /// The path.
        path: PathBuf,
    },
    /// A file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The model is of an architecture this crate does not run.
    #[error("unsupported architecture '{found}' in {path}: lathe runs {supported}")]
    UnsupportedArchitecture {
        /// The architecture the file declares.
        found: String,
        /// The file that declared it.
        path: PathBuf,
        /// The architectures that are supported.
        supported: &'static str,
    },
    /// A configuration file or GGUF metadata is missing a field or holds a bad value.
    #[error("{path}: field '{field}' {problem}")]
    Config {
        /// The file.
        path: PathBuf,
        /// The field.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A weight tensor is missing or has the wrong shape.
    #[error("{path}: tensor '{name}' {problem}")]
    Weight {
        /// The weights file.
        path: PathBuf,
        /// The tensor.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The tokenizer could not be built or could not encode/decode.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The chat template could not be parsed or rendered.
    #[error("chat template: {0}")]
    Template(String),
    /// A model id was given and the Hugging Face Hub could not provide it.
    #[error("cannot fetch '{model_id}' from the Hugging Face Hub ({cause}); this machine may be offline: download the model elsewhere and pass its folder or .gguf file as a path")]
    Hub {
        /// The model id.
        model_id: String,
        /// The cause, in the message (not chained, so it is printed once).
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Generation parameters that make no sense.
    #[error("invalid parameter '{param}': {problem}")]
    InvalidParameter {
        /// The parameter.
        param: &'static str,
        /// Why it is invalid.
        problem: String,
    },
    /// A prompt longer than the model's context.
    #[error("prompt has {tokens} tokens; with max_tokens {max_tokens} it exceeds the model's context of {context} tokens")]
    ContextOverflow {
        /// Tokens in the prompt.
        tokens: usize,
        /// Tokens asked for.
        max_tokens: usize,
        /// The model's context length.
        context: usize,
    },
    /// A line of a fine-tuning data file that cannot be used.
    #[error("{path}:{line}: {problem}")]
    Data {
        /// The data file.
        path: PathBuf,
        /// The line, counted from 1.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// A LoRA adapter trained on another base model.
    #[error(
        "adapter {adapter} was trained on base '{adapter_base}' and cannot be applied to '{base}'"
    )]
    AdapterBase {
        /// The adapter folder.
        adapter: PathBuf,
        /// The base the adapter records.
        adapter_base: String,
        /// The base it was applied to.
        base: String,
    },
    /// Batched decoding failed (the message of the underlying error).
    #[error("batched decoding failed: {0}")]
    Batch(String),
    /// The tracking run refused a parameter, metric or artifact.
    #[error("cannot record to the tracking run: {0}")]
    Recorder(String),
    /// A tensor operation failed.
    #[error("tensor operation: {0}")]
    Candle(#[from] candle_core::Error),
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    pub(crate) fn config(
        path: impl Into<PathBuf>,
        field: &str,
        problem: impl Into<String>,
    ) -> Self {
        Error::Config { path: path.into(), field: field.to_owned(), problem: problem.into() }
    }

    pub(crate) fn tokenizer(e: impl std::fmt::Display) -> Self {
        Error::Tokenizer(e.to_string())
    }
}
