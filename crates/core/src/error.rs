//! The one error type of `lathe-core`: parsing enum names and URIs.

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
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
