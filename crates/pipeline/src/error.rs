//! The one error type of `lathe-pipeline`: a bad `lathe.toml`, a missing
//! data file, the cache's IO, and a failing step (named).

use std::path::PathBuf;

/// What went wrong loading, planning or running a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not valid TOML, or a key is unknown or has the wrong type.
    #[error("{file}:{line}: {message}")]
    Parse {
        /// The `lathe.toml` read.
        file: PathBuf,
        /// 1-based line of the offending key or value (0 when unknown).
        line: usize,
        /// What is wrong, naming the key and the expectation.
        message: String,
    },
    /// The file parses, but the pipeline it declares cannot run: a cycle, a
    /// reference to a step or data source that does not exist, a key that
    /// does not apply to the step's kind.
    #[error("{file}:{line}: {message}")]
    Invalid {
        /// The `lathe.toml` read.
        file: PathBuf,
        /// 1-based line of the step or data source at fault.
        line: usize,
        /// What is wrong, naming the step and the key.
        message: String,
    },
    /// `lathe run STEP` named a step the file does not declare.
    #[error("no step `{step}` in {file} (steps: {available})")]
    UnknownStep {
        /// The step asked for.
        step: String,
        /// The `lathe.toml` read.
        file: PathBuf,
        /// The declared steps, comma-separated.
        available: String,
    },
    /// A declared data source whose file is gone or unreadable.
    #[error("data `{name}` ({file}:{line}): cannot read {path}: {source}")]
    Data {
        /// The data source's name.
        name: String,
        /// The `lathe.toml` that declares it.
        file: PathBuf,
        /// Its line there.
        line: usize,
        /// The resolved path.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// Reading or writing the step cache.
    #[error("step cache: {path}: {source}")]
    Cache {
        /// The file or folder involved.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// A cache manifest that cannot be read back (written by a newer lathe, or damaged).
    #[error("step cache: {path}: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// Why it was refused.
        message: String,
    },
    /// A step's executor failed: the pipeline stops there; the steps before it stay cached.
    // `cause` is shown in the message and deliberately not a `#[source]`,
    // so that error chains do not print it twice.
    #[error("step `{step}` failed: {cause}")]
    StepFailed {
        /// The step that failed.
        step: String,
        /// Why.
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    pub(crate) fn cache(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Cache { path, source }
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
