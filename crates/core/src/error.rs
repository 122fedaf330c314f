//! The one error type of `lathe-core`: parsing enum names and URIs, and
//! constructor invariants.

/// What went wrong when reading a core value from text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A name that is not one of the allowed values of an enumeration.
    #[error("invalid {what} '{got}': expected one of {expected}")]
    InvalidName {
        /// The field or enumeration being parsed.
        what: &'static str,
        /// The text that was given.
        got: String,
        /// The allowed values, comma-separated.
        expected: &'static str,
    },
    /// A model URI that is not `models:/NAME/VERSION`, `models:/NAME@ALIAS` or `runs:/ID/PATH`.
    #[error("invalid model uri '{0}': expected models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH")]
    InvalidModelUri(String),
    /// A value that breaks a constructor's invariant (e.g. a ragged matrix).
    #[error("{0}")]
    InvalidArgument(String),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
